"""What every store console page builds on: the store console's settings, and the
console, page renderer and redirect with a one-time message that every console
shares (possync/webui/console.py). The page modules import this, never app.py,
which mounts them: imports point from app.py to the pages to here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from possync.webui.console import FLASH_COOKIE, Console, SignInRequired, console_of, redirect

__all__ = [
    "FLASH_COOKIE",
    "Console",
    "ConsoleSettings",
    "SignInRequired",
    "console_of",
    "redirect",
]


@dataclass(frozen=True)
class ConsoleSettings:
    # A terminal not heard from for longer than this is flagged on the dashboard.
    stale_after: float = 15 * 60
    # Within this, a terminal counts as connected (it syncs every minute by default).
    connected_within: float = 3 * 60
    dashboard_refresh: int = 5  # seconds between the dashboard's own refreshes
    # Where offline backups made from the console wait to be downloaded.
    backup_dir: Path = field(default_factory=lambda: Path("possync-backups"))
    # "auto": cookies are Secure when the console is reached over HTTPS.
    secure_cookies: str = "auto"

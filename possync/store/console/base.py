"""What every store console page builds on: the store console's settings, and the
console, page renderer and redirect with a one-time message that every console
shares (possync/webui/console.py). The page modules import this, never app.py,
which mounts them: imports point from app.py to the pages to here.

How a page handler is written, here, in head office's console and on the till's
screen (possync/terminal/web) alike:

- A route handler is a plain ``def``. FastAPI runs it in its threadpool, so it may
  block: it opens its transaction inline (``with read_tx(console.engine) as conn:``)
  and calls possync.retail directly. No ``async def`` handler, no nested ``load()``,
  no ``run_in_threadpool``.
- What must be awaited is a dependency, which FastAPI resolves before it calls the
  handler: the form (``Form()`` parameters, or ``forms.FormFields`` for a page that
  reads many fields), and the sign-in guard with its CSRF check (``Admin``, which
  may have to read the form for the token). Give ``Admin`` before ``FormFields``, so
  that a request without a session or a token is refused before anything else. An
  upload is read from ``file.file``, the spooled file behind it.
- Only what is not a route handler stays ``async``: those dependencies, exception
  handlers and middleware, none of which queries the database.
"""

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

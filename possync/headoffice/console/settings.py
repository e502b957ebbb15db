"""Head office console's settings."""

from __future__ import annotations

from dataclasses import dataclass

SESSION_COOKIE = "possync_ho_console"  # not the store console's: one host may run both


@dataclass(frozen=True)
class ConsoleSettings:
    # A joined store not heard from for longer than this is flagged on the dashboard.
    stale_after: float = 15 * 60
    # Within this, a store counts as connected (store serve syncs every minute).
    connected_within: float = 3 * 60
    dashboard_refresh: int = 5  # seconds between the dashboard's own refreshes
    # "auto": cookies are Secure when the console is reached over HTTPS.
    secure_cookies: str = "auto"

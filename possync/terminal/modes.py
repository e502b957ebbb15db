"""Online and offline modes of a terminal.

Offline: sales commit locally and the agent syncs later. Online: a sale is final
when the store has stored it. "Enable Online POS" first drains what is pending and
pulls the latest, and only then switches; if that cannot complete, the terminal
stays offline and says why.
"""

from __future__ import annotations

from possync.retail.errors import RetailError
from possync.terminal import syncer
from possync.terminal.local import Terminal

# The mode as stored lives in mode_state (read by the sync loop too).
from possync.terminal.mode_state import (
    FALLBACK,
    MODE,
    OFFLINE,
    ONLINE,
    current,
    falls_back,
    offline_enabled,
)

__all__ = [  # the mode as stored, read here and by callers, and what changes it
    "FALLBACK",
    "MODE",
    "OFFLINE",
    "ONLINE",
    "current",
    "enable_online",
    "falls_back",
    "go_offline",
    "offline_enabled",
    "set_fallback",
]


def set_fallback(term: Terminal, enabled: bool) -> None:
    if enabled and not offline_enabled(term):
        raise RetailError("this terminal is not offline-enabled: it cannot fall back to offline")
    term.put_state(FALLBACK, "1" if enabled else "0")


def enable_online(
    term: Terminal,
    url: str | None = None,
    *,
    progress: syncer.Progress | None = None,
    wait_for_lock: float = 0.0,
) -> syncer.SyncReport:
    """Enable Online POS: push everything pending, pull the latest, then switch.
    Raises (and the mode stays as it was) if the sync does not complete."""
    report = syncer.sync(term, url=url, progress=progress, wait_for_lock=wait_for_lock)
    if term.child.pending():
        raise RetailError("new changes arrived while switching; try again")
    term.put_state(MODE, ONLINE)
    return report


def go_offline(term: Terminal) -> None:
    if not offline_enabled(term):
        raise RetailError(
            "this terminal is not offline-enabled on the store: it can only work online"
        )
    term.put_state(MODE, OFFLINE)

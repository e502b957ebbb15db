"""Online and offline modes of a terminal.

Offline: sales commit locally and the agent syncs later. Online: a sale is final
when the store has stored it. "Enable Online POS" first drains what is pending and
pulls the latest, and only then switches; if that cannot complete, the terminal
stays offline and says why.
"""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail.errors import RetailError
from possync.retail.schema import pos_terminal
from possync.sync.db import read_tx
from possync.terminal import syncer
from possync.terminal.local import Terminal

OFFLINE, ONLINE = "offline", "online"
MODE = "mode"
FALLBACK = "fallback_to_offline"


def offline_enabled(term: Terminal) -> bool:
    """What the store says: may this terminal work offline?"""
    with read_tx(term.engine) as conn:
        flag = conn.execute(
            sa.select(pos_terminal.c.offline_enabled).where(
                pos_terminal.c.terminal_id == term.child.node_id(conn)
            )
        ).scalar()
    return bool(flag)


def current(term: Terminal) -> str:
    mode = term.get_state(MODE)
    if mode in (OFFLINE, ONLINE):
        if mode == OFFLINE and not offline_enabled(term):
            return ONLINE  # the store has withdrawn offline use
        return mode
    return OFFLINE if offline_enabled(term) else ONLINE


def falls_back(term: Terminal) -> bool:
    return term.get_state(FALLBACK) == "1" and offline_enabled(term)


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

"""The working mode a terminal is in, as its database says (what ``modes`` changes,
and what the sync loop reports to the store). Apart from ``modes`` so that the sync
loop can read it without importing what builds on the sync loop."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail.schema import pos_terminal
from possync.sync.db import read_tx
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

"""The working mode a terminal is in, as its database says (what ``modes`` changes,
and what the sync loop reports to the store). Apart from ``modes`` so that the sync
loop can read it without importing what builds on the sync loop."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail.prepared import Prepared
from possync.retail.schema import pos_terminal
from possync.sync import state
from possync.sync.db import read_tx
from possync.sync.schema import sync_state
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


def _setting(key: str) -> sa.ScalarSelect[str]:
    return sa.select(sync_state.c.value).where(sync_state.c.key == key).scalar_subquery()


# The mode as set and offline_enabled, in one statement built once and run on the
# driver (retail/prepared.py): every sale asks. One row always (two scalar subqueries).
_MODE = Prepared(
    sa.select(
        _setting(MODE),
        sa.select(pos_terminal.c.offline_enabled)
        .where(pos_terminal.c.terminal_id == _setting(state.NODE_ID))
        .scalar_subquery(),
    )
)


def current(term: Terminal) -> str:
    """Online if so set; otherwise (offline, or never set) offline if the store
    allows it, else online (the store may have withdrawn offline use)."""
    with read_tx(term.engine) as conn:
        return current_in(conn)


def current_in(conn: sa.Connection) -> str:
    """:func:`current`, read in the caller's transaction (the cashier's pay reads it
    with the basket, instead of in a transaction of its own)."""
    mode, enabled = _MODE.first(conn)
    if mode == ONLINE:
        return ONLINE
    return OFFLINE if enabled else ONLINE


def falls_back(term: Terminal) -> bool:
    return term.get_state(FALLBACK) == "1" and offline_enabled(term)

"""A terminal's state, for ``possync pos status`` (shape documented in README.md)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail.schema import receipt, store
from possync.retail.store_locale import DEFAULT_TIME_ZONE
from possync.sync import log, peers, quarantine, state
from possync.sync.db import read_tx
from possync.terminal import modes, trust
from possync.terminal.local import LAST_SYNC_AT, Terminal
from possync.transport.client import Refused, Unreachable


def terminal_status(terminal: Terminal, *, probe_store: bool = True) -> dict[str, Any]:
    with read_tx(terminal.engine) as conn:
        node = state.get(conn, state.NODE_ID)
        parent = peers.parent(conn)
        activity = peers.activity(conn).get(parent.node_id, {}) if parent else {}
        receipts = dict(
            conn.execute(sa.select(receipt.c.kind, sa.func.count()).group_by(receipt.c.kind)).all()
        )
        head = log.head(conn)
        last_sync = state.get(conn, LAST_SYNC_AT)
        held = sum(quarantine.held_counts(conn).values())
        # The till shows times in its store's time zone, as its receipts do.
        zone = (
            conn.execute(
                sa.select(store.c.time_zone).where(store.c.store_id == parent.node_id)
            ).scalar()
            if parent
            else None
        )
    reachable: bool | None = None
    lag: int | None = None
    if probe_store and parent is not None and parent.url and node:
        try:
            with terminal.client(timeout=3.0) as client:
                lag = int(client.lag(parent.inbound_seq)["backlog"])
            reachable = True
        except Refused:
            reachable = True  # it answered, but refused (the reason is in last_error)
        except Unreachable:
            reachable = False
    provisioned = terminal.child.load_state() == "done"
    return {
        "terminal_id": node,
        "mode": modes.current(terminal) if provisioned else None,
        "falls_back_to_offline": modes.falls_back(terminal) if provisioned else False,
        "store_id": parent.node_id if parent else None,
        "store_url": parent.url if parent else None,
        "store_time_zone": zone or DEFAULT_TIME_ZONE,
        "store_reachable": reachable,
        # how the link is protected: pinned / ca-file / system-ca, or plain-http
        **trust.describe(terminal, parent.url if parent else None),
        "initial_load": terminal.child.load_state(),
        "pending_changes": terminal.child.pending(),
        "local_log_head": head,
        "pushed_through": parent.outbound_seq if parent else 0,
        "pulled_through": parent.inbound_seq if parent else 0,
        "store_changes_waiting": lag,
        "last_sync_at": last_sync,
        "last_error": activity.get("last_error"),
        "last_error_at": activity.get("last_error_at"),
        "sales": receipts.get("sale", 0),
        "returns": receipts.get("return", 0),
        "quarantined": held,
    }

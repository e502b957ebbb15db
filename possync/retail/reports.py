"""What a store database holds, summarised for people and scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from possync.retail.money import format_amount
from possync.retail.replication import SPEC
from possync.retail.schema import pos_terminal, receipt
from possync.retail.stock import on_hand
from possync.retail.store_admin import store_row
from possync.sync import conflicts, log, peers, quarantine
from possync.sync.db import read_tx
from possync.sync.parent import Parent


def terminal_activity(engine: sa.Engine) -> list[dict[str, Any]]:
    """One entry per terminal of the store: its flags and its replication state."""
    with read_tx(engine) as conn:
        store_id = store_row(conn).store_id
    parent = Parent(engine, SPEC, store_id)
    parent.publish()
    with read_tx(engine) as conn:
        state_of = replication_states(conn, parent, receipt.c.terminal_id)
        return [
            {
                "terminal_id": t.terminal_id,
                "name": t.name,
                "offline_enabled": t.offline_enabled,
                **state_of(t.terminal_id),
            }
            for t in conn.execute(sa.select(pos_terminal).order_by(pos_terminal.c.terminal_id))
        ]


def replication_states(
    conn: sa.Connection, parent: Parent, counted_by: sa.Column[Any]
) -> Callable[[str], dict[str, Any]]:
    """Each child's link and counters as its parent keeps them (a till of a store, a
    store of head office), with its sales and returns counted by ``counted_by``
    (the receipt column that names the child): the rows of both dashboards."""
    children = {p.node_id: p for p in peers.children(conn)}
    activity = peers.activity(conn)
    held = quarantine.held_counts(conn)
    receipts: dict[str, dict[str, int]] = {}
    for node_id, kind, n in conn.execute(
        sa.select(counted_by, receipt.c.kind, sa.func.count()).group_by(counted_by, receipt.c.kind)
    ):
        receipts.setdefault(node_id, {})[kind] = n

    def state_of(node_id: str) -> dict[str, Any]:
        peer = children.get(node_id)
        seen = activity.get(node_id, {})
        counts = receipts.get(node_id, {})
        return {
            "registered": bool(peer and peer.registered),
            "mode": seen.get("reported_mode"),
            "registered_at": seen.get("registered_at"),
            "last_contact_at": seen.get("last_contact_at"),
            "last_push_at": seen.get("last_push_at"),
            "last_pull_at": seen.get("last_pull_at"),
            "last_sync_at": seen.get("last_sync_at"),
            "last_error": seen.get("last_error"),
            "last_error_at": seen.get("last_error_at"),
            "suspended_until": seen.get("suspended_until"),
            "received_through": peer.inbound_seq if peer else 0,
            "acknowledged_through": peer.outbound_seq if peer else 0,
            "backlog": parent.backlog(conn, peer) if peer else 0,
            "sent_unacknowledged": parent.sent_unacknowledged(conn, peer) if peer else 0,
            "unsent": peer.unsent if peer else 0,
            "sales": counts.get("sale", 0),
            "returns": counts.get("return", 0),
            "quarantined": held.get(node_id, 0),
            "installation_id": seen.get("installation_id"),
            "refused_installation": seen.get("refused_installation"),
            "refused_installation_at": seen.get("refused_installation_at"),
        }

    return state_of


def store_status(engine: sa.Engine) -> dict[str, Any]:
    """The stable shape documented in README.md under "store status --json"."""
    terminals = terminal_activity(engine)
    with read_tx(engine) as conn:
        the_store = store_row(conn)
        high, low = _exact_sum(receipt.c.total)
        totals = conn.execute(
            sa.select(receipt.c.kind, sa.func.count(), high, low).group_by(receipt.c.kind)
        ).all()
        by_kind = {kind: (n, int(hi) * _SPLIT + int(lo)) for kind, n, hi, lo in totals}
        stock = on_hand(conn, the_store.store_id)
        head = log.head(conn)
        held = sum(quarantine.held_counts(conn).values())
        clashes = {"count": conflicts.count(conn), "recent": conflicts.recent(conn, 20)}
    sales, returns = by_kind.get("sale", (0, 0)), by_kind.get("return", (0, 0))
    return {
        "store": {
            "store_id": the_store.store_id,
            "name": the_store.name,
            "currency": the_store.currency,
            "offline_enabled": the_store.offline_enabled,
        },
        "change_log_head": head,
        "terminals": terminals,
        "receipts": {
            "sales": sales[0],
            "returns": returns[0],
            "net_total": format_amount(int(sales[1]) + int(returns[1])),
        },
        "stock": stock,
        "quarantine": {"held": held},
        "conflicts": clashes,
    }


_SPLIT = 1_000_000


def _exact_sum(column: sa.ColumnElement[int]) -> tuple[sa.ColumnElement[Any], ...]:
    """SUM in two parts that cannot overflow a 64-bit integer (SQLite's sum() raises
    on overflow), added up exactly in Python: x = (x / 10^6) * 10^6 + x % 10^6 with
    the truncating division and remainder both databases use."""
    return (
        sa.func.coalesce(sa.func.sum(column / _SPLIT), 0),
        sa.func.coalesce(sa.func.sum(column % _SPLIT), 0),
    )

"""Exactly-once at head office after bench/ho_scale.py's rounds: every receipt the
tills sold is there once, with its lines, payment and stock movements; nothing is
quarantined; each store's cursor at head office is the one the store holds as
acknowledged, and the store has nothing left to send."""

from __future__ import annotations

import argparse
from typing import Any

import sqlalchemy as sa

from possync.retail.schema import receipt, receipt_line, receipt_payment, stock_movement
from possync.sync import peers
from possync.sync.db import open_engine, read_tx
from possync.sync.schema import sync_quarantine

LINES_PER_RECEIPT = 3


def _count(conn: sa.Connection, query: sa.Select[Any]) -> int:
    return int(conn.execute(query).scalar_one())


def exactly_once(
    ho_url: str, args: argparse.Namespace, sent: int, left_to_send: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """``sent``: the receipts the tills sold (and pushed to their stores);
    ``left_to_send``: each store's ``ho_stores.left_to_send``."""
    each = args.tills * args.receipts
    expected = sent
    engine = open_engine(ho_url)
    try:
        with read_tx(engine) as conn:
            found = {
                "receipts": _count(conn, sa.select(sa.func.count()).select_from(receipt)),
                "receipt_numbers": _count(
                    conn, sa.select(sa.func.count(sa.distinct(receipt.c.receipt_no)))
                ),
                "terminal_and_numbers": _count(
                    conn,
                    sa.select(sa.func.count()).select_from(
                        sa.select(receipt.c.terminal_id, receipt.c.receipt_no).distinct().subquery()
                    ),
                ),
                "lines": _count(conn, sa.select(sa.func.count()).select_from(receipt_line)),
                "payments": _count(conn, sa.select(sa.func.count()).select_from(receipt_payment)),
                "till_movements": _count(
                    conn,
                    sa.select(sa.func.count())
                    .select_from(stock_movement)
                    .where(stock_movement.c.terminal_id.is_not(None)),
                ),
                "quarantined": _count(
                    conn, sa.select(sa.func.count()).select_from(sync_quarantine)
                ),
            }
            per_store = dict(
                conn.execute(
                    sa.select(receipt.c.store_id, sa.func.count()).group_by(receipt.c.store_id)
                ).all()
            )
            cursors = {s: peers.get(conn, s) for s in left_to_send}
    finally:
        engine.dispose()
    wrong_stores = sorted(s for s in left_to_send if per_store.get(s) != each)
    wrong_cursors = sorted(
        s
        for s, left in left_to_send.items()
        if left["pending"] != 0
        or cursors[s] is None
        or cursors[s].inbound_seq != left["acknowledged"]  # type: ignore[union-attr]
    )
    want = {
        "receipts": expected,
        "receipt_numbers": expected,
        "terminal_and_numbers": expected,
        "lines": expected * LINES_PER_RECEIPT,
        "payments": expected,
        "till_movements": expected * LINES_PER_RECEIPT,
        "quarantined": 0,
    }
    mismatches = {k: {"found": found[k], "expected": v} for k, v in want.items() if found[k] != v}
    return {
        "ok": not mismatches and not wrong_stores and not wrong_cursors,
        "receipts": found["receipts"],
        "receipts_sent": expected,
        "mismatches": mismatches,
        "stores_with_wrong_counts": wrong_stores[:10],
        "stores_with_wrong_cursor_or_left_to_send": wrong_cursors[:10],
    }

"""What a purge on the store must keep of each till's fiscal chain, and where
checking goes on from once older documents are gone (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from possync.retail.fiscal_chain.checks import check_row, save
from possync.retail.fiscal_chain.form import Row
from possync.retail.schema import receipt, z_report
from possync.sync.clock import utc_now

_KEYS = ((receipt, "receipt_id"), (z_report, "z_report_id"))  # the chained documents


def head_documents(conn: sa.Connection) -> set[str]:
    """The newest chained document (receipt or Z report) of every till: never
    purged, so that the store always holds its chain's head."""
    places = sa.union_all(
        *(
            sa.select(
                table.c[key].label("doc_id"),
                table.c.store_id,
                table.c.terminal_id,
                table.c.chain_seq,
            ).where(table.c.chain_seq.is_not(None))
            for table, key in _KEYS
        )
    ).subquery()
    ranked = sa.select(
        places.c.doc_id,
        sa.func.row_number()
        .over(
            partition_by=(places.c.store_id, places.c.terminal_id),
            order_by=places.c.chain_seq.desc(),
        )
        .label("rank"),
    ).subquery()
    return set(conn.execute(sa.select(ranked.c.doc_id).where(ranked.c.rank == 1)).scalars())


def note_purged(conn: sa.Connection, document_ids: Sequence[str]) -> None:
    """Documents (receipts or Z reports, by id) are about to be purged: the newest
    of each till's chain among them becomes its anchor, which checking starts from
    (nothing at or before it can be checked again once it is gone)."""
    if not document_ids:
        return
    newest: dict[tuple[str, str], tuple[int, str]] = {}
    for table, key in _KEYS:
        for store_id, till, seq, chain_hash in conn.execute(
            sa.select(
                table.c.store_id, table.c.terminal_id, table.c.chain_seq, table.c.chain_hash
            ).where(table.c[key].in_(document_ids), table.c.chain_seq.is_not(None))
        ):
            place = (store_id, till)
            if place not in newest or seq > newest[place][0]:
                newest[place] = (int(seq), str(chain_hash))
    for (store_id, till), (seq, chain_hash) in newest.items():
        row = check_row(conn, store_id, till)
        if row is not None and row.anchor_seq >= seq:
            continue
        values: Row = {"anchor_seq": seq, "anchor_hash": chain_hash, "checked_at": utc_now()}
        if row is None or row.head_seq < seq:
            values |= {"head_seq": seq, "head_hash": chain_hash}
        save(conn, store_id, till, values)

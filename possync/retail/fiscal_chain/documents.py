"""A till's chained documents as the store holds them: receipts (with their lines
and payments) and Z reports, read in chain order for checking."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from possync.retail.fiscal_chain.form import Row, content
from possync.retail.fiscal_chain.z_form import z_content
from possync.retail.schema import receipt, receipt_line, receipt_payment, z_report

CHUNK = 500  # documents read at a time when verifying
RECEIPT, Z_REPORT = "receipt", "z_report"


@dataclass(frozen=True)
class Chained:
    """A document as the chain sees it (``receipt_id`` and ``receipt_no``: its id
    and number, a Z report's too)."""

    seq: int
    hash: Any  # as held: a str, unless someone wrote something else there
    receipt_id: str
    receipt_no: str
    content: bytes
    table: str = RECEIPT

    @classmethod
    def of(cls, head: Row, lines: Iterable[Row], payments: Iterable[Row]) -> Chained:
        return cls(
            _place(head.get("chain_seq")),
            head.get("chain_hash"),
            str(head.get("receipt_id")),
            str(head.get("receipt_no")),
            content(head, lines, payments),
        )

    @classmethod
    def of_z(cls, row: Row) -> Chained:
        return cls(
            _place(row.get("chain_seq")),
            row.get("chain_hash"),
            str(row.get("z_report_id")),
            str(row.get("z_no")),
            z_content(row),
            Z_REPORT,
        )


def _place(seq: Any) -> int:
    # A place that is not a number (a row altered by hand) is no place: the walk
    # skips it, and the place it had shows as a gap.
    return seq if type(seq) is int else -1


def _key(doc: Chained) -> tuple[int, str]:
    return (doc.seq, doc.receipt_no)


def stored(conn: sa.Connection, store_id: str, terminal_id: str, after: int) -> Iterator[Chained]:
    """The till's chained documents held here after place ``after``, in chain
    order: its receipts and its Z reports, merged."""
    return heapq.merge(
        _receipts(conn, store_id, terminal_id, after),
        _z_reports(conn, store_id, terminal_id, after),
        key=_key,
    )


def _chunks(
    conn: sa.Connection,
    table: sa.Table,
    number: sa.Column[Any],
    store_id: str,
    terminal_id: str,
    after: int,
) -> Iterator[list[dict[str, Any]]]:
    """A till's chained rows of ``table`` after place ``after``, in chain order, a
    chunk at a time (keyset paging on the place, then the number)."""
    position: tuple[int, str] = (after, "")
    while True:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(table)
                .where(
                    table.c.store_id == store_id,
                    table.c.terminal_id == terminal_id,
                    table.c.chain_seq.is_not(None),
                    sa.or_(
                        table.c.chain_seq > position[0],
                        sa.and_(table.c.chain_seq == position[0], number > position[1]),
                    ),
                )
                .order_by(table.c.chain_seq, number)
                .limit(CHUNK)
            )
        ]
        if not rows:
            return
        yield rows
        position = (rows[-1]["chain_seq"], rows[-1][number.name])


def _receipts(
    conn: sa.Connection, store_id: str, terminal_id: str, after: int
) -> Iterator[Chained]:
    """Each chunk with its lines and payments."""
    for heads in _chunks(conn, receipt, receipt.c.receipt_no, store_id, terminal_id, after):
        ids = [h["receipt_id"] for h in heads]
        lines = _parts(conn, receipt_line, ids)
        payments = _parts(conn, receipt_payment, ids)
        for head in heads:
            rid = head["receipt_id"]
            yield Chained.of(head, lines.get(rid, []), payments.get(rid, []))


def _z_reports(
    conn: sa.Connection, store_id: str, terminal_id: str, after: int
) -> Iterator[Chained]:
    for rows in _chunks(conn, z_report, z_report.c.z_no, store_id, terminal_id, after):
        yield from (Chained.of_z(row) for row in rows)


def _parts(conn: sa.Connection, table: sa.Table, ids: list[str]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for row in conn.execute(sa.select(table).where(table.c.receipt_id.in_(ids))):
        found.setdefault(row.receipt_id, []).append(dict(row._mapping))
    return found


def merged(held: Iterator[Chained], extra: Sequence[Chained]) -> Iterator[Chained]:
    """The documents held here and those being received, each once, in chain order."""
    received = {d.receipt_id for d in extra}
    seen: set[str] = set()
    for doc in heapq.merge(held, sorted(extra, key=_key), key=_key):
        if doc.receipt_id in received:
            if doc.receipt_id in seen:
                continue
            seen.add(doc.receipt_id)
        yield doc


def held_already(conn: sa.Connection, store_id: str, terminal_id: str, doc: Chained) -> bool:
    """A document sent again (it is here, in the same place)."""
    table, key = (
        (z_report, z_report.c.z_report_id)
        if doc.table == Z_REPORT
        else (receipt, receipt.c.receipt_id)
    )
    return (
        conn.execute(
            sa.select(table.c.chain_seq).where(
                key == doc.receipt_id,
                table.c.store_id == store_id,
                table.c.terminal_id == terminal_id,
            )
        ).scalar()
        == doc.seq
    )


def chained_tills(conn: sa.Connection) -> set[tuple[str, str]]:
    """Every (store, till) with a chained document here."""
    return {
        (r[0], r[1])
        for table in (receipt, z_report)
        for r in conn.execute(
            sa.select(table.c.store_id, table.c.terminal_id)
            .where(table.c.chain_seq.is_not(None))
            .distinct()
        )
    }

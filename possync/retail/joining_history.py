"""A store joining head office: the history it still holds goes up, and its stock is
carried over as an opening balance.

A store that traded alone has purged old receipts and compacted its change log
(its tills had acknowledged it all). What its tables still hold goes up to head
office anyway: at the join, in the transaction that registers the parent, the
up-flowing rows are captured again (sync/recapture.py), visible to head office only:

1. The log is compacted as far as the tills have acknowledged it (nobody else
   reads it yet), and every entry of the tables that flow up only (receipts, their
   lines and payments, cash-up rows, till events) is removed: no till reads them,
   and they are captured again below, whole documents in an order head office can
   check (a customer before the receipts naming it, a receipt with its lines,
   payments and movements).
2. What the tills still have to pull (stock movements, customers above that point)
   stays in the log and goes up as it stands, first. A receipt whose movements are
   among them is captured again right after, so that the push that carries the
   movements reaches the receipt too (``Child`` completes a batch's documents within
   ``RELAY_WINDOW`` changes); a store whose tills are further behind is refused
   until they have synced.
3. A receipt goes up only whole: with lines, payments matching its total and the
   stock movements matching its lines. One whose movements were purged (the last
   receipt of a series is kept when older rows go) stays here, with its movements.
4. The opening balance per item is the store's on-hand less the movements that go
   up. Both then change by the same movements, so it is computed once, here, and
   written at head office by head office itself (retail/opening_stock.py): a
   movement the store wrote would flow down to its tills, which count it already.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

import orjson
import sqlalchemy as sa

from possync.retail.errors import RetailError
from possync.retail.replication import SPEC
from possync.retail.schema import (
    admin_log,
    customer,
    receipt,
    receipt_line,
    receipt_payment,
    stock_level,
    stock_movement,
)
from possync.sync import log, recapture, state
from possync.sync import purge as engine_purge
from possync.sync.child import RELAY_WINDOW
from possync.sync.clock import utc_now
from possync.sync.tables import Direction, SyncTable

CHUNK = 2000  # receipts read (and captured again) at a time
# How far the changes the tills have not pulled, and the receipts they complete, may
# reach: within it, the push that carries a movement reaches its receipt too.
MAX_AHEAD = RELAY_WINDOW * 3 // 4
CARRIED = "join_carried"  # sync_state: the report below, as JSON
OPENING = "join_opening_stock"  # sync_state: {sku: qty} until head office has it

Row = dict[str, Any]


@dataclass
class Carried:
    """What goes up at the join and what cannot."""

    receipts: int = 0  # receipts going up (whole)
    receipts_purged: int = 0  # issued here, purged before the join: not at head office
    receipts_held_back: int = 0  # held here but incomplete (movements purged)
    history_from: str | None = None  # the oldest receipt going up
    opening_items: int = 0  # items with an opening balance
    opening_units: int = 0  # their sum
    captured_again: dict[str, int] = field(default_factory=dict)  # rows per table

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sentence(self) -> str:
        """The line of the join report."""
        parts = [f"{self.receipts} receipts go up to head office"]
        if self.receipts_purged:
            before = f" before {self.history_from[:10]}" if self.history_from else ""
            parts.append(f"{self.receipts_purged} purged here{before} are not at head office")
        if self.receipts_held_back:
            parts.append(f"{self.receipts_held_back} whose stock movements were purged stay here")
        parts.append(
            f"stock is carried over as an opening balance of {self.opening_items} items"
            if self.opening_items
            else "no opening balance is needed"
        )
        return "; ".join(parts)


def carry(conn: sa.Connection, store_id: str) -> Carried:
    """Capture again what goes up, compute the opening balance and keep both (see the
    module doc). In the transaction that registers head office as the parent, before
    it does (the tills alone then decide how far the log may be compacted)."""
    recapture.lock(conn)
    floor = engine_purge.compaction_floor(conn)
    log.compact(conn, floor.seq)
    up_only = [t for t in SPEC.up_tables if t.direction == Direction.UP]
    recapture.forget(conn, up_only)
    kept = recapture.logged(conn, [_sync(stock_movement), _sync(customer)])
    moving = kept["stock_movement"]
    pending_customers = {key[0] for key in kept["customer"]}
    carried = Carried()
    writer = _Writer(conn, carried)

    # Receipts whose movements are still in the log: right after it.
    urgent_numbers = {
        (row.get("terminal_id"), row.get("doc_ref"))
        for row in moving.values()
        if row.get("terminal_id") is not None and row.get("doc_ref")
    }
    if len(urgent_numbers) > MAX_AHEAD:
        _too_far_behind(floor.held_by, len(moving))
    urgent = _documents(
        conn,
        receipt.c.receipt_no.in_(sorted({n for _, n in urgent_numbers}))
        if urgent_numbers
        else sa.false(),
    )
    urgent_whole = [d for d in urgent if d.whole]
    needed = {d.head["customer_id"] for d in urgent_whole if d.head["customer_id"]}
    early_customers = _rows(conn, customer, customer.c.customer_id.in_(sorted(needed)))
    early_customers = [c for c in early_customers if c["customer_id"] not in pending_customers]
    ahead = len(moving) + len(kept["customer"]) + len(early_customers)
    ahead += sum(d.size for d in urgent_whole)
    if urgent_whole and ahead > MAX_AHEAD:
        _too_far_behind(floor.held_by, ahead)
    writer.add("customer", early_customers)
    reaching: dict[str, int] = defaultdict(int)
    done = {d.head["receipt_id"] for d in urgent}
    for doc in urgent:
        _carry_document(writer, doc, moving, reaching)

    pending_customers |= {c["customer_id"] for c in early_customers}
    for chunk in _chunks(conn, customer, customer.c.customer_id):
        writer.add("customer", [c for c in chunk if c["customer_id"] not in pending_customers])
    for chunk in _chunks(conn, receipt, receipt.c.receipt_id):
        heads = [h for h in chunk if h["receipt_id"] not in done]
        for doc in _documents_of(conn, heads):
            _carry_document(writer, doc, moving, reaching)

    # The store's own movements (goods received, counts...) all go up.
    own = stock_movement.c.terminal_id.is_(None)
    for chunk in _chunks(conn, stock_movement, stock_movement.c.movement_id, own):
        writer.add("stock_movement", [m for m in chunk if (m["movement_id"],) not in moving])
    for sku, qty in conn.execute(
        sa.select(stock_movement.c.sku, sa.func.sum(stock_movement.c.qty))
        .where(own, stock_movement.c.store_id == store_id)
        .group_by(stock_movement.c.sku)
    ):
        reaching[sku] += int(qty)
    for table in up_only:
        if table.name in ("receipt", "receipt_line", "receipt_payment"):
            continue
        (key_name,) = table.key_columns  # each a single id
        key = table.table.c[key_name]
        for chunk in _chunks(conn, table.table, key):
            writer.add(table.name, chunk)
    writer.flush()

    carried.receipts_purged = _purged_receipts(conn)
    opening = _opening(conn, store_id, reaching)
    carried.opening_items = len(opening)
    carried.opening_units = sum(opening.values())
    state.put(conn, CARRIED, orjson.dumps(carried.as_dict()).decode())
    state.put(conn, OPENING, orjson.dumps(opening).decode())
    conn.execute(
        admin_log.insert().values(
            at=utc_now(),
            action="history sent to head office",
            detail=orjson.dumps({**carried.as_dict(), "report": carried.sentence()}).decode(),
        )
    )
    return carried


def _too_far_behind(till: str | None, changes: int) -> NoReturn:
    raise RetailError(
        f"{till or 'a till'} has not taken {changes:,} of the store's changes yet: sync "
        "the store's tills (or disable the ones that are not used), then join again"
    )


def carried(conn: sa.Connection) -> Carried | None:
    """The report of the join's carry, if it made one."""
    raw = state.get(conn, CARRIED)
    return None if raw is None else Carried(**orjson.loads(raw))


def opening_to_send(conn: sa.Connection) -> dict[str, int] | None:
    """The opening balance head office has not acknowledged yet (None: nothing)."""
    raw = state.get(conn, OPENING)
    return None if raw is None else dict(orjson.loads(raw))


def opening_sent(conn: sa.Connection) -> None:
    state.delete(conn, OPENING)


# -- receipts as documents --------------------------------------------------------------


@dataclass
class _Document:
    head: Row
    lines: list[Row]
    payments: list[Row]
    movements: list[Row]

    @property
    def whole(self) -> bool:
        """Everything head office checks a receipt against is here (relay_guard)."""
        sold: dict[str, int] = defaultdict(int)
        for line in self.lines:
            sold[line["sku"]] -= line["qty"]
        moved: dict[str, int] = defaultdict(int)
        for movement in self.movements:
            moved[movement["sku"]] += movement["qty"]
        paid = sum(p["amount"] for p in self.payments)
        return bool(self.lines) and paid == self.head["total"] and moved == sold

    @property
    def size(self) -> int:
        return 1 + len(self.lines) + len(self.payments) + len(self.movements)


def _documents(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[_Document]:
    return _documents_of(conn, _rows(conn, receipt, where))


def _documents_of(conn: sa.Connection, heads: list[Row]) -> list[_Document]:
    if not heads:
        return []
    ids = [h["receipt_id"] for h in heads]
    numbers = [h["receipt_no"] for h in heads]
    lines, payments, movements = defaultdict(list), defaultdict(list), defaultdict(list)
    for row in _rows(conn, receipt_line, receipt_line.c.receipt_id.in_(ids)):
        lines[row["receipt_id"]].append(row)
    for row in _rows(conn, receipt_payment, receipt_payment.c.receipt_id.in_(ids)):
        payments[row["receipt_id"]].append(row)
    tills = sa.and_(
        stock_movement.c.doc_ref.in_(numbers), stock_movement.c.terminal_id.is_not(None)
    )
    for row in _rows(conn, stock_movement, tills):
        movements[row["terminal_id"], row["doc_ref"]].append(row)
    return [
        _Document(
            h,
            sorted(lines[h["receipt_id"]], key=lambda r: r["line_no"]),
            sorted(payments[h["receipt_id"]], key=lambda r: r["payment_no"]),
            [
                m
                for m in movements[h["terminal_id"], h["receipt_no"]]
                if m["store_id"] == h["store_id"]
            ],
        )
        for h in heads
    ]


def _carry_document(
    writer: _Writer, doc: _Document, moving: dict[Any, Row], reaching: dict[str, int]
) -> None:
    if not doc.whole:
        writer.carried.receipts_held_back += 1
        return
    writer.add("receipt", [doc.head])
    writer.add("receipt_line", doc.lines)
    writer.add("receipt_payment", doc.payments)
    # Movements still in the log go up from there (the tills read those entries too).
    writer.add("stock_movement", [m for m in doc.movements if (m["movement_id"],) not in moving])
    for movement in doc.movements:
        reaching[movement["sku"]] += movement["qty"]
    writer.carried.receipts += 1
    created = doc.head["created_at"]
    if writer.carried.history_from is None or created < writer.carried.history_from:
        writer.carried.history_from = created


class _Writer:
    """Captures rows again in the order given, a few thousand per statement."""

    def __init__(self, conn: sa.Connection, carried: Carried) -> None:
        self.conn = conn
        self.carried = carried
        self.waiting: list[tuple[SyncTable, Row]] = []

    def add(self, table_name: str, rows: list[Row]) -> None:
        if not rows:
            return
        table = SPEC.table(table_name)
        assert table is not None
        self.waiting += [(table, row) for row in rows]
        counts = self.carried.captured_again
        counts[table_name] = counts.get(table_name, 0) + len(rows)
        if len(self.waiting) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        recapture.append(self.conn, self.waiting)
        self.waiting = []


# -- reading ------------------------------------------------------------------------------


def _sync(table: sa.Table) -> SyncTable:
    found = SPEC.table(str(table.name))
    assert found is not None
    return found


def _rows(
    conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool] | None = None
) -> list[Row]:
    stmt = sa.select(table) if where is None else sa.select(table).where(where)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def _chunks(
    conn: sa.Connection,
    table: sa.Table,
    key: sa.Column[Any],
    where: sa.ColumnElement[bool] | None = None,
) -> Iterator[list[Row]]:
    """The rows of ``table`` in key order, ``CHUNK`` at a time (keyset paging)."""
    after: Any = None
    while True:
        clauses = [c for c in (where, None if after is None else key > after) if c is not None]
        stmt = sa.select(table).where(*clauses).order_by(key).limit(CHUNK)
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        if not rows:
            return
        yield rows
        after = rows[-1][key.name]


def _purged_receipts(conn: sa.Connection) -> int:
    """Receipts issued here that are no longer held: per series, its highest number
    (the purge keeps it) less the receipts held. Numbers are gapless in a series."""
    number = receipt.c.receipt_no
    prefix = sa.func.rtrim(number, "0123456789")
    digits = sa.func.substr(number, sa.func.length(prefix) + 1)
    series = (
        sa.select(
            sa.func.max(sa.cast(digits, sa.BigInteger)).label("highest"),
            sa.func.count().label("held"),
        )
        .where(sa.func.length(prefix) < sa.func.length(number))
        .group_by(receipt.c.kind, prefix)
        .subquery()
    )
    missing = conn.execute(sa.select(sa.func.sum(series.c.highest - series.c.held))).scalar()
    return max(int(missing or 0), 0)


def _opening(conn: sa.Connection, store_id: str, reaching: dict[str, int]) -> dict[str, int]:
    """On-hand less what reaches head office as movements, per item (non-zero only)."""
    on_hand = dict(
        conn.execute(
            sa.select(stock_level.c.sku, stock_level.c.on_hand).where(
                stock_level.c.store_id == store_id
            )
        ).all()
    )
    skus = sorted(set(on_hand) | set(reaching))
    opening = {sku: int(on_hand.get(sku, 0)) - reaching.get(sku, 0) for sku in skus}
    return {sku: qty for sku, qty in opening.items() if qty}

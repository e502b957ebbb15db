"""What a purge may remove from a retail database, and removing it.

Purgeable, by age (``created_at``, ISO-8601 UTC text, which sorts in time order):

* receipts, whole: a receipt goes with its lines and payments, by the receipt's age;
* stock movements, one by one. On-hand stock is ``stock_level``, kept by a trigger on
  movement *insert*, so deleting old movements changes no stock figure;
* cash-up (retail/cashup.py): Z reports like receipts; closed drawer sessions (by
  their close) and the cash movements of closed sessions. The newest Z report of
  each till is kept everywhere: the till's next report covers what follows it;
* till events (voids, cancellations, approvals: retail/till_events.py), one by one.

Never purged: master data, customers, stock levels and document counters (numbers
must never be issued twice, so the counters stay whatever goes), and on the store
the newest document of each till's fiscal chain (its head). The newest chained
document a store's purge removes from a till's chain becomes the anchor its
checking starts from (fiscal_chain.note_purged).

A row is kept, however old, while a change naming it is still owed to a peer
(``sync.purge.OwedKeys``): nothing unsynced is ever lost. A receipt is kept whole if
any of its rows is owed (a push may have acknowledged the receipt but not yet its
lines). Deletes are not captured: they must not travel to the other nodes.

The work is done in chunks, one short write transaction each, so that sales and
syncs get the database between chunks; a dry run counts the same chunks in one
read-only transaction and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from possync.retail import fiscal_chain
from possync.retail.schema import (
    cash_movement,
    drawer_session,
    receipt,
    receipt_line,
    receipt_payment,
    stock_movement,
    till_event,
    z_report,
)
from possync.sync import purge as engine_purge
from possync.sync.db import read_tx, write_tx

CHUNK = 1000  # receipts or movements per transaction
RECEIPT_PARTS = (receipt, receipt_line, receipt_payment)  # each keyed by receipt_id first


@dataclass
class RowCounts:
    receipt: int = 0
    receipt_line: int = 0
    receipt_payment: int = 0
    stock_movement: int = 0
    z_report: int = 0
    drawer_session: int = 0
    cash_movement: int = 0
    till_event: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class RowPurge:
    """What went (or, in a dry run, would go) and the old rows kept back."""

    purged: RowCounts = field(default_factory=RowCounts)
    kept_unacknowledged: RowCounts = field(default_factory=RowCounts)  # old, still owed
    # old receipts kept as the last number of their series or their till's chain head
    kept_last_documents: int = 0


@dataclass(frozen=True)
class Rules:
    cutoff: str  # rows created before this instant are old
    # Store: keep the highest receipt of each series. Re-provisioning a terminal or
    # changing its series continues numbering after the highest number held here.
    # Keep each till's fiscal chain head too, and anchor its checking past what goes
    # (a till keeps its own head in fiscal_chain_head, whatever it purges).
    keep_last_documents: bool = False


def cutoff(days: int, now: datetime | None = None) -> str:
    """The instant ``days`` ago, in the text form of ``created_at``."""
    if days < 1:
        raise ValueError("the retention must be at least one day")
    instant = (now or datetime.now(UTC)) - timedelta(days=days)
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def last_documents(conn: sa.Connection) -> set[str]:
    """The highest-numbered receipt of every series ever used on this database.

    A number is its series' prefix followed by digits, and prefixes never end with a
    digit, so stripping the digits gives the series. "Highest" orders like the
    series continuation does: longer numbers first, then by text.
    """
    number = receipt.c.receipt_no
    series = sa.func.rtrim(number, "0123456789")
    ranked = sa.select(
        receipt.c.receipt_id,
        sa.func.row_number()
        .over(
            partition_by=(receipt.c.kind, series),
            order_by=(sa.func.length(number).desc(), number.desc()),
        )
        .label("rank"),
    ).subquery()
    return set(conn.execute(sa.select(ranked.c.receipt_id).where(ranked.c.rank == 1)).scalars())


class _Purger:
    def __init__(self, rules: Rules, dry_run: bool, chunk: int) -> None:
        self.rules = rules
        self.dry_run = dry_run
        self.chunk = chunk
        self.result = RowPurge()
        # A receipt line or payment is identified by its receipt: they go together.
        self.owed = engine_purge.OwedKeys(
            {
                **{part.name: ("receipt_id",) for part in RECEIPT_PARTS},
                stock_movement.name: ("movement_id",),
                **{table.name: (key.name,) for table, key, _ in BY_AGE},
            }
        )
        self.keep: set[str] | None = None
        self.after_receipt = ""
        self.after_movement = ""
        self.after: dict[str, str] = {}  # per cash-up table, the last key seen
        self.done: set[str] = set()  # cash-up tables with no more old rows

    def _refresh(self, conn: sa.Connection) -> None:
        # Called after the chunk's rows are chosen, never before: a row and the
        # change capturing it commit together, so any row chosen has its change
        # visible here, even when (PostgreSQL) a push commits in between.
        self.owed.refresh(conn, engine_purge.compaction_floor(conn).seq)

    def _receipt_owed(self, receipt_id: str) -> bool:
        return any(self.owed.owes(part.name, (receipt_id,)) for part in RECEIPT_PARTS)

    def receipts(self, conn: sa.Connection) -> bool:
        """One chunk of old receipts; False when there are no more."""
        if self.keep is None:
            self.keep = set()
            if self.rules.keep_last_documents:
                self.keep = last_documents(conn) | fiscal_chain.head_documents(conn)
        ids = self._old(conn, receipt, receipt.c.receipt_id, self.after_receipt)
        if not ids:
            return False
        self.after_receipt = ids[-1]
        self._refresh(conn)
        held = {i for i in ids if self._receipt_owed(i)}
        doomed = [i for i in ids if i not in held and i not in self.keep]
        self.result.kept_unacknowledged.receipt += sum(1 for i in ids if i in held)
        self.result.kept_last_documents += sum(1 for i in ids if i in self.keep and i not in held)
        if doomed:
            if self.rules.keep_last_documents and not self.dry_run:
                fiscal_chain.note_purged(conn, doomed)
            for part in RECEIPT_PARTS:
                n = self._remove(conn, part, part.c.receipt_id.in_(doomed))
                setattr(self.result.purged, part.name, getattr(self.result.purged, part.name) + n)
        return True

    def movements(self, conn: sa.Connection) -> bool:
        """One chunk of old stock movements; False when there are no more."""
        ids = self._old(conn, stock_movement, stock_movement.c.movement_id, self.after_movement)
        if not ids:
            return False
        self.after_movement = ids[-1]
        self._refresh(conn)
        doomed = [i for i in ids if not self.owed.owes(stock_movement.name, (i,))]
        self.result.kept_unacknowledged.stock_movement += len(ids) - len(doomed)
        if doomed:
            self.result.purged.stock_movement += self._remove(
                conn, stock_movement, stock_movement.c.movement_id.in_(doomed)
            )
        return True

    def rows_by_age(self, conn: sa.Connection) -> bool:
        """One chunk of each table of :data:`BY_AGE`; False when none has more."""
        more = False
        if self.keep is None:  # receipts went first: the chain heads are known
            self.keep = (
                fiscal_chain.head_documents(conn) if self.rules.keep_last_documents else set()
            )
        newest_z = last_z_reports(conn)
        for table, key, age in BY_AGE:
            if table.name in self.done:
                continue
            ids = self._old(conn, table, key, self.after.get(table.name, ""), age)
            if not ids:
                self.done.add(table.name)
                continue
            more = True
            self.after[table.name] = ids[-1]
            self._refresh(conn)
            owed = {i for i in ids if self.owed.owes(table.name, (i,))}
            kept = newest_z | self.keep if table is z_report else set()
            doomed = [i for i in ids if i not in owed and i not in kept]
            count = self.result.kept_unacknowledged
            setattr(count, table.name, getattr(count, table.name) + len(owed))
            if table is z_report:
                self.result.kept_last_documents += sum(
                    1 for i in ids if i in kept and i not in owed
                )
                if doomed and self.rules.keep_last_documents and not self.dry_run:
                    fiscal_chain.note_purged(conn, doomed)
            if doomed:
                n = self._remove(conn, table, key.in_(doomed))
                setattr(self.result.purged, table.name, getattr(self.result.purged, table.name) + n)
        return more

    def _old(
        self,
        conn: sa.Connection,
        table: sa.Table,
        key: sa.Column[str],
        after: str,
        age: str = "created_at",
    ) -> list[str]:
        # Walk the table in key order (keyset paging): one pass in all, however many
        # old rows are kept back, with no index on created_at needed. A cash
        # movement goes only once its session is closed (an open one's X report
        # counts it).
        where = [table.c[age] < self.rules.cutoff, key > after]
        if table is cash_movement:
            where.append(cash_movement.c.session_id.not_in(_open_sessions()))
        return list(
            conn.execute(sa.select(key).where(*where).order_by(key).limit(self.chunk)).scalars()
        )

    def _remove(self, conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
        if self.dry_run:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(where)
                ).scalar_one()
            )
        return engine_purge.delete_rows(conn, table, where)


# Tables purged row by row after receipts: the table, its key, and the column that
# says how old a row is (a drawer session's close: an open session has none, so it
# is never old).
BY_AGE = (
    (z_report, z_report.c.z_report_id, "created_at"),
    (drawer_session, drawer_session.c.session_id, "closed_at"),
    (cash_movement, cash_movement.c.movement_id, "created_at"),
    (till_event, till_event.c.event_id, "created_at"),
)


def _open_sessions() -> sa.Select[tuple[str]]:
    return sa.select(drawer_session.c.session_id).where(drawer_session.c.closed_at.is_(None))


def last_z_reports(conn: sa.Connection) -> set[str]:
    """The newest Z report of every till (its next report follows its place)."""
    ranked = sa.select(
        z_report.c.z_report_id,
        sa.func.row_number()
        .over(partition_by=z_report.c.terminal_id, order_by=z_report.c.created_at.desc())
        .label("rank"),
    ).subquery()
    return set(conn.execute(sa.select(ranked.c.z_report_id).where(ranked.c.rank == 1)).scalars())


def _repeat(engine: sa.Engine, dry_run: bool, step: Callable[[sa.Connection], bool]) -> None:
    """Run ``step`` until it says it is done: each call in its own write transaction,
    or, for a dry run, all in one read-only transaction (one consistent picture)."""
    if dry_run:
        with read_tx(engine) as conn:
            while step(conn):
                pass
        return
    while True:
        with write_tx(engine) as conn:
            if not step(conn):
                return


def purge_rows(
    engine: sa.Engine, rules: Rules, *, dry_run: bool = False, chunk: int = CHUNK
) -> RowPurge:
    """Delete (or count) old receipts, stock movements, cash-up rows and till events
    no peer is still owed."""
    purger = _Purger(rules, dry_run, chunk)
    _repeat(engine, dry_run, purger.receipts)
    _repeat(engine, dry_run, purger.movements)
    _repeat(engine, dry_run, purger.rows_by_age)
    return purger.result

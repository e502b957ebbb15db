"""What the engine contributes to a purge of old, already-synced data.

The application decides which rows are old; the engine says which of them a peer
may still need, and how far the change log can go:

* :func:`compaction_floor`: every reader of this node's log (its parent, its
  registered and enabled children) has acknowledged it up to there, so the log up to
  there can be forgotten (:func:`compact_log`).
* :class:`OwedKeys`: the keys of rows named by changes above the floor. Such a row
  must not be purged yet: on a terminal it has not reached the store; on a store a
  receipt whose lines are still arriving must not lose its head.
* :func:`delete_rows`: deletes with capture suppressed. A purge is local
  housekeeping: a captured delete would travel to the peers and remove their copies.
* :func:`reclaim_space`: SQLite files only shrink with VACUUM, which cannot run
  inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import log, peers
from possync.sync.db import is_sqlite, write_tx
from possync.sync.tables import SyncTable

COMPACT_STEP = 50_000  # log entries per transaction: keeps the write lock short


@dataclass(frozen=True)
class Floor:
    """How far this node's log has been acknowledged by everyone who reads it."""

    seq: int
    held_by: str | None  # the slowest reader; None when nobody reads this log


def compaction_floor(conn: sa.Connection) -> Floor:
    """The lowest acknowledgement among this node's readers: its parent (what it has
    taken of our changes) and every registered, enabled child (what it has pulled).

    A child that is not registered yet, or is being re-provisioned, is left out: it
    starts from an initial load at the log's head, whatever was compacted before. A
    disabled child is left out too: when it is enabled again behind the compacted
    point, its pull is refused and it must be provisioned again. A node with no reader
    at all may forget its whole log.
    """
    head = log.head(conn)
    readers = [p for p in (peers.parent(conn),) if p is not None]
    readers += [c for c in peers.children(conn) if c.registered and c.enabled]
    if not readers:
        return Floor(head, None)
    slowest = min(readers, key=lambda p: (p.outbound_seq, p.node_id))
    return Floor(min(slowest.outbound_seq, head), slowest.node_id)


def compactable_entries(conn: sa.Connection) -> int:
    """How many log entries a compaction would forget now (for a dry run)."""
    floor = compaction_floor(conn).seq
    return log.entries_through(conn, floor)


def compact_log(engine: sa.Engine, step: int = COMPACT_STEP) -> tuple[int, Floor]:
    """Forget every log entry all readers have acknowledged, ``step`` entries per
    transaction. Returns how many entries went and the floor reached.

    Sequence numbers are not reused afterwards: on SQLite ``sqlite_sequence`` keeps
    the highest number handed out even when the table is empty, on PostgreSQL
    ``sync_publish_head`` does.
    """
    forgotten = 0
    while True:
        with write_tx(engine) as conn:
            floor = compaction_floor(conn)
            done = log.compacted_through(conn)
            if floor.seq <= done:
                return forgotten, floor
            lowest = log.lowest_after(conn, done)
            start = done if lowest is None else max(done, lowest - 1)
            forgotten += log.compact(conn, min(floor.seq, start + step))


class OwedKeys:
    """Rows named by changes above the floor (not yet acknowledged by every reader).

    ``columns`` says, per table, which columns identify a row for the caller (its
    key by default, see :meth:`for_keys`; a receipt line may be identified by its
    receipt). :meth:`refresh` reads the changes above the floor once, then only the
    changes captured since, so a long purge can ask before every chunk without
    re-reading the unacknowledged log: membership is then a dictionary lookup. If the
    floor goes down (a parent restored from a backup asks for changes again), it
    starts afresh; if it goes up, what is now acknowledged is dropped.
    """

    def __init__(self, columns: Mapping[str, tuple[str, ...]]) -> None:
        self._columns = dict(columns)
        self._floor: int | None = None
        self._read_through = 0
        # table -> identifying values -> the highest seq that names them
        self._named: dict[str, dict[tuple[Any, ...], int]] = {t: {} for t in self._columns}
        # PostgreSQL: committed, not yet numbered by the publisher, so owed to all.
        self._unpublished: dict[str, set[tuple[Any, ...]]] = {t: set() for t in self._columns}

    @classmethod
    def for_keys(cls, tables: Iterable[SyncTable]) -> OwedKeys:
        return cls({t.name: t.key_columns for t in tables})

    def refresh(self, conn: sa.Connection, floor: int) -> None:
        if self._floor is None or floor < self._floor:
            self._read_through = floor
            for named in self._named.values():
                named.clear()
        elif floor > self._floor:
            for table, named in self._named.items():
                self._named[table] = {v: seq for v, seq in named.items() if seq > floor}
        self._floor = floor
        if not is_sqlite(conn):
            # Unpublished first: a change numbered between the two reads is then
            # seen by one of them at least, never by neither.
            for unpublished in self._unpublished.values():
                unpublished.clear()
            for _, table, values in self._read(conn, None):
                self._unpublished[table].add(values)
        for seq, table, values in self._read(conn, self._read_through):
            named = self._named[table]
            named[values] = max(seq, named.get(values, 0))
            self._read_through = max(self._read_through, seq)

    def owes(self, table: str, values: tuple[Any, ...]) -> bool:
        """Whether a change not yet acknowledged names this row."""
        return values in self._named[table] or values in self._unpublished[table]

    def named(self, table: str) -> set[tuple[Any, ...]]:
        """Every row of ``table`` still owed, as its identifying values."""
        return set(self._named[table]) | self._unpublished[table]

    def _read(
        self, conn: sa.Connection, after: int | None
    ) -> Iterator[tuple[int, str, tuple[Any, ...]]]:
        for seq, table, data in log.logged_rows(conn, list(self._columns), after):
            row = orjson.loads(data)
            yield seq, table, tuple(row[c] for c in self._columns[table])


def delete_rows(conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    """Delete rows without capturing the deletes (they must not replicate)."""
    with log.capturing_as(conn, log.SUPPRESS):
        return int(conn.execute(table.delete().where(where)).rowcount)


def reclaim_space(engine: sa.Engine, min_free: float = 0.0) -> bool:
    """Give the space of deleted rows back to the file system (SQLite): VACUUM if at
    least ``min_free`` of the file is free pages. Returns whether it vacuumed.

    SQLite reuses free pages for new rows anyway; VACUUM rewrites the whole file and
    holds the write lock meanwhile, so callers that run often ask for a threshold.
    PostgreSQL needs nothing here: autovacuum makes the space reusable, and VACUUM
    FULL, which would shrink the files, locks the tables.
    """
    if not is_sqlite(engine):
        return False
    with engine.connect() as conn:
        # The raw driver connection is in autocommit mode (db.py issues BEGIN
        # itself), so nothing opens a transaction around VACUUM, which refuses one.
        raw = conn.connection.driver_connection
        assert raw is not None
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
        free = raw.execute("PRAGMA freelist_count").fetchone()[0]
        vacuum = free > 0 and free >= min_free * pages
        if vacuum:
            raw.execute("VACUUM")
        # The purge's writes (and VACUUM's new pages) sit in the WAL; the main file
        # only shrinks when they are checkpointed, and TRUNCATE empties the WAL too.
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return vacuum


def database_bytes(engine: sa.Engine) -> int | None:
    """The size of the database on disk (SQLite: the file and its WAL)."""
    if is_sqlite(engine):
        name = engine.url.database
        if not name or name == ":memory:":
            return None
        files = (Path(name), Path(name + "-wal"))
        return sum(f.stat().st_size for f in files if f.exists())
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
        )

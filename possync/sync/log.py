"""The change log: every captured change, numbered in the order it became visible.

All SQL that touches ``sync_change`` lives here, with the dialect differences:

* SQLite has one writer at a time, so numbering changes as they are captured
  (``INTEGER PRIMARY KEY AUTOINCREMENT``) already gives commit order.
* PostgreSQL commits concurrent transactions in any order: a transaction that
  captured change 5 may commit after one that captured change 6. A reader that
  handed out 6 and moved its cursor past it would lose 5 for ever. So capture only
  gives a ``capture_id``; the public ``seq`` is assigned later by :func:`publish`,
  one publisher at a time, to changes that are already committed. A change still
  in flight is invisible to the publisher and simply gets a higher ``seq`` when it
  commits, so cursors never skip anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import state
from possync.sync.errors import OutOfSequence

_SQLITE_DDL = (
    """CREATE TABLE IF NOT EXISTS sync_change (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        table_name TEXT NOT NULL,
        op TEXT NOT NULL,
        row_data TEXT NOT NULL,
        origin TEXT,
        route_key TEXT)""",
    # One row that tells the capture triggers who is writing: NULL origin is a
    # local write; an applied batch sets the sender's id; capture=0 suppresses.
    """CREATE TABLE IF NOT EXISTS sync_context (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        capture INTEGER NOT NULL,
        origin TEXT)""",
    "INSERT OR IGNORE INTO sync_context (id, capture, origin) VALUES (1, 1, NULL)",
)

_POSTGRES_DDL = (
    """CREATE TABLE IF NOT EXISTS sync_change (
        capture_id BIGSERIAL PRIMARY KEY,
        seq BIGINT UNIQUE,
        table_name TEXT NOT NULL,
        op CHAR(1) NOT NULL,
        row_data TEXT NOT NULL,
        origin TEXT,
        route_key TEXT)""",
    "CREATE INDEX IF NOT EXISTS sync_change_unpublished ON sync_change (capture_id)"
    " WHERE seq IS NULL",
    """CREATE TABLE IF NOT EXISTS sync_publish_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq BIGINT NOT NULL)""",
    "INSERT INTO sync_publish_head (id, last_seq) VALUES (1, 0) ON CONFLICT DO NOTHING",
)

SUPPRESS = "-"  # the origin value that tells triggers not to capture at all


class Op(StrEnum):
    """What a change does to its row; one letter in the log and on the wire (a
    StrEnum: equal to its letter, so a change parsed from JSON compares as one)."""

    UPSERT = "I"  # the whole row: inserted, or replacing the stored one if it exists
    UPDATE = "U"  # the whole row, captured from an update
    DELETE = "D"  # the row's key only


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    table: str
    op: str  # an Op's letter
    row: dict[str, Any]  # or, read raw for sending, an orjson.Fragment of its JSON

    def to_wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "table": self.table, "op": self.op, "row": self.row}


class EncodedChanges(Sequence[Change]):
    """Changes read only to be sent on, already in their wire form: the database
    wraps each captured row text in its change's envelope, and the JSON array is
    joined from those texts. No Python object per change on the way (a pull of
    5,000 changes made 20,000 before: a row, a Change, an orjson.Fragment and a
    dict each, and fetched them one at a time). Read as a sequence, it decodes."""

    __slots__ = ("_count", "_decoded", "json", "last_seq")

    def __init__(self, json: str, count: int, last_seq: int | None) -> None:
        self.json = json  # the JSON array
        self.last_seq = last_seq
        self._count = count
        self._decoded: list[Change] | None = None

    def __len__(self) -> int:
        return self._count

    def __eq__(self, other: object) -> bool:  # as the list of changes it holds
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so not hashable

    def __getitem__(self, index: Any) -> Any:
        if self._decoded is None:
            self._decoded = [
                Change(c["seq"], c["table"], c["op"], c["row"]) for c in orjson.loads(self.json)
            ]
        return self._decoded[index]


@dataclass(frozen=True)
class LogFilter:
    """Which changes a reader may see."""

    tables: tuple[str, ...]
    exclude_origin: str | None = None  # never echo a change to where it came from
    route_keys: tuple[str, ...] | None = None  # None: every route


def _sqlite(conn: sa.Connection) -> bool:
    return conn.dialect.name == "sqlite"


def install(conn: sa.Connection) -> None:
    for ddl in _SQLITE_DDL if _sqlite(conn) else _POSTGRES_DDL:
        conn.exec_driver_sql(ddl)


@contextmanager
def capturing_as(conn: sa.Connection, origin: str | None) -> Iterator[None]:
    """Within the current transaction, stamp captured changes with ``origin``
    (the node a batch came from), or suppress capture with ``SUPPRESS``."""
    if _sqlite(conn):
        capture = 0 if origin == SUPPRESS else 1
        conn.execute(
            sa.text("UPDATE sync_context SET capture = :c, origin = :o WHERE id = 1"),
            {"c": capture, "o": None if origin == SUPPRESS else origin},
        )
        yield
        # Reset before commit: the row is shared by every connection, and only the
        # writer holding the lock can see its own value meanwhile.
        conn.execute(sa.text("UPDATE sync_context SET capture = 1, origin = NULL WHERE id = 1"))
    else:
        conn.execute(sa.text("SELECT set_config('possync.origin', :o, true)"), {"o": origin or ""})
        yield
        conn.execute(sa.text("SELECT set_config('possync.origin', '', true)"))


def publish(conn: sa.Connection) -> int:
    """Give committed, unnumbered changes their ``seq`` (PostgreSQL only).

    Must run in its own transaction and be committed before readers rely on it.
    The row lock on ``sync_publish_head`` makes publishers take turns, and each
    statement after the lock sees everything earlier publishers committed.
    """
    if _sqlite(conn):
        return 0
    # Nothing to number (a pull while no change came in): no lock taken, so no
    # publisher waits and the commit has nothing to flush. A change committed just
    # after this look is numbered by the next publisher, as one committed just after
    # the numbering below would be.
    base = conn.execute(
        sa.text(
            "SELECT last_seq FROM sync_publish_head WHERE id = 1"
            " AND EXISTS (SELECT 1 FROM sync_change WHERE seq IS NULL) FOR UPDATE"
        )
    ).scalar()
    if base is None:
        return 0
    # The changes and the head numbered in one statement (one round trip), after the
    # lock above: its snapshot holds everything committed by earlier publishers.
    return int(
        conn.execute(
            sa.text(
                """WITH pending AS (
                       SELECT capture_id, row_number() OVER (ORDER BY capture_id) AS rn
                       FROM sync_change WHERE seq IS NULL),
                   numbered AS (
                       UPDATE sync_change c SET seq = :base + pending.rn
                       FROM pending WHERE c.capture_id = pending.capture_id
                       RETURNING 1)
                   UPDATE sync_publish_head SET last_seq = :base + (SELECT count(*) FROM numbered)
                   WHERE id = 1 RETURNING last_seq - :base"""
            ),
            {"base": base},
        ).scalar_one()
    )


def unpublished_count(conn: sa.Connection) -> int:
    if _sqlite(conn):
        return 0
    return conn.execute(sa.text("SELECT count(*) FROM sync_change WHERE seq IS NULL")).scalar_one()


def head(conn: sa.Connection) -> int:
    """The highest sequence number handed out so far (0 for an empty log)."""
    if _sqlite(conn):
        value = conn.execute(
            sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'sync_change'")
        ).scalar()
    else:
        value = conn.execute(
            sa.text("SELECT last_seq FROM sync_publish_head WHERE id = 1")
        ).scalar()
    return int(value or 0)


def bounds(conn: sa.Connection, *, reading: bool = False) -> tuple[int, int]:
    """``head`` and ``compacted_through`` read in one statement (a round trip each
    on PostgreSQL, where a pull asks for both). ``reading``: a read of the log in
    ``seq`` order follows in this transaction (see ``_IN_SEQ_ORDER``)."""
    if _sqlite(conn):
        head_sql = "SELECT seq FROM sqlite_sequence WHERE name = 'sync_change'"
        extra = ""
    else:
        head_sql = "SELECT last_seq FROM sync_publish_head WHERE id = 1"
        extra = _IN_SEQ_ORDER if reading else ""
    found = conn.execute(
        sa.text(f"SELECT ({head_sql}), (SELECT value FROM sync_state WHERE key = :key){extra}"),
        {"key": COMPACTED_THROUGH},
    ).one()
    return int(found[0] or 0), int(found[1] or 0)


# PostgreSQL plans a window read ("the first N entries after X that pass the
# filter, in seq order") from its statistics of sync_change, which lag behind a log
# that grows by thousands of rows a minute: on a log of 26,000 rows it estimated 1
# row in range, took a bitmap scan of everything after X and a sort, and read the
# whole rest of the log for every batch (30 ms, against 9 ms for the index scan in
# seq order that stops at the N-th entry; 50 tills catching up read it 7 times
# each). Without bitmap and sequential scans for the rest of the transaction, the
# seq index is the only way left. Set in the statement before the read: no round
# trip of its own.
_IN_SEQ_ORDER = (
    ", set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)"
)


def window(
    conn: sa.Connection, filt: LogFilter, reader: str, after: int, limit: int, *, raw: bool
) -> tuple[Sequence[Change], int, bool]:
    """What node ``reader`` pulls after ``after``: at most ``limit`` changes, where
    the batch ends (the log head when it holds them all) and whether more follow.
    Refused when ``after`` is outside the log (purged below it, or beyond its head)."""
    head, purged = bounds(conn, reading=True)
    if after < purged:
        raise OutOfSequence(
            f"{reader} asks for changes after {after}, but changes up to {purged} have "
            f"been purged from this server's log: {reader} must be provisioned again",
            expected_after=purged,
        )
    if after > head:
        raise OutOfSequence(
            f"{reader} asks for changes after {after}, but this server's log ends at "
            f"{head}: the server database was restored from an older copy; {reader} "
            "must be provisioned again",
            expected_after=head,
        )
    changes: Sequence[Change]
    if raw:  # to be sent on as it is
        changes = encoded = read_encoded(conn, filt, after=after, through=head, limit=limit)
        last = encoded.last_seq
    else:
        changes = read(conn, filt, after=after, through=head, limit=limit)
        last = changes[-1].seq if changes else None
    through = last if len(changes) == limit and last is not None else head
    return changes, through, through < head


def _where(filt: LogFilter) -> tuple[str, dict[str, Any], list[sa.BindParameter[Any]]]:
    clauses = ["seq > :after", "seq <= :through", "table_name IN :tables"]
    params: dict[str, Any] = {"tables": list(filt.tables)}
    binds = [sa.bindparam("tables", expanding=True)]
    if filt.exclude_origin is not None:
        clauses.append("(origin IS NULL OR origin <> :exclude_origin)")
        params["exclude_origin"] = filt.exclude_origin
    if filt.route_keys is not None:
        clauses.append("(route_key IS NULL OR route_key IN :route_keys)")
        params["route_keys"] = list(filt.route_keys) or [""]
        binds.append(sa.bindparam("route_keys", expanding=True))
    return " AND ".join(clauses), params, binds


def read(
    conn: sa.Connection,
    filt: LogFilter,
    *,
    after: int,
    through: int,
    limit: int,
    raw: bool = False,
) -> list[Change]:
    """Changes with ``after < seq <= through`` that pass the filter, oldest first.

    ``raw`` leaves each row as the JSON text the trigger captured (an
    ``orjson.Fragment``), for a sender that only passes rows on: the receiver
    validates them anyway, so parsing and re-serialising here would be wasted work.
    """
    if not filt.tables:
        return []
    where, params, binds = _where(filt)
    stmt = sa.text(
        f"SELECT seq, table_name, op, row_data FROM sync_change WHERE {where}"
        " ORDER BY seq LIMIT :limit"
    ).bindparams(*binds)
    rows = conn.execute(stmt, {**params, "after": after, "through": through, "limit": limit})
    wrap = orjson.Fragment if raw else orjson.loads
    return [Change(seq, table, op, wrap(data)) for seq, table, op, data in rows]


# Each entry's wire form (Change.to_wire), made by the database from the captured
# text: the table names and op letters are quoted as JSON strings, the row text is
# JSON already (the triggers wrote it).
_WIRE_FORM = {
    "sqlite": """'{"seq":' || seq || ',"table":' || json_quote(table_name) || ',"op":' ||
        json_quote(op) || ',"row":' || row_data || '}'""",
    "postgresql": """'{"seq":' || seq || ',"table":' || to_json(table_name) || ',"op":' ||
        to_json(op) || ',"row":' || row_data || '}'""",
}


def read_encoded(
    conn: sa.Connection, filt: LogFilter, *, after: int, through: int, limit: int
) -> EncodedChanges:
    """What ``read(..., raw=True)`` reads, in its wire form (see EncodedChanges)."""
    if not filt.tables:
        return EncodedChanges("[]", 0, None)
    stmt, params = encoded_statement(conn, filt)
    params = {**params, "after": after, "through": through, "limit": limit}
    if _sqlite(conn):
        rows = conn.execute(stmt, params).all()
        wires = ",".join([wire for _, wire in rows])
        return EncodedChanges(f"[{wires}]", len(rows), rows[-1][0] if rows else None)
    count, last, json = conn.execute(stmt, params).one()
    return EncodedChanges(json, count, last)


def encoded_statement(conn: sa.Connection, filt: LogFilter) -> tuple[sa.TextClause, dict[str, Any]]:
    """The statement of ``read_encoded`` and its filter's parameters (``after``,
    ``through`` and ``limit`` to add)."""
    where, params, binds = _where(filt)
    window = (
        f"SELECT seq, {_WIRE_FORM[conn.dialect.name]} AS wire FROM sync_change WHERE {where}"
        " ORDER BY seq LIMIT :limit"
    )
    if _sqlite(conn):
        # SQLite does not promise the order of group_concat: joined by the caller.
        return sa.text(window).bindparams(*binds), params
    # One row back, however many changes (fetching them was most of a pull's time).
    sql = (
        "SELECT count(*), max(seq), '[' || coalesce(string_agg(wire, ',' ORDER BY seq), '')"
        f" || ']' FROM ({window}) AS w"
    )
    return sa.text(sql).bindparams(*binds), params


def count(conn: sa.Connection, filt: LogFilter, *, after: int, through: int) -> int:
    if not filt.tables:
        return 0
    where, params, binds = _where(filt)
    stmt = sa.text(f"SELECT count(*) FROM sync_change WHERE {where}").bindparams(*binds)
    return int(conn.execute(stmt, {**params, "after": after, "through": through}).scalar_one())


COMPACTED_THROUGH = "log_compacted_through"


def compact(conn: sa.Connection, through: int) -> int:
    """Forget changes up to ``through`` (every reader has acknowledged them), and
    remember it: a reader still behind that point cannot be served any more."""
    through = min(through, head(conn))
    if through <= compacted_through(conn):
        return 0
    state.put(conn, COMPACTED_THROUGH, str(through))
    return conn.execute(
        sa.text("DELETE FROM sync_change WHERE seq <= :through"), {"through": through}
    ).rowcount


def compacted_through(conn: sa.Connection) -> int:
    return int(state.get(conn, COMPACTED_THROUGH) or 0)


def entries_through(conn: sa.Connection, seq: int) -> int:
    """How many entries the log holds up to ``seq`` (what a compaction there forgets)."""
    stmt = sa.text("SELECT count(*) FROM sync_change WHERE seq <= :seq")
    return int(conn.execute(stmt, {"seq": seq}).scalar_one())


def lowest_after(conn: sa.Connection, seq: int) -> int | None:
    found = conn.execute(sa.text("SELECT min(seq) FROM sync_change WHERE seq > :seq"), {"seq": seq})
    lowest = found.scalar()
    return None if lowest is None else int(lowest)


def logged_rows(
    conn: sa.Connection, tables: list[str], after: int | None
) -> Iterator[tuple[int, str, str]]:
    """(seq, table, row JSON) of the entries of ``tables`` numbered after ``after``;
    with ``after`` None, those not numbered yet (PostgreSQL, before the publisher),
    as seq 0."""
    where = "seq IS NULL" if after is None else "seq > :after"
    stmt = sa.text(
        f"SELECT seq, table_name, row_data FROM sync_change WHERE {where} AND table_name IN :tables"
    ).bindparams(sa.bindparam("tables", expanding=True))
    for seq, table, data in conn.execute(stmt, {"after": after or 0, "tables": tables}):
        yield int(seq or 0), str(table), data


def append_rows(
    conn: sa.Connection, entries: list[tuple[str, str]], *, route_key: str | None
) -> None:
    """Log ``entries`` ((table, row JSON), whole rows as the triggers write them) as
    upserts, in the order given, in one statement (the entries as one JSON
    parameter), routed to ``route_key``, with no origin (this node's own)."""
    insert = "INSERT INTO sync_change (table_name, op, row_data, origin, route_key) "
    if _sqlite(conn):
        sql = (
            insert + "SELECT json_extract(value, '$[0]'), :op, json_extract(value, '$[1]'), "
            "NULL, :route FROM json_each(:entries) ORDER BY key"
        )
    else:
        sql = (
            insert + "SELECT e ->> 0, :op, e ->> 1, NULL, :route FROM "
            "json_array_elements(CAST(:entries AS json)) WITH ORDINALITY AS t(e, n) ORDER BY n"
        )
    params = {"entries": orjson.dumps(entries).decode(), "op": Op.UPSERT.value}
    conn.execute(sa.text(sql), {**params, "route": route_key})


def forget_tables(conn: sa.Connection, tables: list[str]) -> int:
    """Remove every entry of ``tables`` from the log; how many."""
    if not tables:
        return 0
    stmt = sa.text("DELETE FROM sync_change WHERE table_name IN :names").bindparams(
        sa.bindparam("names", expanding=True)
    )
    return int(conn.execute(stmt, {"names": tables}).rowcount)


def lock_capture(conn: sa.Connection) -> None:
    """Hold every other writer's capture until the caller's transaction ends
    (PostgreSQL; SQLite has one writer at a time already)."""
    if not _sqlite(conn):
        conn.exec_driver_sql("LOCK TABLE sync_change IN EXCLUSIVE MODE")


def complete_rows(conn: sa.Connection, table: str, added: dict[str, Any]) -> int:
    """Give the logged rows of ``table`` (inserts and updates) the columns a schema
    upgrade ``added``, with their values, so that the log holds rows of the table's
    current shape only. Runs inside the upgrade's transaction."""
    if not added:
        return 0
    params: dict[str, Any] = {"table": table}
    if _sqlite(conn):
        paths = []
        for i, (column, value) in enumerate(added.items()):
            paths.append(f"'$.{column}', json(:v{i})")
            params[f"v{i}"] = orjson.dumps(value).decode()
        sql = (
            f"UPDATE sync_change SET row_data = json_set(row_data, {', '.join(paths)}) "
            "WHERE table_name = :table AND op <> 'D'"
        )
    else:
        params["added"] = orjson.dumps(added).decode()
        sql = (
            "UPDATE sync_change SET row_data = (row_data::jsonb || CAST(:added AS jsonb))::text "
            "WHERE table_name = :table AND op <> 'D'"
        )
    return conn.execute(sa.text(sql), params).rowcount

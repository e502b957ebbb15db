"""Applying changes to a database, idempotently.

Inserts and updates become upserts keyed on the primary key (immutable rows are
inserted or ignored), deletes delete by key; so applying a change twice leaves the
same state as applying it once.

A batch is applied as a few statements, not one per change (see :func:`plan`), and
the rows of each upsert travel as one JSON parameter that the database unpacks
itself (``json_each`` on SQLite, ``json_populate_recordset`` on PostgreSQL): one
round trip and no per-row driver work, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import hlc, log
from possync.sync.log import Change, Op
from possync.sync.tables import SyncSpec, SyncTable

Step = tuple[str, Op, list[dict[str, Any]]]  # (table, UPSERT or DELETE, rows)


class Applier:
    def __init__(self, spec: SyncSpec) -> None:
        self.spec = spec
        self._statements: dict[tuple[str, str, str], sa.TextClause] = {}

    def apply(
        self,
        conn: sa.Connection,
        changes: Iterable[Change],
        origin: str | None,
        conflicts: list[tuple[str, tuple[Any, ...], hlc.Conflict]] | None = None,
    ) -> int:
        """Apply changes inside the caller's transaction, with the outcome of
        applying them one by one in order.

        ``origin`` stamps what the capture triggers record (the node the changes
        came from, so they are never sent back there), or ``log.SUPPRESS``. Rows of
        tables with merged columns are merged with the stored ones (hlc.py); the
        concurrent edits found are added to ``conflicts``.
        """
        applied = 0
        with log.capturing_as(conn, origin):
            for table, op, rows in plan(self.spec, changes):
                spec = self.spec.table(table)
                if op != Op.DELETE and spec is not None and spec.merged:
                    rows = self._merge(conn, spec, rows, conflicts)
                self._run(conn, table, op, rows)
                applied += len(rows)
        return applied

    def _merge(
        self,
        conn: sa.Connection,
        table: SyncTable,
        rows: list[dict[str, Any]],
        conflicts: list[tuple[str, tuple[Any, ...], hlc.Conflict]] | None,
    ) -> list[dict[str, Any]]:
        """Fold each key's incoming versions into its stored row, column by column."""
        assert table.clock_column is not None
        keys = table.key_columns
        t = table.table
        wanted = [tuple(r[k] for k in keys) for r in rows]
        stored: dict[tuple[Any, ...], dict[str, Any]] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            where = (
                t.c[keys[0]].in_([k[0] for k in chunk])
                if len(keys) == 1
                else sa.tuple_(*(t.c[k] for k in keys)).in_(chunk)
            )
            for found in conn.execute(sa.select(t).where(where)).mappings():
                row = {str(k): v for k, v in found.items()}
                stored[tuple(row[k] for k in keys)] = row
        seen = []
        for row in rows:
            key = tuple(row[k] for k in keys)
            merged, found = hlc.merge(stored.get(key), row, table.merged, table.clock_column)
            stored[key] = merged
            seen += [line[0] for line in hlc.clocks_of(row, table.clock_column).values()]
            if conflicts is not None:
                conflicts += [(table.name, key, c) for c in found]
        hlc.observe(conn, seen)
        return [stored[key] for key in dict.fromkeys(wanted)]

    def upsert_rows(
        self, conn: sa.Connection, table: str, rows: list[dict[str, Any]], origin: str | None
    ) -> None:
        if rows:
            with log.capturing_as(conn, origin):
                self._run(conn, table, Op.UPSERT, rows)

    def _run(self, conn: sa.Connection, table: str, op: Op, rows: list[dict[str, Any]]) -> None:
        if op == Op.DELETE:
            conn.execute(self._statement(conn, table, op), rows)
        else:
            conn.execute(self._statement(conn, table, op), {"rows": orjson.dumps(rows).decode()})

    def _statement(self, conn: sa.Connection, table: str, op: Op) -> sa.TextClause:
        dialect = conn.dialect.name
        key = (dialect, table, op)
        stmt = self._statements.get(key)
        if stmt is None:
            spec = self.spec.table(table)
            if spec is None:
                raise KeyError(table)
            stmt = _delete(spec) if op == Op.DELETE else _upsert(spec, dialect)
            self._statements[key] = stmt
        return stmt


def plan(spec: SyncSpec, changes: Iterable[Change]) -> list[Step]:
    """Group a batch into as few statements as keep its outcome.

    Replicated tables have no foreign keys between them, so rows of different tables
    are independent and each table's changes can be applied together. Within a table
    the order of runs of upserts and runs of deletes is kept (a key deleted then
    inserted again stays inserted), and within a run only the last version of each
    key is written: rows are whole, so the last one is the outcome (and PostgreSQL
    refuses to upsert one key twice in one statement).
    """
    by_table: dict[str, list[Change]] = {}
    for change in changes:
        by_table.setdefault(change.table, []).append(change)
    steps: list[Step] = []
    for name, table_changes in by_table.items():
        table = spec.table(name)
        if table is None:
            raise KeyError(name)
        if table.immutable:  # inserts only; a repeated row is ignored by DO NOTHING
            steps.append((name, Op.UPSERT, [c.row for c in table_changes]))
            continue
        if table.merged and all(c.op != Op.DELETE for c in table_changes):
            # Every version counts: they are merged one after another (hlc.py).
            steps.append((name, Op.UPSERT, [c.row for c in table_changes]))
            continue
        keys = table.key_columns
        for is_delete, run in groupby(table_changes, key=lambda c: c.op == Op.DELETE):
            latest: dict[tuple[Any, ...], dict[str, Any]] = {}
            for change in run:
                latest[tuple(change.row[k] for k in keys)] = change.row
            steps.append((name, Op.DELETE if is_delete else Op.UPSERT, list(latest.values())))
    return steps


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _delete(t: SyncTable) -> sa.TextClause:
    where = " AND ".join(f"{_q(k)} = :{k}" for k in t.key_columns)
    return sa.text(f"DELETE FROM {_q(t.name)} WHERE {where}")


def _upsert(t: SyncTable, dialect: str) -> sa.TextClause:
    columns = t.column_names
    keys = t.key_columns
    others = [c for c in columns if c not in keys]
    column_list = ", ".join(_q(c) for c in columns)
    if dialect == "sqlite":
        values = ", ".join(f"json_extract(value, '$.\"{c}\"')" for c in columns)
        # "WHERE true" tells SQLite's parser the ON CONFLICT belongs to the INSERT.
        source = f"SELECT {values} FROM json_each(:rows) WHERE true"
    else:
        source = (
            f"SELECT {column_list} FROM json_populate_recordset(NULL::{_q(t.name)}, "
            "CAST(:rows AS json))"
        )
    conflict = f"ON CONFLICT ({', '.join(_q(k) for k in keys)})"
    if t.immutable or not others:
        action = "DO NOTHING"
    else:
        action = "DO UPDATE SET " + ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in others)
    return sa.text(f"INSERT INTO {_q(t.name)} ({column_list}) {source} {conflict} {action}")

"""Applying changes to a database, idempotently.

Inserts and updates become upserts keyed on the primary key (immutable rows are
inserted or ignored), deletes delete by key; so applying a change twice leaves the
same state as applying it once. Consecutive changes to one table with the same
operation go to the database as one executemany.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from possync.sync import log
from possync.sync.log import Change
from possync.sync.tables import SyncSpec, SyncTable


class Applier:
    def __init__(self, spec: SyncSpec) -> None:
        self.spec = spec
        self._statements: dict[tuple[str, str, str], sa.Executable] = {}

    def apply(self, conn: sa.Connection, changes: Iterable[Change], origin: str | None) -> int:
        """Apply changes in order inside the caller's transaction.

        ``origin`` stamps what the capture triggers record (the node the changes
        came from, so they are never sent back there), or ``log.SUPPRESS``.
        """
        applied = 0
        with log.capturing_as(conn, origin):
            for (table, op), group in groupby(changes, key=lambda c: (c.table, c.op)):
                rows = [c.row for c in group]
                conn.execute(self._statement(conn, table, op), rows)
                applied += len(rows)
        return applied

    def upsert_rows(
        self, conn: sa.Connection, table: str, rows: list[dict[str, Any]], origin: str | None
    ) -> None:
        if rows:
            with log.capturing_as(conn, origin):
                conn.execute(self._statement(conn, table, "I"), rows)

    def _statement(self, conn: sa.Connection, table: str, op: str) -> sa.Executable:
        dialect = conn.dialect.name
        key = (dialect, table, "D" if op == "D" else "I")
        stmt = self._statements.get(key)
        if stmt is None:
            spec = self.spec.table(table)
            if spec is None:
                raise KeyError(table)
            stmt = _delete(spec) if op == "D" else _upsert(spec, dialect)
            self._statements[key] = stmt
        return stmt


def _delete(t: SyncTable) -> sa.Executable:
    table = t.table
    return table.delete().where(*(table.c[k] == sa.bindparam(k) for k in t.key_columns))


def _upsert(t: SyncTable, dialect: str) -> sa.Executable:
    insert = sqlite.insert(t.table) if dialect == "sqlite" else postgresql.insert(t.table)
    keys = t.key_columns
    others = [c for c in t.column_names if c not in keys]
    if t.immutable or not others:
        return insert.on_conflict_do_nothing(index_elements=list(keys))
    return insert.on_conflict_do_update(
        index_elements=list(keys), set_={c: insert.excluded[c] for c in others}
    )

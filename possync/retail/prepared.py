"""Statements a till runs at every sale, compiled once and run on the driver.

SQLAlchemy spends some 30 µs around each statement it runs, even one built once
and compiled from its cache (parameters, events, a result object): ten times what
SQLite takes for a primary-key read or a one-row insert, and more than the whole
of a sale's SQL once a sale runs ten statements. A :class:`Prepared` statement is
written as Core (the schema's tables stay the one source of names), compiled once
for SQLite, and run on the DB-API connection of the caller's transaction: the
same SQL, the same transaction, the same triggers. On any other dialect it runs
through SQLAlchemy as usual.

Values go to the driver as given: no type's bind or result processing. That suits
the columns these statements touch (text and integers; a Boolean reads back as 0
or 1, which is only ever tested for truth).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

_SQLITE = sqlite.dialect(paramstyle="qmark")


class Prepared:
    def __init__(
        self,
        statement: sa.Insert | sa.Update | sa.Delete | sa.Select[Any],
        column_keys: Sequence[str] | None = None,
    ) -> None:
        """``column_keys``: an insert's columns (default: all of its table's)."""
        self.statement = statement
        keys = None if column_keys is None else list(column_keys)
        compiled = statement.compile(dialect=_SQLITE, column_keys=keys)
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Values written into the statement itself (a LIMIT 1, a literal compared)
        fixed = compiled.binds.items()
        self.fixed = {name: bind.effective_value for name, bind in fixed if not bind.required}

    def _values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        fixed = self.fixed
        return tuple(params[name] if name in params else fixed[name] for name in self.names)

    def rows(self, conn: sa.Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The rows it reads, as tuples (or SQLAlchemy rows, which are tuples too)."""
        if conn.dialect.name != "sqlite":
            return list(conn.execute(self.statement, dict(params or {})).all())
        return _driver(conn).execute(self.sql, self._values(params or {})).fetchall()

    def first(self, conn: sa.Connection, params: Mapping[str, Any] | None = None) -> Any:
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, dict(params or {})).first()
        return _driver(conn).execute(self.sql, self._values(params or {})).fetchone()

    def run(self, conn: sa.Connection, params: Mapping[str, Any] | None = None) -> None:
        """Write once (an insert, update or delete)."""
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, dict(params or {}))
        else:
            _driver(conn).execute(self.sql, self._values(params or {}))

    def run_many(self, conn: sa.Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write once per row (``executemany``)."""
        batch = list(rows)
        if not batch:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, [dict(r) for r in batch])
        else:
            _driver(conn).executemany(self.sql, [self._values(r) for r in batch])


def _driver(conn: sa.Connection) -> Any:
    """The sqlite3 connection under ``conn``, in ``conn``'s transaction (begun here
    if none is, as SQLAlchemy's own first statement would: the driver alone would
    commit each statement on its own)."""
    if not conn.in_transaction():
        conn.begin()
    return conn.connection.driver_connection


def insert(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows``, which all have the same keys (the columns they set)."""
    if rows:
        _insert_of(table, tuple(rows[0])).run_many(conn, rows)


@functools.cache
def _insert_of(table: sa.Table, keys: tuple[str, ...]) -> Prepared:
    return Prepared(table.insert(), keys)

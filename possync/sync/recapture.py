"""Capturing again rows whose change-log entries were compacted away, so that they
go up to a parent that never had them (SymmetricDS calls it a reload).

A node that traded alone for a while has compacted its log: its children had
acknowledged everything. When it then gets a parent, the rows its tables still
hold but its log forgot would never go up. :func:`append` writes fresh entries for
them, marked :data:`UP_ONLY`: a parent reads them (its filter takes every route),
a child never does (its filter takes its own route keys and NULL), so a stock
movement the children already counted, or hold in their baseline, never reaches
them twice.

The caller decides which rows (retail knows what a document is); :func:`logged`
says which rows the log still holds, so that the caller captures only the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import log
from possync.sync.tables import SyncTable

# The route key of a re-captured entry: never a node's id (ids are letters, digits,
# '-' and '_'), so no child's pull ever matches it; a parent's reads take every route.
UP_ONLY = "(up only)"

Key = tuple[Any, ...]


def logged(
    conn: sa.Connection, tables: Iterable[SyncTable]
) -> dict[str, dict[Key, dict[str, Any]]]:
    """The rows the log still holds entries of, per table and key, with the row of
    the latest entry (a delete's holds the key only). On PostgreSQL the entries not
    numbered yet count too: they are in the log, and go up."""
    by_name = {t.name: t for t in tables}
    found: dict[str, dict[Key, tuple[int, dict[str, Any]]]] = {name: {} for name in by_name}
    sources = [0] if conn.dialect.name == "sqlite" else [0, None]
    unnumbered = log.head(conn) + 1  # after every numbered entry
    for after in sources:
        for seq, name, data in log.logged_rows(conn, list(by_name), after):
            row = orjson.loads(data)
            key = tuple(row.get(k) for k in by_name[name].key_columns)
            order = seq or unnumbered
            held = found[name].get(key)
            if held is None or held[0] <= order:
                found[name][key] = (order, row)
    return {name: {k: row for k, (_, row) in rows.items()} for name, rows in found.items()}


def append(conn: sa.Connection, entries: list[tuple[SyncTable, dict[str, Any]]]) -> int:
    """Capture these rows again (whole rows, as the triggers would), in this order,
    visible to the parent only. One statement, the entries as one JSON parameter.
    Within the caller's transaction."""
    if not entries:
        return 0
    columns: dict[str, list[str]] = {}
    payload = []
    for table, row in entries:
        names = columns.get(table.name)
        if names is None:
            names = columns[table.name] = [str(c) for c in table.column_names]
        payload.append((table.name, orjson.dumps({c: row[c] for c in names}).decode()))
    log.append_rows(conn, payload, route_key=UP_ONLY)
    return len(entries)


def forget(conn: sa.Connection, tables: Iterable[SyncTable]) -> int:
    """Remove every entry of ``tables`` from the log, before capturing their rows
    again in another order. Only for tables no child reads (they flow up only):
    what a child has not pulled yet must stay where it is."""
    return log.forget_tables(conn, [t.name for t in tables])


def lock(conn: sa.Connection) -> None:
    """Hold every other writer's capture until the caller's transaction ends
    (PostgreSQL: a change committed meanwhile would miss what is read here; SQLite
    has one writer at a time already)."""
    log.lock_capture(conn)

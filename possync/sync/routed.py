"""Reading the rows of a table that a child may receive: those of its routes, and
those routed to nobody in particular (``NULL``). Used by the initial load."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def routed(stmt: Any, table: sa.Table, route_column: str | None, keys: tuple[str, ...]) -> Any:
    if route_column is None:
        return stmt
    col = table.c[route_column]
    return stmt.where(sa.or_(col.is_(None), col.in_(list(keys))))


def rows(
    conn: sa.Connection, table: sa.Table, route_column: str | None, keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    return dicts(conn.execute(routed(sa.select(table), table, route_column, keys)))


def count(
    conn: sa.Connection, table: sa.Table, route_column: str | None, keys: tuple[str, ...]
) -> int:
    stmt = routed(sa.select(sa.func.count()).select_from(table), table, route_column, keys)
    return int(conn.execute(stmt).scalar_one())


def select(table: sa.Table, route_column: str | None, keys: tuple[str, ...]) -> Any:
    return routed(sa.select(table), table, route_column, keys)


def dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    """Rows as plain dicts with plain ``str`` keys (ready for the wire)."""
    names = [str(k) for k in result.keys()]  # noqa: SIM118 (a Result, not a dict)
    return [dict(zip(names, row, strict=True)) for row in result]

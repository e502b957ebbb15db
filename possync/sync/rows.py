"""Checking a row received from another node against the table it claims to be for.

Every value is checked before anything is written, so that a bad batch is refused
whole with a message naming the change and column at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from possync.sync.errors import BadBatch
from possync.sync.tables import SyncTable

Checker = Callable[[Any], Any]


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    raise TypeError("an integer")


def _bool(value: Any) -> Any:
    if value is True or value is False:
        return value
    if type(value) is int and value in (0, 1):  # SQLite captures booleans as 0/1
        return bool(value)
    raise TypeError("a boolean")


def _str(max_len: int | None) -> Checker:
    def check(value: Any) -> Any:
        if type(value) is not str:
            raise TypeError("a string")
        if max_len is not None and len(value) > max_len:
            raise TypeError(f"a string of at most {max_len} characters")
        return value

    return check


def _checker(column: sa.Column[Any]) -> Checker:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return _bool
    if isinstance(kind, sa.Integer):
        return _int
    if isinstance(kind, sa.String):
        return _str(kind.length)
    raise TypeError(f"column {column.name} has a type the engine cannot replicate: {kind}")


class RowChecker:
    """Validates and normalises rows for one table."""

    def __init__(self, table: SyncTable) -> None:
        self.table = table
        self._columns = {c.name: (_checker(c), c.nullable) for c in table.table.columns}
        self._keys = {c: self._columns[c] for c in table.key_columns}

    def check(self, row: Any, op: str, where: str) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise BadBatch(f"{where}.row: expected an object")
        expected = self._keys if op == "D" else self._columns
        if row.keys() != expected.keys():
            missing = sorted(expected.keys() - row.keys())
            unknown = sorted(row.keys() - expected.keys())
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown column(s) {', '.join(unknown)}")
            raise BadBatch(f"{where}.row: {'; '.join(parts)} for table {self.table.name}")
        out: dict[str, Any] = {}
        for name, value in row.items():
            check, nullable = expected[name]
            if value is None:
                if not nullable:
                    raise BadBatch(f"{where}.row.{name}: must not be null")
                out[name] = None
                continue
            try:
                out[name] = check(value)
            except TypeError as exc:
                raise BadBatch(
                    f"{where}.row.{name}: expected {exc}, got {type(value).__name__} {value!r:.40}"
                ) from None
        return out

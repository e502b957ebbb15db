"""Checking a row received from another node against the table it claims to be for.

Every value is checked before anything is written, so that a bad batch is refused
whole with a message naming the change and column at fault. This runs for every
row of every batch, so the common case (a value of exactly the expected type) costs
one set lookup; anything else takes the slow path, which converts or explains.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.sync.errors import BadBatch
from possync.sync.tables import SyncTable

INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what both databases store in a BIGINT


class _Column:
    __slots__ = ("kind", "max_len", "name", "nullable", "types")

    def __init__(self, column: sa.Column[Any]) -> None:
        self.name = column.name
        self.nullable = bool(column.nullable)
        self.max_len: int | None = None
        if isinstance(column.type, sa.Boolean):
            self.kind, self.types = "a boolean", frozenset({bool})
        elif isinstance(column.type, sa.Integer):
            self.kind, self.types = "an integer", frozenset({int})
        elif isinstance(column.type, sa.String):
            self.kind, self.types = "a string", frozenset({str})
            self.max_len = column.type.length
        else:
            raise TypeError(f"column {column.name} has a type the engine cannot replicate")

    def slow(self, value: Any, where: str) -> Any:
        """Convert a value that is not exactly of the column's type, or refuse it."""
        if value is None:
            if self.nullable:
                return None
            raise BadBatch(f"{where}.row.{self.name}: must not be null")
        if self.kind == "a boolean" and type(value) is int and value in (0, 1):
            return bool(value)  # SQLite captures booleans as 0/1
        raise BadBatch(
            f"{where}.row.{self.name}: expected {self.kind}, got {type(value).__name__}"
            f" {value!r:.40}"
        )


class RowChecker:
    """Validates and normalises rows for one table (in place, and returns them)."""

    def __init__(self, table: SyncTable) -> None:
        self.table = table
        self._columns = {c.name: _Column(c) for c in table.table.columns}
        self._keys = {k: self._columns[k] for k in table.key_columns}

    def check(self, row: Any, op: str, where: str) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise BadBatch(f"{where}.row: expected an object")
        expected = self._keys if op == "D" else self._columns
        if row.keys() != expected.keys():
            raise BadBatch(self._explain_columns(row, expected, where))
        for name, value in row.items():
            column = expected[name]
            if value is None and column.nullable:
                continue
            if type(value) in column.types:
                if column.max_len is not None and len(value) > column.max_len:
                    raise BadBatch(
                        f"{where}.row.{name}: expected a string of at most "
                        f"{column.max_len} characters"
                    )
                if type(value) is int and not INT_MIN <= value <= INT_MAX:
                    raise BadBatch(f"{where}.row.{name}: integer out of range")
                continue
            row[name] = column.slow(value, where)
        return row

    def _explain_columns(self, row: dict[str, Any], expected: dict[str, Any], where: str) -> str:
        missing = sorted(expected.keys() - row.keys())
        unknown = sorted(row.keys() - expected.keys())
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        return f"{where}.row: {'; '.join(parts)} for table {self.table.name}"

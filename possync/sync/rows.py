"""Checking a row received from another node against the table it claims to be for.

Every value is checked before anything is written, so that a bad batch is refused
whole with a message naming the change and column at fault. This runs for every
row of every batch, so each table gets a checker function generated from its
columns (one type test and, for strings and integers, one bound test per column,
with no loop and no look-up of the column); anything unusual takes the slow path
(:meth:`_Column.fix`), which converts or explains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from possync.sync.errors import BadBatch
from possync.sync.log import Op
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

    def fix(self, value: Any, where: str) -> Any:
        """The value that failed the generated fast test: null, too long, out of
        range, or of another type (converted if it can be, else refused)."""
        if value is None and self.nullable:
            return None
        if type(value) in self.types:
            if self.max_len is not None and len(value) > self.max_len:
                raise BadBatch(
                    f"{where}.row.{self.name}: expected a string of at most "
                    f"{self.max_len} characters"
                )
            if type(value) is int and not INT_MIN <= value <= INT_MAX:
                raise BadBatch(f"{where}.row.{self.name}: integer out of range")
            return value
        return self.slow(value, where)

    def fast_test(self, var: str) -> str:
        """Python source: true when ``var`` needs :meth:`fix` (the common case,
        a value of exactly the column's type within bounds, is false)."""
        if self.kind == "a boolean":
            test = f"{var}.__class__ is not bool"
        elif self.kind == "an integer":
            test = f"{var}.__class__ is not int or not {INT_MIN} <= {var} <= {INT_MAX}"
        elif self.max_len is not None:
            test = f"{var}.__class__ is not str or len({var}) > {self.max_len}"
        else:
            test = f"{var}.__class__ is not str"
        return f"{var} is not None and ({test})" if self.nullable else test

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
        self._check_row = _compile(self._columns, self._explain_columns)
        self._check_key = _compile(self._keys, self._explain_columns)
        self._indexed: dict[tuple[bool, str], Callable[[Any, int], dict[str, Any]]] = {}

    def check(self, row: Any, op: str, where: str) -> dict[str, Any]:
        if row.__class__ is not dict:
            raise BadBatch(f"{where}.row: expected an object")
        return self._check_key(row, where) if op == Op.DELETE else self._check_row(row, where)

    def indexed(self, op: str, prefix: str) -> Callable[[Any, int], dict[str, Any]]:
        """``check`` of rows of ``op`` as one function ``(row, index)``, for a list
        of changes: the place it names, ``{prefix}[{index}]``, is written only when
        a row is refused or a value converted (a batch reader checks ten thousand
        rows a push, nearly all good)."""
        delete = op == Op.DELETE
        found = self._indexed.get((delete, prefix))
        if found is None:
            columns = self._keys if delete else self._columns
            found = self._indexed[delete, prefix] = _compile(columns, self._explain_columns, prefix)
        return found

    def _explain_columns(self, row: dict[str, Any], expected: dict[str, Any], where: str) -> str:
        missing = sorted(expected.keys() - row.keys())
        unknown = sorted(row.keys() - expected.keys())
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        return f"{where}.row: {'; '.join(parts)} for table {self.table.name}"


def _compile(columns: dict[str, _Column], explain: Any, prefix: str | None = None) -> Any:
    """A function ``check(row, where)`` for rows of exactly ``columns``: the same
    outcome as testing each value in turn, as straight-line code. Column names
    reach the source only as string literals (repr), never as code.

    With ``prefix``: ``check(row, index)`` for the rows of a list, ``where`` being
    ``{prefix}[{index}]``, written out only when needed; it also refuses a row
    that is not an object (RowChecker.check does that for the other)."""
    names = list(columns)
    env: dict[str, Any] = {"BadBatch": BadBatch, "explain": explain, "columns": columns}
    if prefix is None:
        where = "where"
        lines = ["def check(row, where):"]
    else:
        where = "place(at)"
        env["place"] = lambda at: f"{prefix}[{at}]"
        lines = [
            "def check(row, at):",
            "    if row.__class__ is not dict:",
            '        raise BadBatch(f"{place(at)}.row: expected an object")',
        ]
    # Exactly the columns: as many keys, each of them there (read into locals
    # first, so that a missing one is told before any value is tested). Cheaper
    # than comparing the row's keys with the columns' as sets.
    lines += [
        f"    if len(row) != {len(names)}:",
        f"        raise BadBatch(explain(row, columns, {where}))",
    ]
    if names:
        lines += [
            "    try:",
            *(f"        v{i} = row[{name!r}]" for i, name in enumerate(names)),
            "    except KeyError:",
            f"        raise BadBatch(explain(row, columns, {where})) from None",
        ]
    for i, name in enumerate(names):
        env[f"fix{i}"] = columns[name].fix
        lines += [
            f"    if {columns[name].fast_test(f'v{i}')}:",
            f"        row[{name!r}] = fix{i}(v{i}, {where})",
        ]
    lines.append("    return row")
    exec("\n".join(lines), env)  # the source holds only literals of the table's columns
    return env["check"]

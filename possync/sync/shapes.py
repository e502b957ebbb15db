"""Older wire shapes: how replicated rows looked in earlier sync protocols.

A chain upgrades its parent first and its children over weeks, some of them
offline all the while, so a parent speaks its own protocol and the one before.
What differs between protocols is the shape of the rows (a release adds a column
or a table); the batch envelope is the same. So the parent adapts rows at the
edge, for a child that speaks an older protocol:

* rows the child pushes lack the columns added since: each gets its column's
  declared default (a spec whose new column has none is refused when built);
* rows it pulls or loads are cut to the columns it knows, and changes of tables
  it does not know are not sent at all (they are still acknowledged by cursor,
  like any change the child's filter leaves out).

A child on the current protocol takes the fast path: no adapter, rows untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from possync.sync.errors import BadBatch
from possync.sync.log import Change, Op

if TYPE_CHECKING:
    from possync.sync.tables import SyncTable


@dataclass(frozen=True)
class OlderShape:
    """The replicated tables as protocol ``protocol`` knew them.

    columns: for each table whose columns differed then, the columns it had.
    absent: tables that did not exist then.
    """

    protocol: int
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()


_NO_DEFAULT = object()


def _default(column: sa.Column[Any]) -> Any:
    """The value a row from an older protocol gets for a column it lacks."""
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return default.arg  # type: ignore[attr-defined]
    if column.nullable:
        return None
    return _NO_DEFAULT


class Adapter:
    """Shapes rows for one older protocol (see the module's docstring)."""

    def __init__(self, tables: Iterable[SyncTable], shape: OlderShape) -> None:
        self.protocol = shape.protocol
        self.absent = shape.absent
        # table -> (columns the old protocol knows, {added column: its default})
        self._known: dict[str, tuple[str, ...]] = {}
        self._added: dict[str, dict[str, Any]] = {}
        for t in tables:
            if t.name in shape.absent or t.name not in shape.columns:
                continue
            old = shape.columns[t.name]
            unknown = set(old) - set(t.column_names)
            if unknown:
                raise ValueError(
                    f"protocol {shape.protocol}: {t.name} had column(s) {sorted(unknown)} "
                    "that it no longer has; a column is never removed from a replicated table"
                )
            # str(): SQLAlchemy names are str subclasses, which orjson refuses as keys
            added = {str(c.name): _default(c) for c in t.table.columns if c.name not in old}
            missing = [name for name, value in added.items() if value is _NO_DEFAULT]
            if missing:
                raise ValueError(
                    f"protocol {shape.protocol}: {t.name}.{missing[0]} was added as NOT NULL "
                    "without a default, so rows from older children cannot be completed"
                )
            self._known[t.name] = tuple(old)
            self._added[t.name] = added

    @property
    def reshaped(self) -> frozenset[str]:
        """Tables whose rows differ from (or did not exist in) this protocol: what
        a child that upgrades from it must load again."""
        return frozenset(self._known) | self.absent

    def sends(self, table: str) -> bool:
        return table not in self.absent

    def complete(self, table: str, op: str, row: Any, where: str) -> Any:
        """A row pushed by an older child, with the columns added since."""
        if table in self.absent:
            raise BadBatch(f"{where}.table: {table!r} did not exist in protocol {self.protocol}")
        added = self._added.get(table)
        if not added or op == Op.DELETE or not isinstance(row, dict):
            return row  # the row checker explains anything malformed
        for name, value in added.items():
            if name in row:
                raise BadBatch(
                    f"{where}.row.{name}: unknown column for table {table} in protocol "
                    f"{self.protocol}"
                )
            row[name] = value
        return row

    def cut(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """A row as an older child knows it."""
        known = self._known.get(table)
        if known is None:
            return row
        return {name: row[name] for name in known if name in row}

    def outgoing(self, changes: Sequence[Change]) -> list[Change]:
        """Changes for an older child: its tables only, its columns only. The
        changes must have been read parsed, not raw."""
        shaped = []
        for change in changes:
            if change.table in self.absent:
                continue
            if change.table in self._known:
                row = self.cut(change.table, change.row)
                change = Change(change.seq, change.table, change.op, row)
            shaped.append(change)
        return shaped


def adapters(tables: Iterable[SyncTable], shapes: Iterable[OlderShape]) -> dict[int, Adapter]:
    listed = tuple(tables)
    return {shape.protocol: Adapter(listed, shape) for shape in shapes}

"""Declarations of what replicates: which tables, in which direction, routed how.

An application hands the engine a :class:`SyncSpec`; the engine installs capture
triggers for its tables, extracts and applies their rows, and checks that what a
child pushes is the child's own. The spec is the only place where the engine
learns about application tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import sqlalchemy as sa

from possync.sync.log import Change, Op
from possync.sync.shapes import Adapter, OlderShape, adapters


class Direction(StrEnum):
    """Which way a table's changes travel along the parent/child tree."""

    DOWN = "down"  # parent -> children (master data)
    UP = "up"  # child -> parent (transactions)
    BOTH = "both"  # both ways (e.g. customers created anywhere, stock movements)

    @property
    def flows_down(self) -> bool:
        return self in (Direction.DOWN, Direction.BOTH)

    @property
    def flows_up(self) -> bool:
        return self in (Direction.UP, Direction.BOTH)


@dataclass(frozen=True)
class SyncTable:
    """One replicated table.

    route_column: a column whose value names who may receive a row (a node id or a
        group such as a store id). ``NULL`` there means "everyone below".
    owner_column: for rows pushed up, the column that must name the sending node;
        a child can never write rows as another node.
    immutable: rows are facts that never change once written (receipts, stock
        movements): applying one that already exists is a no-op, and a child may
        only insert them.
    initial_load: whether a new child receives the table's current rows when it is
        first provisioned.

    What a child may write (checked by the parent against the row as it stands, see
    docs/reliability.md; a change that breaks it is quarantined):
    child_ops: the operations (Op) a child may push: UPSERT (create), UPDATE (change),
        DELETE (delete). Default: create only for immutable tables, all three otherwise.
    shared: any child in the row's route may change it, not only its owner (the
        owner column itself never changes).
    editable: the columns a child may change in a row it updates (None: any but the
        key and owner columns).
    """

    table: sa.Table
    direction: Direction
    route_column: str | None = None
    owner_column: str | None = None
    immutable: bool = False
    initial_load: bool = True
    child_ops: frozenset[str] | None = None
    shared: bool = False
    editable: tuple[str, ...] | None = None
    # Columns changed on several nodes that merge one by one, by the hybrid logical
    # clocks kept in ``clock_column`` (see hlc.py), rather than whole rows.
    merged: tuple[str, ...] = ()
    clock_column: str | None = None

    # Read for every change of every batch: worked out once per table (a frozen
    # dataclass has a __dict__, where cached_property keeps the value).
    @cached_property
    def ops_for_children(self) -> frozenset[str]:
        if self.child_ops is not None:
            return self.child_ops
        return frozenset({Op.UPSERT}) if self.immutable else frozenset(Op)

    @cached_property
    def name(self) -> str:
        return str(self.table.name)

    @cached_property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.primary_key.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns)


@dataclass(frozen=True)
class Baseline:
    """A derived, non-replicated table a new child receives once, in the same
    database snapshot as its starting cursor (e.g. stock on hand, which is then
    kept up to date locally from replicated movements)."""

    table: sa.Table
    route_column: str | None = None


@dataclass(frozen=True)
class SyncSpec:
    """tables, baselines: what replicates.
    protocol: the version of the sync protocol this spec's rows are shaped for; an
        application raises it whenever a replicated table changes shape.
    older_shapes: the shapes of earlier protocols that a parent still serves (see
        shapes.py), usually the one before ``protocol``.
    """

    tables: tuple[SyncTable, ...]
    baselines: tuple[Baseline, ...] = field(default=())
    protocol: int = 1
    older_shapes: tuple[OlderShape, ...] = field(default=())
    # The document each change belongs to (a receipt with its lines...): changes of
    # one document travel in one batch and are quarantined together. Default: each
    # row is its own document.
    documents: Callable[[Sequence[Change]], list[str]] | None = None
    # Every key a later part of a document may carry (a part sent without the row
    # that names the document): default, the keys of its changes.
    document_aliases: Callable[[Sequence[Change]], set[str]] | None = None
    adapters: dict[int, Adapter] = field(init=False, repr=False, compare=False)
    # The tables by name: looked up for every change of every batch (tens of
    # thousands a push), so a plain dict set once, not a property.
    _by_name: dict[str, SyncTable] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError("a table is declared twice in the sync spec")
        for t in self.tables:
            for col in (t.route_column, t.owner_column):
                if col is not None and col not in t.table.c:
                    raise ValueError(f"{t.name} has no column {col!r}")
        for t in self.tables:
            if bool(t.merged) != bool(t.clock_column):
                raise ValueError(f"{t.name}: merged columns need a clock column, and back")
        for shape in self.older_shapes:
            if shape.protocol >= self.protocol:
                raise ValueError(f"older shape {shape.protocol} is not older than {self.protocol}")
        object.__setattr__(self, "adapters", adapters(self.tables, self.older_shapes))
        object.__setattr__(self, "_by_name", {t.name: t for t in self.tables})

    @property
    def protocols(self) -> tuple[int, ...]:
        """Every protocol this spec can serve, oldest first."""
        return (*sorted(self.adapters), self.protocol)

    def adapter(self, protocol: int) -> Adapter | None:
        """How to shape rows for a peer on ``protocol`` (None: as they are)."""
        return None if protocol == self.protocol else self.adapters[protocol]

    def document_keys(self, changes: Sequence[Change]) -> list[str]:
        if self.documents is not None:
            return self.documents(changes)
        return [row_document(self, c) for c in changes]

    def aliases_of(self, changes: Sequence[Change], document: str) -> set[str]:
        found = (self.document_aliases or (lambda cs: set(self.document_keys(cs))))(changes)
        return found | {document}

    def table(self, name: str) -> SyncTable | None:
        return self._by_name.get(name)

    def names(self, tables: Iterable[SyncTable]) -> tuple[str, ...]:
        return tuple(t.name for t in tables)

    @property
    def down_tables(self) -> tuple[SyncTable, ...]:
        return tuple(t for t in self.tables if t.direction.flows_down)

    @property
    def up_tables(self) -> tuple[SyncTable, ...]:
        return tuple(t for t in self.tables if t.direction.flows_up)


def row_document(spec: SyncSpec, change: Change) -> str:
    """A change's own document: its table and key (the default grouping)."""
    table = spec.table(change.table)
    key = [change.row.get(k) for k in table.key_columns] if table else []
    return f"{change.table}:" + ":".join(str(k) for k in key)

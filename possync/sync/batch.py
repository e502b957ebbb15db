"""Batches: the unit in which changes travel, and their wire form.

A batch says "these are my changes with ``after < seq <= through``" (the sender's
filter may have left some numbers out). The receiver applies it and records
``through`` in the same transaction; the next batch must start where it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from possync.sync.errors import BadBatch, UnsupportedProtocol
from possync.sync.log import Change, EncodedChanges, Op
from possync.sync.rows import INT_MAX, RowChecker
from possync.sync.shapes import Adapter
from possync.sync.tables import Direction, SyncSpec

_OPS = frozenset(Op)
# The largest sequence number or cursor on the wire: a signed 64-bit column's.
MAX_SEQ = INT_MAX


@dataclass(frozen=True)
class Batch:
    source: str
    after: int
    through: int
    changes: Sequence[Change]
    more: bool = False
    protocol: int = 1  # the sync protocol the rows are shaped for (see shapes.py)
    # A child's push says where its log ends, so that the parent can tell a log that
    # restarted (behind what it already applied) from a re-send (None: not said).
    head: int | None = None

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "protocol": self.protocol,
            "source": self.source,
            "after": self.after,
            "through": self.through,
            "more": self.more,
            "changes": orjson.Fragment(self.changes.json)
            if isinstance(self.changes, EncodedChanges)
            else [c.to_wire() for c in self.changes],
        }
        if self.head is not None:
            wire["head"] = self.head
        return wire


class BatchReader:
    """Parses and validates batches arriving in one direction for one spec."""

    def __init__(self, spec: SyncSpec, direction: Direction) -> None:
        self.direction = direction
        self.protocol = spec.protocol
        # A parent completes the rows of children on an older protocol; a child
        # takes only its own protocol from its parent (the parent upgrades first).
        self._adapters = spec.adapters if direction is Direction.UP else {}
        flows = (
            (lambda t: t.direction.flows_up)
            if direction is Direction.UP
            else (lambda t: t.direction.flows_down)
        )
        self._checkers = {t.name: RowChecker(t) for t in spec.tables if flows(t)}
        self._immutable = {t.name for t in spec.tables if t.immutable}
        # (table, op) -> the check of its rows, by the change's index (rows.py).
        self._allowed = {
            (name, op): checker.indexed(op, "changes")
            for name, checker in self._checkers.items()
            for op in ((Op.UPSERT,) if name in self._immutable else _OPS)
        }

    def parse(self, body: Any) -> Batch:
        if not isinstance(body, dict):
            raise BadBatch("the body must be a JSON object")
        protocol = body.get("protocol")
        adapter = self._adapters.get(protocol) if type(protocol) is int else None
        if protocol != self.protocol and adapter is None:
            raise self._unsupported(protocol)
        source = body.get("source")
        if not isinstance(source, str) or not source:
            raise BadBatch("source: expected the sending node's id")
        after, through = _seq(body, "after"), _seq(body, "through")
        if through < after:
            raise BadBatch(f"through ({through}) is before after ({after})")
        more = body.get("more", False)
        if not isinstance(more, bool):
            raise BadBatch("more: expected a boolean")
        items = body.get("changes")
        if not isinstance(items, list):
            raise BadBatch("changes: expected a list")
        head = _seq(body, "head") if "head" in body else None
        if head is not None and head < through:
            raise BadBatch(f"head ({head}) is before through ({through})")
        changes = self._changes(items, after, through, adapter)
        return Batch(source, after, through, changes, more, self.protocol, head)

    def _unsupported(self, protocol: Any) -> UnsupportedProtocol:
        if type(protocol) is not int:
            return UnsupportedProtocol(f"protocol: expected an integer, got {protocol!r}")
        supported = sorted({self.protocol, *self._adapters})
        if self.direction is Direction.DOWN:
            return UnsupportedProtocol(
                f"the parent sent sync protocol {protocol}; this node speaks {self.protocol}: "
                "the parent must run the same release or a newer one",
                supported=supported,
            )
        return UnsupportedProtocol(
            f"the batch is in sync protocol {protocol}; this node speaks "
            f"{', '.join(map(str, supported))}",
            supported=supported,
        )

    def _changes(
        self, items: list[Any], after: int, through: int, adapter: Adapter | None
    ) -> list[Change]:
        # Runs for every change of every batch: one look-up of (table, op) says the
        # table replicates this way and allows the op, and gives the check of its
        # rows; messages (and the change's place in them) are built on refusal.
        allowed = self._allowed
        changes: list[Change] = []
        append = changes.append
        last = after
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise BadBatch(f"changes[{i}]: expected an object")
            seq = item.get("seq")
            if seq.__class__ is not int or not last < seq <= through:
                raise BadBatch(
                    f"changes[{i}].seq: expected an integer above {last} and at most "
                    f"{through}, got {seq!r}"
                )
            last = seq
            table, op = item.get("table"), item.get("op")
            try:
                check = allowed.get((table, op))
            except TypeError:  # a list or object is unhashable
                check = None
            if check is None:
                raise self._refusal(f"changes[{i}]", table, op)
            row = item.get("row")
            if adapter is not None:
                row = adapter.complete(table, op, row, f"changes[{i}]")
            append(Change(seq, table, op, check(row, i)))
        return changes

    def _refusal(self, where: str, table: Any, op: Any) -> BadBatch:
        if not isinstance(table, str) or table not in self._checkers:
            return BadBatch(
                f"{where}.table: {table!r} is not a table that replicates {self.direction.value}"
            )
        if not isinstance(op, str) or op not in _OPS:
            return BadBatch(f"{where}.op: expected one of I, U, D, got {op!r}")
        return BadBatch(f"{where}.op: rows of {table} are immutable; only I is allowed")


def _seq(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    # Bounded by what the cursor columns (BIGINT) hold: a larger number would pass
    # here and fail as a database overflow (a 500) when the cursor is recorded.
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        raise BadBatch(
            f"{name}: expected a non-negative integer of at most {MAX_SEQ}, got {value!r:.40}"
        )
    return value

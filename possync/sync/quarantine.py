"""The quarantine: changes that were well formed but could not be applied.

A batch that is malformed is refused whole (422): nothing of it is kept. A change
that is well formed but breaks a rule (another node's row, a number outside the
sender's series, a total that is not the sum of its lines...) or clashes with data
already held is set aside here with its whole document (a receipt with its lines,
payments and stock movements), with the reason; the rest of the batch is applied
and acknowledged, so one bad document never blocks a channel. An administrator
then resubmits a document (after fixing what it needed) or discards it, with a
note; both are recorded on the row.

All SQL on ``sync_quarantine`` lives here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync.clock import utc_now
from possync.sync.log import Change
from possync.sync.schema import sync_quarantine


class Status(StrEnum):
    HELD = "held"
    RESUBMITTED = "resubmitted"  # applied after an administrator's resubmission
    DISCARDED = "discarded"


class Reason(StrEnum):
    """Why a document was set aside (stable codes, documented in reliability.md)."""

    NOT_ALLOWED = "not_allowed"  # the sender may not do this to this table
    NOT_OWNER = "not_owner"  # the stored row is another node's
    RULE = "rule"  # the application's rules refuse it (the message says which)
    CONFLICT = "conflict"  # it clashes with data already held (e.g. a number in use)
    INCOMPLETE = "incomplete"  # part of it refers to something not received
    FOREIGN = "foreign_installation"  # sent by a refused copy of the child, for a decision


@dataclass(frozen=True)
class Rejection:
    code: Reason
    message: str


@dataclass(frozen=True)
class Held:
    quarantine_id: int
    peer: str
    direction: str
    document: str
    code: str
    reason: str
    status: str
    received_at: str
    changes: list[dict[str, Any]]
    decided_at: str | None
    decided_by: str | None
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "quarantine_id": self.quarantine_id,
            "peer": self.peer,
            "direction": self.direction,
            "document": self.document,
            "code": self.code,
            "reason": self.reason,
            "status": self.status,
            "received_at": self.received_at,
            "changes": self.changes,
            "decided_at": self.decided_at,
            "decided_by": self.decided_by,
            "note": self.note,
        }

    def as_changes(self) -> list[Change]:
        return [Change(c["seq"], c["table"], c["op"], c["row"]) for c in self.changes]


def hold(
    conn: sa.Connection,
    peer: str,
    direction: str,
    documents: Iterable[tuple[str, Rejection, list[Change]]],
) -> int:
    """Set documents aside, each with all its changes; returns how many."""
    now = utc_now()
    rows = [
        {
            "peer": peer,
            "direction": direction,
            "document": document,
            "code": rejection.code.value,
            "reason": rejection.message[:2000],
            "status": Status.HELD.value,
            "received_at": now,
            "changes": orjson.dumps([c.to_wire() for c in changes]).decode(),
        }
        for document, rejection, changes in documents
    ]
    if rows:
        conn.execute(sync_quarantine.insert(), rows)
    return len(rows)


def _held(row: Any) -> Held:
    return Held(
        quarantine_id=row.quarantine_id,
        peer=row.peer,
        direction=row.direction,
        document=row.document,
        code=row.code,
        reason=row.reason,
        status=row.status,
        received_at=row.received_at,
        changes=orjson.loads(row.changes),
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        note=row.note,
    )


def get(conn: sa.Connection, quarantine_id: int, *, lock: bool = False) -> Held | None:
    q = sync_quarantine
    stmt = sa.select(q).where(q.c.quarantine_id == quarantine_id)
    if lock and conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else _held(row)


def listing(
    conn: sa.Connection,
    *,
    peer: str | None = None,
    status: str | None = Status.HELD.value,
    code: str | None = None,
) -> list[Held]:
    q = sync_quarantine
    stmt = sa.select(q).order_by(q.c.quarantine_id)
    if peer is not None:
        stmt = stmt.where(q.c.peer == peer)
    if code is not None:
        stmt = stmt.where(q.c.code == code)
    if status is not None:
        stmt = stmt.where(q.c.status == status)
    return [_held(r) for r in conn.execute(stmt)]


def held_counts(conn: sa.Connection) -> dict[str, int]:
    """Documents held, per peer."""
    q = sync_quarantine
    rows = conn.execute(
        sa.select(q.c.peer, sa.func.count())
        .where(q.c.status == Status.HELD.value)
        .group_by(q.c.peer)
    )
    return {peer: int(n) for peer, n in rows}


def decide(
    conn: sa.Connection,
    quarantine_id: int,
    status: Status,
    *,
    by: str,
    note: str | None,
    reason: Rejection | None = None,
) -> None:
    """Record an administrator's decision (or, with ``reason``, that a resubmission
    was refused again: the document stays held with the new reason)."""
    values: dict[str, Any] = {"decided_at": utc_now(), "decided_by": by, "note": note}
    if reason is not None:
        values |= {"code": reason.code.value, "reason": reason.message[:2000]}
    else:
        values["status"] = status.value
    conn.execute(
        sync_quarantine.update()
        .where(sync_quarantine.c.quarantine_id == quarantine_id)
        .values(**values)
    )

"""Deciding what to do with documents the store set aside (the quarantine of the
sync engine, possync.sync.quarantine): list them, resubmit one after fixing what
it needed (master data, a series), or discard it with a reason. Every decision is
written to the admin log as well as kept on the entry."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail import integrity
from possync.retail.errors import RetailError
from possync.retail.replication import SPEC
from possync.retail.schema import admin_log
from possync.retail.store_admin import store_row
from possync.sync import conflicts as recorded_conflicts
from possync.sync import quarantine
from possync.sync.clock import utc_now
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import SyncError
from possync.sync.parent import Parent


def _parent(engine: sa.Engine) -> Parent:
    with read_tx(engine) as conn:
        store_id = store_row(conn).store_id
    return Parent(engine, SPEC, store_id, guard=integrity.guard)


def listing(
    engine: sa.Engine, *, terminal: str | None = None, status: str | None = "held"
) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [h.as_dict() for h in quarantine.listing(conn, peer=terminal, status=status)]


def conflicts(engine: sa.Engine, limit: int = 200) -> list[dict[str, Any]]:
    """Concurrent edits of merged fields (customers' contact fields), newest first."""
    with read_tx(engine) as conn:
        return recorded_conflicts.recent(conn, limit)


def entry(engine: sa.Engine, quarantine_id: int) -> dict[str, Any]:
    with read_tx(engine) as conn:
        held = quarantine.get(conn, quarantine_id)
    if held is None:
        raise RetailError(f"no quarantine entry {quarantine_id}")
    return held.as_dict()


def _log(engine: sa.Engine, action: str, detail: str) -> None:
    with write_tx(engine) as conn:
        conn.execute(admin_log.insert().values(at=utc_now(), action=action, detail=detail))


def resubmit(
    engine: sa.Engine, quarantine_id: int, *, by: str, note: str | None = None
) -> dict[str, Any]:
    """Apply a held document again; says whether it was applied or held again."""
    try:
        outcome = _parent(engine).resubmit(quarantine_id, by=by, note=note)
    except SyncError as exc:
        raise RetailError(exc.message) from None
    applied = not outcome.held
    _log(
        engine,
        "quarantine_resubmitted",
        f"entry {quarantine_id} by {by}: {'applied' if applied else 'held again'}"
        + (f"; {note}" if note else ""),
    )
    with read_tx(engine) as conn:
        again = [h.as_dict() for h in quarantine.listing(conn) if h.document in outcome.held]
    return {"quarantine_id": quarantine_id, "applied": applied, "held_again": again}


def discard(engine: sa.Engine, quarantine_id: int, *, by: str, note: str) -> None:
    if not note.strip():
        raise RetailError("say why the document is discarded (--note)")
    try:
        _parent(engine).discard(quarantine_id, by=by, note=note)
    except SyncError as exc:
        raise RetailError(exc.message) from None
    _log(engine, "quarantine_discarded", f"entry {quarantine_id} by {by}: {note}")

"""Telling a re-send from a log that went back.

A parent skips the changes of a push that it has already applied (numbered at or
below its cursor for the child): they are re-sends, after a lost acknowledgement.
A child whose database was restored from an older copy numbers its new changes from
where the copy stood; once its log has grown past the parent's cursor its ``head``
no longer gives it away, and its new changes would be taken for re-sends, skipped,
acknowledged and never held by the parent. So the parent remembers the last change
it applied from each child (its number and what it was: table, operation, key); a
push covering that number must carry the same change there, or it comes from
another log.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import sqlalchemy as sa

from possync.sync import state
from possync.sync.batch import Batch
from possync.sync.errors import LogDiverged
from possync.sync.log import Change
from possync.sync.tables import SyncSpec

KEY = "last_applied:"  # sync_state, per child: "<seq> <what>"


def _what(spec: SyncSpec, change: Change) -> str:
    table = spec.table(change.table)
    key = [change.row.get(k) for k in table.key_columns] if table else []
    return orjson.dumps([change.table, change.op, key]).decode()


def check(conn: sa.Connection, spec: SyncSpec, node_id: str, batch: Batch, current: int) -> None:
    """Refuse a push that departs from the log this parent followed up to ``current``."""
    held = state.get(conn, KEY + node_id)
    if held is None:
        return
    seq_text, what = held.split(" ", 1)
    seq = int(seq_text)
    # Past the cursor (the child was provisioned again, or this database went back):
    # what was remembered no longer stands for anything applied.
    if seq > current or not batch.after < seq <= batch.through:
        return
    found = next((c for c in batch.changes if c.seq == seq), None)
    if found is None or _what(spec, found) != what:
        raise LogDiverged(
            f"{node_id}'s change {seq} is not the one this server applied under that "
            "number: its database was restored from an older copy or started again, and "
            "its new changes would be taken for re-sends; provision it again (its unsynced "
            "data stays on it: it can hand it to this server's quarantine: rescue)"
        )


def remember(conn: sa.Connection, spec: SyncSpec, node_id: str, applied: Sequence[Change]) -> None:
    if applied:
        last = max(applied, key=lambda c: c.seq)
        state.put(conn, KEY + node_id, f"{last.seq} {_what(spec, last)}")

"""Rescue: a till refused by its store as a copy (another installation holds its
identity, or its log fell behind the store's) still holds sales nobody else has.
They are never purged (nothing unsynced is), and this hands them to the store's
quarantine, where an administrator decides what they are; nothing is applied by
itself. What was handed over is remembered, so running it again sends only what
was made since."""

from __future__ import annotations

from typing import Any

from possync.sync import state
from possync.sync.db import read_tx
from possync.terminal.local import Terminal

RESCUED_THROUGH = "rescued_through"
BATCH = 5000


def rescue(terminal: Terminal) -> dict[str, Any]:
    child = terminal.child
    with read_tx(terminal.engine) as conn:
        acknowledged = child.parent(conn).outbound_seq
        done = int(state.get(conn, RESCUED_THROUGH) or 0)
    after = max(acknowledged, done)
    sent = held = 0
    with terminal.sync_lock(wait=60.0), terminal.client() as client:
        while (batch := child.outgoing(BATCH, after=after)) is not None:
            held += client.rescue(batch)
            sent += len(batch.changes)
            after = batch.through
            terminal.put_state(RESCUED_THROUGH, str(after))
            if not batch.more:
                break
    return {"sent": sent, "held": held, "rescued_through": after}

"""Installing the engine into a database: its tables, the change log, the triggers."""

from __future__ import annotations

import sqlalchemy as sa

from possync.sync import capture, log, state
from possync.sync.db import write_tx
from possync.sync.schema import metadata
from possync.sync.tables import SyncSpec


def install(engine: sa.Engine, spec: SyncSpec, node_id: str) -> None:
    """Create what the engine needs; safe to run again on an installed database."""
    with write_tx(engine) as conn:
        metadata.create_all(conn)
        log.install(conn)
        capture.install_triggers(conn, spec)
        existing = state.get(conn, state.NODE_ID)
        if existing is not None and existing != node_id:
            raise ValueError(f"this database belongs to node {existing}, not {node_id}")
        state.put(conn, state.NODE_ID, node_id)


def node_id(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("sync_state"):
            return None
        return state.get(conn, state.NODE_ID)

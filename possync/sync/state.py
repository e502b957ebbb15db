"""This node's own settings, as a small key/value table."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from possync.sync.schema import sync_state

NODE_ID = "node_id"


def get(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(sa.select(sync_state.c.value).where(sync_state.c.key == key)).scalar()


def put(conn: sa.Connection, key: str, value: str) -> None:
    # One statement (an upsert), not a read and then an insert or an update: a sync
    # writes a few of these, each a round trip on PostgreSQL.
    insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
    stmt = insert(sync_state).values(key=key, value=value)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value})
    )


def delete(conn: sa.Connection, key: str) -> None:
    conn.execute(sync_state.delete().where(sync_state.c.key == key))

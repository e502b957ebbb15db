"""This node's own settings, as a small key/value table."""

from __future__ import annotations

import sqlalchemy as sa

from possync.sync.schema import sync_state

NODE_ID = "node_id"


def get(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(sa.select(sync_state.c.value).where(sync_state.c.key == key)).scalar()


def put(conn: sa.Connection, key: str, value: str) -> None:
    if get(conn, key) is None:
        conn.execute(sync_state.insert().values(key=key, value=value))
    else:
        conn.execute(sync_state.update().where(sync_state.c.key == key).values(value=value))


def delete(conn: sa.Connection, key: str) -> None:
    conn.execute(sync_state.delete().where(sync_state.c.key == key))

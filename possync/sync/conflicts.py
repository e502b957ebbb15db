"""Concurrent edits of merged columns (see hlc.py), as the parent records them:
both values and both clocks, for people to look at. All SQL on ``sync_conflict``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync.clock import utc_now
from possync.sync.hlc import Conflict
from possync.sync.schema import sync_conflict


def record(
    conn: sa.Connection, peer: str | None, found: Iterable[tuple[str, tuple[Any, ...], Conflict]]
) -> int:
    now = utc_now()
    found = list(found)
    c_ = sync_conflict.c
    known = set()
    for table, _key, c in found:  # the same two edits may meet again: recorded once
        hit = conn.execute(
            sa.select(c_.conflict_id).where(
                c_.table_name == table,
                c_.column_name == c.column,
                c_.kept_clock == c.kept_clock,
                c_.lost_clock == c.lost_clock,
            )
        ).first()
        if hit is not None:
            known.add((table, c.column, c.kept_clock, c.lost_clock))
    found = [f for f in found if (f[0], f[2].column, f[2].kept_clock, f[2].lost_clock) not in known]
    rows = [
        {
            "table_name": table,
            "row_key": orjson.dumps(list(key)).decode(),
            "column_name": c.column,
            "kept_value": orjson.dumps(c.kept).decode(),
            "kept_clock": c.kept_clock,
            "lost_value": orjson.dumps(c.lost).decode(),
            "lost_clock": c.lost_clock,
            "peer": peer,
            "recorded_at": now,
        }
        for table, key, c in found
    ]
    if rows:
        conn.execute(sync_conflict.insert(), rows)
    return len(rows)


def count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(sync_conflict)).scalar_one())


def recent(conn: sa.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest conflicts, newest first, values decoded."""
    c = sync_conflict.c
    rows = conn.execute(sa.select(sync_conflict).order_by(c.conflict_id.desc()).limit(limit))
    return [
        {
            "conflict_id": r.conflict_id,
            "table": r.table_name,
            "key": orjson.loads(r.row_key),
            "column": r.column_name,
            "kept": orjson.loads(r.kept_value) if r.kept_value is not None else None,
            "kept_clock": r.kept_clock,
            "lost": orjson.loads(r.lost_value) if r.lost_value is not None else None,
            "lost_clock": r.lost_clock,
            "peer": r.peer,
            "recorded_at": r.recorded_at,
        }
        for r in rows
    ]

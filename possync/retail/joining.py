"""A store joining head office: its master data becomes head office's.

Head office authors the chain's master data; a store that joins takes it whole.
What the store had before is compared with what it received, table by table, and
rows head office does not have are deactivated (items, cashiers, payment methods:
what a till may have sold or taken offline stays known) or else removed; either
reaches the tills at their next sync. The report says what changed, for the
administrator and the admin log.
The store's terminals and their series stay the store's own: head office does not
author them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail.schema import (
    admin_log,
    cashier,
    item,
    payment_method,
    store,
    store_price,
    tax_rate,
)
from possync.sync import state
from possync.sync.clock import utc_now
from possync.sync.schema import sync_state

# The tables head office authors for its stores (the rest of the master data,
# terminals and their series, is the store's).
FROM_HEAD_OFFICE: tuple[sa.Table, ...] = (
    store,
    tax_rate,
    item,
    store_price,
    payment_method,
    cashier,
)
SHOWN = 20  # keys listed per table and kind of change; the counts are always whole

Snapshot = dict[str, dict[str, str]]  # table -> key -> digest of the row


@dataclass
class TableChanges:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            kind: {"count": len(keys), "keys": keys[:SHOWN]}
            for kind, keys in (
                ("added", self.added),
                ("changed", self.changed),
                ("removed", self.removed),
            )
        }


def _key(table: sa.Table, row: Any) -> str:
    return "/".join(str(row._mapping[c.name]) for c in table.primary_key.columns)


def snapshot(conn: sa.Connection) -> Snapshot:
    """What the store holds of head office's tables, before the load."""
    taken: Snapshot = {}
    for table in FROM_HEAD_OFFICE:
        taken[str(table.name)] = {
            _key(table, row): hashlib.sha256(
                orjson.dumps(
                    {str(k): v for k, v in row._mapping.items()},
                    default=str,
                    option=orjson.OPT_SORT_KEYS,
                )
            ).hexdigest()
            for row in conn.execute(sa.select(table))
        }
    return taken


BEFORE = "join_before"  # sync_state: the snapshot taken when the join started
RECEIVED = "join_sent:"  # sync_state prefix: the keys of each chunk head office sent


def remember_before(conn: sa.Connection) -> None:
    """Keep what the store holds now, once: a resumed join compares with the start."""
    if state.get(conn, BEFORE) is None:
        state.put(conn, BEFORE, orjson.dumps(snapshot(conn)).decode())


def note_received(
    conn: sa.Connection, table_name: str, after_key: Any, rows: list[dict[str, Any]]
) -> None:
    """Remember the keys of one chunk of the load (keyed by where the chunk starts,
    so a chunk fetched again after an interruption is remembered once)."""
    if table_name not in {t.name for t in FROM_HEAD_OFFICE}:
        return
    where = hashlib.sha256(orjson.dumps(after_key)).hexdigest()[:16]
    keys = [key_of(table_name, row) for row in rows if isinstance(row, dict)]
    state.put(conn, f"{RECEIVED}{table_name}:{where}", orjson.dumps(keys).decode())


def replace(conn: sa.Connection) -> dict[str, TableChanges]:
    """After the load: remove the rows head office did not send, say what changed
    since the join started, log it, and forget the join's notes."""
    before: Snapshot = orjson.loads(state.get(conn, BEFORE) or "{}")
    received: dict[str, set[str]] = {}
    notes = conn.execute(
        sa.select(sync_state.c.key, sync_state.c.value).where(sync_state.c.key.startswith(RECEIVED))
    ).all()
    for note_key, value in notes:
        table_name = note_key[len(RECEIVED) :].split(":", 1)[0]
        received.setdefault(table_name, set()).update(orjson.loads(value))
    retired: dict[str, set[str]] = {}  # deactivated keys, reported as removed
    for table in FROM_HEAD_OFFICE:
        sent = received.get(table.name, set())
        for row in conn.execute(sa.select(*table.primary_key.columns)).all():
            key = _key(table, row)
            if key in sent:
                continue
            if "active" in table.c:
                # Deactivated, not deleted: a till that sold it offline before it
                # heard of the join still sells a known item, and its receipt is
                # taken by the store (and by head office) like any other.
                conn.execute(table.update().where(_where(table, key)).values(active=False))
                retired.setdefault(str(table.name), set()).add(key)
            else:
                conn.execute(table.delete().where(_where(table, key)))
    after = snapshot(conn)
    report: dict[str, TableChanges] = {}
    for table in FROM_HEAD_OFFICE:
        name = str(table.name)
        was, now, gone = before.get(name, {}), after[name], retired.get(name, set())
        report[name] = TableChanges(
            added=sorted(set(now) - set(was) - gone),
            changed=sorted(
                k for k in now.keys() & was.keys() if now[k] != was[k] and k not in gone
            ),
            removed=sorted((set(was) - set(now)) | (gone & set(was))),
        )
    conn.execute(
        admin_log.insert().values(
            at=utc_now(), action="joined head office", detail=orjson.dumps(summary(report)).decode()
        )
    )
    conn.execute(sync_state.delete().where(sync_state.c.key.startswith(RECEIVED)))
    state.delete(conn, BEFORE)
    return report


def summary(report: dict[str, TableChanges]) -> dict[str, Any]:
    return {name: changes.as_dict() for name, changes in report.items()}


def key_of(table_name: str, row: dict[str, Any]) -> str:
    table = next(t for t in FROM_HEAD_OFFICE if t.name == table_name)
    return "/".join(str(row[c.name]) for c in table.primary_key.columns)


def _where(table: sa.Table, key: str) -> sa.ColumnElement[bool]:
    columns = list(table.primary_key.columns)
    parts = key.split("/", len(columns) - 1)
    return sa.and_(*(c == c.type.python_type(v) for c, v in zip(columns, parts, strict=True)))

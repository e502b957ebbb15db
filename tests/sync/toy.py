"""A tiny non-retail schema: the engine must work for any tables."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from possync.sync import install, peers
from possync.sync.child import Child
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.parent import Parent
from possync.sync.tables import Baseline, Direction, SyncSpec, SyncTable

metadata = sa.MetaData()
catalog = sa.Table(
    "catalog",
    metadata,
    sa.Column("key", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("route", sa.String(10)),
)
event = sa.Table(
    "event",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("node", sa.String(10), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)
shared = sa.Table(
    "shared",
    metadata,
    sa.Column("shared_id", sa.String(36), primary_key=True),
    sa.Column("author", sa.String(10)),
    sa.Column("text", sa.Text, nullable=False),
)
total = sa.Table(
    "total",
    metadata,
    sa.Column("name", sa.String(10), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

SPEC = SyncSpec(
    tables=(
        SyncTable(catalog, Direction.DOWN, route_column="route"),
        SyncTable(shared, Direction.BOTH, owner_column="author"),
        SyncTable(event, Direction.UP, owner_column="node", immutable=True),
    ),
    baselines=(Baseline(total),),
)


def make_node(url: str, node_id: str) -> sa.Engine:
    engine = open_engine(url)
    with write_tx(engine) as conn:
        metadata.create_all(conn)
    install.install(engine, SPEC, node_id)
    return engine


class Pair:
    """A parent and one child, with the batches moved in-process as wire JSON."""

    def __init__(
        self,
        parent_url: str,
        child_url: str,
        child_id: str = "C1",
        route_keys: tuple[str, ...] = ("R1",),
    ) -> None:
        self.parent_engine = make_node(parent_url, "P")
        self.child_engine = make_node(child_url, child_id)
        self.child_id = child_id
        self.parent = Parent(self.parent_engine, SPEC, "P")
        self.child = Child(self.child_engine, SPEC)
        with write_tx(self.parent_engine) as conn:
            code = peers.add_child(conn, child_id, list(route_keys))
            _, secret = peers.register(conn, child_id, code)
        with write_tx(self.child_engine) as conn:
            peers.set_parent(conn, "P", "inproc://", secret, list(route_keys))

    def peer(self) -> peers.Peer:
        with read_tx(self.parent_engine) as conn:
            found = peers.get(conn, self.child_id)
        assert found is not None
        return found

    def push(self, limit: int = 100) -> int:
        sent = 0
        while (batch := self.child.outgoing(limit)) is not None:
            ack = self.parent.receive(self.peer(), wire(batch.to_wire()))
            self.child.acknowledged(ack)
            sent += len(batch.changes)
        return sent

    def pull(self, limit: int = 100) -> int:
        got = 0
        while True:
            batch = self.parent.changes_for(self.peer(), self.child.inbound_cursor(), limit)
            self.child.apply_pulled(wire(batch.to_wire()))
            got += len(batch.changes)
            if not batch.more:
                return got


def wire(value: Any) -> Any:
    """What the other side sees: the value after a JSON round trip."""
    return orjson.loads(orjson.dumps(value))


def rows(engine: sa.Engine, table: sa.Table) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        result = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(r._mapping) for r in result]

"""The engine's relay rules on a schema of their own (issue 12): a table the retail
schema lacks, mutable, owned and routed, with a nullable route, so that every rule
is reached: a relaying child (a store covering routes B1 and B2) may write rows
owned by the nodes below it, in its routes; a row without a route is refused
whole; an owned row's route and owner never change (quarantined). A leaf parent
refuses rows owned by another node. Parent on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from possync.sync import install, peers, quarantine
from possync.sync.child import Child
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.errors import OutOfScope
from possync.sync.parent import Parent
from possync.sync.tables import Direction, SyncSpec, SyncTable

metadata = sa.MetaData()
note = sa.Table(
    "note",
    metadata,
    sa.Column("note_id", sa.String(36), primary_key=True),
    sa.Column("author", sa.String(10)),  # the node that owns the row
    sa.Column("branch", sa.String(10)),  # where it is routed (nullable, for the test)
    sa.Column("text", sa.Text, nullable=False),
)
SPEC = SyncSpec(
    tables=(SyncTable(note, Direction.BOTH, route_column="branch", owner_column="author"),)
)
ROUTES = ["B1", "B2"]


def node(url: str, node_id: str) -> sa.Engine:
    engine = open_engine(url)
    with write_tx(engine) as conn:
        metadata.create_all(conn)
    install.install(engine, SPEC, node_id)
    return engine


class Link:
    """Parent P and its child C1 (routes B1, B2): C1 writes rows, pushes them."""

    def __init__(self, parent_url: str, child_url: str, *, relay: bool) -> None:
        self.top = node(parent_url, "P")
        self.below = node(child_url, "C1")
        self.parent = Parent(self.top, SPEC, "P", children_relay=relay)
        self.child = Child(self.below, SPEC, relays=True)
        with write_tx(self.top) as conn:
            _, secret = peers.register(conn, "C1", peers.add_child(conn, "C1", ROUTES))
        with write_tx(self.below) as conn:
            peers.set_parent(conn, "P", "inproc://", secret, ROUTES)

    def write(self, note_id: str, author: str | None, branch: str | None, text: str) -> None:
        """Create the row, or change it in place (an update, not a delete and a new
        row: that the child may do, the rules being met by the new row)."""
        row = {"note_id": note_id, "author": author, "branch": branch, "text": text}
        with write_tx(self.below) as conn:
            if conn.execute(note.update().where(note.c.note_id == note_id), row).rowcount == 0:
                conn.execute(note.insert(), [row])

    def push(self) -> None:
        peer = self.peer()
        while (batch := self.child.outgoing(10)) is not None:
            body = orjson.loads(orjson.dumps(batch.to_wire()))
            self.child.acknowledged(self.parent.receive(peer, body))

    def peer(self) -> peers.Peer:
        with read_tx(self.top) as conn:
            found = peers.get(conn, "C1")
        assert found is not None
        return found

    def at_parent(self) -> list[tuple[Any, ...]]:
        with read_tx(self.top) as conn:
            return [tuple(r) for r in conn.execute(sa.select(note).order_by(note.c.note_id))]

    def held(self) -> list[str]:
        with read_tx(self.top) as conn:
            return [h.reason for h in quarantine.listing(conn, peer="C1")]

    def close(self) -> None:
        self.top.dispose()
        self.below.dispose()


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[Link]:
    link = Link(db_url, f"sqlite:///{tmp_path / 'child.db'}", relay=True)
    yield link
    link.close()


def test_a_relay_writes_for_the_nodes_below_it_in_its_routes(relay: Link) -> None:
    relay.write("n1", "T1", "B1", "by a till of C1")
    relay.write("n2", "C1", "B2", "by C1 itself")
    relay.write("n3", None, "B1", "owned by nobody")
    relay.push()
    assert [r[:3] for r in relay.at_parent()] == [
        ("n1", "T1", "B1"),
        ("n2", "C1", "B2"),
        ("n3", None, "B1"),
    ]
    assert relay.held() == []


@pytest.mark.parametrize("branch", ["B3", None])
def test_a_row_outside_the_routes_or_without_one_is_refused_whole(
    relay: Link, branch: str | None
) -> None:
    relay.write("n1", "T1", "B1", "fine on its own")
    relay.write("n2", "T1", branch, "whose?")
    with pytest.raises(OutOfScope, match="branch"):
        relay.push()
    assert relay.at_parent() == []
    assert relay.peer().inbound_seq == 0


def test_an_owned_rows_route_and_owner_never_change(relay: Link) -> None:
    relay.write("n1", "T1", "B1", "first")
    relay.push()
    relay.write("n1", "T1", "B2", "moved to the other route")  # both are C1's routes
    relay.push()
    relay.write("n1", "T2", "B1", "taken over by another till")
    relay.push()
    relay.write("n1", "T1", "B1", "edited in place")
    relay.push()
    assert relay.at_parent() == [("n1", "T1", "B1", "edited in place")]
    reasons = relay.held()
    assert len(reasons) == 2
    assert "branch never changes" in reasons[0]
    assert "author never changes" in reasons[1]


def test_a_leaf_parent_refuses_rows_owned_by_another_node(db_url: str, tmp_path: Path) -> None:
    leaf = Link(db_url, f"sqlite:///{tmp_path / 'child.db'}", relay=False)
    try:
        leaf.write("n1", "C1", "B1", "its own")
        leaf.push()
        leaf.write("n2", "T1", "B1", "a till's row, sent by C1")
        with pytest.raises(OutOfScope, match="C1 may only write its own rows"):
            leaf.push()
        assert [r[:2] for r in leaf.at_parent()] == [("n1", "C1")]
    finally:
        leaf.close()

"""Parent and child exchanging batches in-process: exactly once, routed, no echo."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from possync.sync import peers
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import BadBatch, OutOfScope, OutOfSequence
from tests.sync.toy import Pair, catalog, event, rows, shared, total, wire


@pytest.fixture
def pair(db_url: str, tmp_path: Path) -> Pair:
    return Pair(db_url, f"sqlite:///{tmp_path / 'child.db'}")


def add_events(pair: Pair, n: int, node: str = "C1") -> None:
    with write_tx(pair.child_engine) as conn:
        conn.execute(
            event.insert(),
            [{"event_id": str(uuid.uuid4()), "node": node, "payload": f"e{i}"} for i in range(n)],
        )


def test_push_applies_every_change_once_even_when_batches_are_resent(pair: Pair) -> None:
    add_events(pair, 25)
    batch = pair.child.outgoing(10)
    assert batch is not None and len(batch.changes) == 10
    for _ in range(3):  # the same batch, three times (lost acknowledgements)
        ack = pair.parent.receive(pair.peer(), wire(batch.to_wire()))
    assert ack == batch.through
    assert len(rows(pair.parent_engine, event)) == 10
    pair.push(limit=7)
    assert sorted(r["payload"] for r in rows(pair.parent_engine, event)) == sorted(
        f"e{i}" for i in range(25)
    )
    assert pair.child.pending() == 0


def test_a_batch_that_skips_ahead_is_refused_and_changes_nothing(pair: Pair) -> None:
    add_events(pair, 5)
    batch = pair.child.outgoing(100)
    assert batch is not None
    body = wire(batch.to_wire())
    body["after"] = 1
    body["changes"] = body["changes"][1:]
    with pytest.raises(OutOfSequence) as refused:
        pair.parent.receive(pair.peer(), body)
    assert refused.value.details == {"expected_after": 0}
    assert rows(pair.parent_engine, event) == []


def test_a_child_cannot_write_as_another_node(pair: Pair) -> None:
    add_events(pair, 2, node="C2")
    batch = pair.child.outgoing(100)
    assert batch is not None
    with pytest.raises(OutOfScope, match="C1 may only write its own rows"):
        pair.parent.receive(pair.peer(), wire(batch.to_wire()))
    body = wire(batch.to_wire())
    body["source"] = "C2"
    with pytest.raises(OutOfScope, match="credentials"):
        pair.parent.receive(pair.peer(), body)
    assert rows(pair.parent_engine, event) == []


def test_a_child_cannot_push_tables_that_only_flow_down(pair: Pair) -> None:
    body = {
        "protocol": 1,
        "source": "C1",
        "after": 0,
        "through": 1,
        "changes": [
            {
                "seq": 1,
                "table": "catalog",
                "op": "I",
                "row": {"key": 1, "name": "x", "price": 1, "active": True, "route": None},
            }
        ],
    }
    with pytest.raises(BadBatch, match="not a table that replicates up"):
        pair.parent.receive(pair.peer(), body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"seq": 1, "table": "event", "op": "I", "row": {"event_id": "a", "node": "C1"}},
            "missing column",
        ),
        (
            {
                "seq": 1,
                "table": "event",
                "op": "I",
                "row": {"event_id": "a", "node": "C1", "payload": 5},
            },
            "payload: expected a string",
        ),
        (
            {
                "seq": 1,
                "table": "event",
                "op": "U",
                "row": {"event_id": "a", "node": "C1", "payload": "p"},
            },
            "immutable",
        ),
        (
            {
                "seq": 2,
                "table": "event",
                "op": "I",
                "row": {"event_id": "a", "node": "C1", "payload": "p"},
            },
            "at most 1",
        ),
        ({"seq": 1, "table": "nope", "op": "I", "row": {}}, "'nope' is not a table"),
        ({"seq": 1, "table": "event", "op": "X", "row": {}}, "op: expected one of"),
    ],
)
def test_malformed_changes_are_refused_with_the_place_at_fault(
    pair: Pair, change: dict[str, object], message: str
) -> None:
    body = {"protocol": 1, "source": "C1", "after": 0, "through": 1, "changes": [change]}
    with pytest.raises(BadBatch, match=message) as refused:
        pair.parent.receive(pair.peer(), body)
    assert "changes[0]" in refused.value.message
    assert rows(pair.parent_engine, event) == []


def test_pull_routes_rows_and_never_echoes_a_childs_own_changes(pair: Pair) -> None:
    with write_tx(pair.parent_engine) as conn:
        conn.execute(
            catalog.insert(),
            [
                {"key": 1, "name": "everyone", "price": 1, "active": True, "route": None},
                {"key": 2, "name": "mine", "price": 2, "active": False, "route": "R1"},
                {"key": 3, "name": "other store", "price": 3, "active": True, "route": "R2"},
            ],
        )
    with write_tx(pair.child_engine) as conn:
        conn.execute(shared.insert(), [{"shared_id": "s1", "author": "C1", "text": "from child"}])
    pair.push()
    pair.pull()
    assert [r["name"] for r in rows(pair.child_engine, catalog)] == ["everyone", "mine"]
    assert rows(pair.child_engine, catalog)[1]["active"] is False
    # the child's own row reached the parent but did not come back as a change
    assert pair.parent.changes_for(pair.peer(), 0, 100).changes[-1].table == "catalog"
    assert len(rows(pair.parent_engine, shared)) == 1


def test_pulled_changes_are_not_captured_on_a_leaf_child(pair: Pair) -> None:
    with write_tx(pair.parent_engine) as conn:
        conn.execute(
            catalog.insert(), [{"key": 1, "name": "a", "price": 1, "active": True, "route": None}]
        )
    pair.pull()
    assert pair.child.pending() == 0
    assert pair.child.outgoing(10) is None


def test_initial_load_then_incremental_changes_converge(pair: Pair) -> None:
    with write_tx(pair.parent_engine) as conn:
        conn.execute(
            catalog.insert(),
            [
                {"key": k, "name": f"n{k}", "price": k, "active": True, "route": None}
                for k in range(1, 120)
            ],
        )
        conn.execute(total.insert(), [{"name": "x", "value": 42}])
    start = pair.parent.start_load(pair.peer())
    pair.child.begin_load(start.cursor, start.tables, wire(start.baselines))
    # the parent changes while the child loads; those changes come by pull
    with write_tx(pair.parent_engine) as conn:
        conn.execute(catalog.update().where(catalog.c.key == 5).values(price=500))
        conn.execute(catalog.delete().where(catalog.c.key == 6))
    for table in start.tables:
        key = None
        while True:
            chunk_rows, key, more = pair.parent.load_chunk(pair.peer(), table, key, 50)
            pair.child.apply_chunk(table, wire(chunk_rows), key, more)
            if not more:
                break
    pair.child.finish_load()
    pair.pull()
    assert rows(pair.child_engine, catalog) == rows(pair.parent_engine, catalog)
    assert rows(pair.child_engine, total) == [{"name": "x", "value": 42}]


def test_registration_code_is_spent_once_the_secret_is_used(pair: Pair) -> None:
    with write_tx(pair.parent_engine) as conn:
        code = peers.add_child(conn, "C9", ["R1"])
        _, lost = peers.register(conn, "C9", code)  # the answer never arrived
        _, secret = peers.register(conn, "C9", code)  # so the child asks again
    with read_tx(pair.parent_engine) as conn:
        with pytest.raises(Exception, match="wrong secret"):
            peers.authenticate(conn, "C9", lost)  # the first secret is revoked
        peer = peers.authenticate(conn, "C9", secret)
    pair.parent.changes_for(peer, 0, 10)  # the first use spends the code
    with (
        pytest.raises(Exception, match="no pending registration"),
        write_tx(pair.parent_engine) as conn,
    ):
        peers.register(conn, "C9", code)
    with read_tx(pair.parent_engine) as conn, pytest.raises(Exception, match="wrong secret"):
        peers.authenticate(conn, "C9", "guess")


def test_a_parent_that_lost_purged_changes_is_not_fed_a_partial_history(pair: Pair) -> None:
    from possync.sync import log

    add_events(pair, 5)
    pair.push()
    with write_tx(pair.child_engine) as conn:  # the child purges what was acknowledged
        log.compact(conn, log.head(conn))
    with pytest.raises(OutOfSequence, match="restored from an older copy"):
        pair.child.acknowledged(0)  # the parent says it has nothing (restored database)

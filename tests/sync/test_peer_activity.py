"""What a parent knows about each child for its dashboard, and suspending a child."""

from __future__ import annotations

from pathlib import Path

import pytest

from possync.sync import peers
from possync.sync.clock import utc_in
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import Suspended
from tests.sync.toy import Pair, catalog, wire


@pytest.fixture
def pair(db_url: str, tmp_path: Path) -> Pair:
    return Pair(db_url, f"sqlite:///{tmp_path / 'child.db'}")


def add_catalog(pair: Pair, n: int) -> None:
    with write_tx(pair.parent_engine) as conn:
        conn.execute(
            catalog.insert(),
            [
                {"key": i, "name": f"item {i}", "price": 100, "active": True, "route": "R1"}
                for i in range(n)
            ],
        )


def sent_unacknowledged(pair: Pair) -> int:
    with read_tx(pair.parent_engine) as conn:
        return pair.parent.sent_unacknowledged(conn, pair.peer())


def test_served_changes_count_as_sent_until_the_child_asks_for_more(pair: Pair) -> None:
    add_catalog(pair, 12)
    first = pair.parent.changes_for(pair.peer(), 0, 5, reported_head=3, reported_mode="offline")
    assert len(first.changes) == 5 and first.more
    assert sent_unacknowledged(pair) == 5
    with read_tx(pair.parent_engine) as conn:
        seen = peers.activity(conn)["C1"]
    assert seen["reported_mode"] == "offline"
    assert seen["last_sync_at"] is None  # more is waiting: not in step yet

    pair.child.apply_pulled(wire(first.to_wire()))
    second = pair.parent.changes_for(pair.peer(), first.through, 100, reported_mode="online")
    assert len(second.changes) == 7 and not second.more
    assert sent_unacknowledged(pair) == 7  # the first batch is acknowledged by asking again
    pair.child.apply_pulled(wire(second.to_wire()))
    pair.parent.changes_for(pair.peer(), second.through, 100)
    assert sent_unacknowledged(pair) == 0
    with read_tx(pair.parent_engine) as conn:
        seen = peers.activity(conn)["C1"]
    assert seen["reported_mode"] == "online"
    assert seen["last_sync_at"] is not None


def test_a_suspended_child_is_refused_until_resumed(pair: Pair) -> None:
    add_catalog(pair, 3)
    with write_tx(pair.parent_engine) as conn:
        peers.suspend(conn, "C1", utc_in(600))
    with pytest.raises(Suspended, match="suspended by an administrator") as refused:
        pair.parent.changes_for(pair.peer(), 0, 100)
    assert 590 <= refused.value.details["retry_after"] <= 600
    assert sent_unacknowledged(pair) == 0

    with write_tx(pair.parent_engine) as conn:
        peers.suspend(conn, "C1", None)
    assert pair.pull() == 3


def test_a_suspension_ends_by_itself(pair: Pair) -> None:
    with write_tx(pair.parent_engine) as conn:
        peers.suspend(conn, "C1", utc_in(-1))
    assert pair.pull() == 0  # no error: the suspension is over


def test_suspending_an_unknown_child_says_so(pair: Pair) -> None:
    with write_tx(pair.parent_engine) as conn, pytest.raises(KeyError):
        peers.suspend(conn, "NOPE", utc_in(60))

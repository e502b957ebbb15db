"""What a small periodic exchange costs the parent and the child in connections and
transactions (each is several round trips to PostgreSQL, where a periodic sync's
time went), and that the shortcuts taken for it keep the log's numbering whole."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from possync.sync import log, state
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import OutOfSequence
from tests.sync.toy import Pair, catalog, event, wire


@pytest.fixture
def pair(db_url: str, tmp_path: Path) -> Pair:
    return Pair(db_url, f"sqlite:///{tmp_path / 'child.db'}")


@contextmanager
def counting(engine: sa.Engine) -> Iterator[dict[str, int]]:
    """Connections checked out of the pool and transactions committed meanwhile."""
    seen = {"checkouts": 0, "commits": 0}

    def checkout(*_: object) -> None:
        seen["checkouts"] += 1

    def commit(*_: object) -> None:
        seen["commits"] += 1

    sa_event.listen(engine, "checkout", checkout)
    sa_event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        sa_event.remove(engine, "checkout", checkout)
        sa_event.remove(engine, "commit", commit)


def add_events(pair: Pair, n: int) -> None:
    with write_tx(pair.child_engine) as conn:
        conn.execute(
            event.insert(),
            [{"event_id": str(uuid.uuid4()), "node": "C1", "payload": f"e{i}"} for i in range(n)],
        )


def test_a_pull_takes_one_connection_on_postgresql_and_two_transactions(pair: Pair) -> None:
    add_events(pair, 3)
    pair.push()  # captured on the parent, not numbered yet on PostgreSQL
    peer = pair.peer()
    with counting(pair.parent_engine) as seen:
        batch = pair.parent.changes_for(peer, pair.child.inbound_cursor(), 100)
    assert batch.changes == []  # the child's own changes are not sent back
    with read_tx(pair.parent_engine) as conn:
        assert batch.through == log.head(conn) >= 3  # numbered, and passed over
    if pair.parent_engine.dialect.name == "sqlite":
        # The log is read without the write lock, then the cursor written.
        assert seen == {"checkouts": 2, "commits": 2}
    else:
        # The numbering committed first, then the read and the cursor together.
        assert seen == {"checkouts": 1, "commits": 2}


def test_a_child_records_its_sync_in_the_transaction_of_its_last_pulled_batch(
    pair: Pair,
) -> None:
    with write_tx(pair.parent_engine) as conn:
        conn.execute(
            catalog.insert(), [{"key": 1, "name": "A", "price": 5, "active": True, "route": "R1"}]
        )
    pair.parent.publish()
    calls: list[str] = []

    def caught_up(conn: sa.Connection, parent_id: str) -> None:
        calls.append(parent_id)
        state.put(conn, "synced", str(len(calls)))

    first = pair.parent.changes_for(pair.peer(), pair.child.inbound_cursor(), 100)
    assert len(first.changes) == 1
    pair.child.apply_pulled(wire(first.to_wire()), caught_up)
    assert calls == []  # a batch that applied something: another pull follows
    last = pair.parent.changes_for(pair.peer(), pair.child.inbound_cursor(), 100)
    assert last.changes == [] and not last.more
    with counting(pair.child_engine) as seen:
        pair.child.apply_pulled(wire(last.to_wire()), caught_up)
    assert calls == ["P"]
    assert seen["commits"] == 1  # the cursor and the caller's record together
    with read_tx(pair.child_engine) as conn:
        assert state.get(conn, "synced") == "1"
    assert pair.child.inbound_cursor() == last.through


def test_the_caught_up_record_rolls_back_with_a_refused_batch(pair: Pair) -> None:
    last = pair.parent.changes_for(pair.peer(), pair.child.inbound_cursor(), 100)
    body = wire(last.to_wire())
    body["after"] = body["through"] = last.through + 1  # not where the child stands
    calls: list[str] = []
    with pytest.raises(OutOfSequence, match="stands at"):
        pair.child.apply_pulled(body, lambda _conn, parent_id: calls.append(parent_id))
    assert calls == []


@pytest.mark.postgres
def test_publishing_nothing_takes_no_lock_and_numbering_stays_gapless(
    pg_url: str, tmp_path: Path
) -> None:
    pair = Pair(pg_url, f"sqlite:///{tmp_path / 'child.db'}")
    engine = pair.parent_engine
    with write_tx(engine) as conn:
        log.publish(conn)
        head = log.head(conn)
    # Another publisher holds the lock; a publish with nothing to number does not
    # wait for it (the lock_timeout would fail it if it did).
    holder = engine.connect()
    try:
        holder.execute(sa.text("SELECT 1 FROM sync_publish_head WHERE id = 1 FOR UPDATE"))
        with write_tx(engine) as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            assert log.publish(conn) == 0
        # With changes to number, it waits for the lock, as before.
        with write_tx(engine) as conn:
            conn.execute(
                catalog.insert(),
                [
                    {"key": k, "name": f"n{k}", "price": k, "active": True, "route": "R1"}
                    for k in (1, 2, 3)
                ],
            )
        waiting = pytest.raises(sa.exc.OperationalError, match="lock timeout")
        with waiting, write_tx(engine) as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
            log.publish(conn)
    finally:
        holder.rollback()
        holder.close()
    with write_tx(engine) as conn:
        assert log.publish(conn) == 3
        assert log.publish(conn) == 0
        seqs = conn.execute(sa.text("SELECT seq FROM sync_change ORDER BY capture_id")).scalars()
        numbered = [s for s in seqs if s > head]
        assert numbered == [head + 1, head + 2, head + 3]
        assert log.head(conn) == head + 3
        assert log.bounds(conn) == (head + 3, 0)
    engine.dispose()
    pair.child_engine.dispose()

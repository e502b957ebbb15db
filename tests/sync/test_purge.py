"""The engine's part of a purge: how far the log may go, which rows are still owed,
deletes that do not replicate, numbering that carries on, and space given back."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.sync import log, peers
from possync.sync import purge as engine_purge
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.errors import OutOfSequence
from possync.sync.schema import sync_peer
from tests.sync.toy import SPEC, Pair, catalog, event, make_node, rows


@pytest.fixture
def pair(db_url: str, tmp_path: Path) -> Pair:
    return Pair(db_url, f"sqlite:///{tmp_path / 'child.db'}")


def add_events(engine: sa.Engine, n: int, payload: str = "x") -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    with write_tx(engine) as conn:
        conn.execute(
            event.insert(), [{"event_id": i, "node": "C1", "payload": payload} for i in ids]
        )
    return ids


def add_catalog(engine: sa.Engine, keys: range) -> None:
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(),
            [{"key": k, "name": f"n{k}", "price": k, "active": True, "route": None} for k in keys],
        )


def floor(engine: sa.Engine) -> engine_purge.Floor:
    with read_tx(engine) as conn:
        return engine_purge.compaction_floor(conn)


def owed(engine: sa.Engine, tracker: engine_purge.OwedKeys, table: str) -> set[tuple[object, ...]]:
    with read_tx(engine) as conn:
        tracker.refresh(conn, engine_purge.compaction_floor(conn).seq)
    return tracker.named(table)


def tracker_for(name: str) -> engine_purge.OwedKeys:
    table = SPEC.table(name)
    assert table is not None
    return engine_purge.OwedKeys.for_keys([table])


def head(engine: sa.Engine) -> int:
    with read_tx(engine) as conn:
        return log.head(conn)


def log_size(engine: sa.Engine) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM sync_change")).scalar_one())


def test_a_child_may_forget_what_its_parent_acknowledged_and_keeps_numbering(pair: Pair) -> None:
    ids = add_events(pair.child_engine, 300, payload="x" * 300)
    assert floor(pair.child_engine) == engine_purge.Floor(0, "P")
    tracker = tracker_for("event")
    assert owed(pair.child_engine, tracker, "event") == {(i,) for i in ids}

    pair.push(limit=40)
    assert floor(pair.child_engine) == engine_purge.Floor(300, "P")
    assert owed(pair.child_engine, tracker, "event") == set()
    forgotten, reached = engine_purge.compact_log(pair.child_engine, step=70)
    assert (forgotten, reached.seq) == (300, 300)
    assert log_size(pair.child_engine) == 0
    assert engine_purge.reclaim_space(pair.child_engine)

    # SQLite's sqlite_sequence keeps the highest number, through VACUUM too: new
    # changes continue after it, so the parent's cursor stays meaningful.
    later = add_events(pair.child_engine, 2)
    assert head(pair.child_engine) == 302
    assert pair.child.pending() == 2
    assert owed(pair.child_engine, tracker, "event") == {(i,) for i in later}
    pair.push()
    assert len(rows(pair.parent_engine, event)) == 302


def test_owed_keys_start_again_when_the_acknowledgement_goes_back(pair: Pair) -> None:
    ids = add_events(pair.child_engine, 3)
    tracker = tracker_for("event")
    pair.push()
    assert owed(pair.child_engine, tracker, "event") == set()
    # The parent was restored from an older copy and asks again from 1.
    pair.child.acknowledged(1)
    assert owed(pair.child_engine, tracker, "event") == {(i,) for i in ids[1:]}


def test_a_parents_floor_is_its_slowest_registered_enabled_reader(
    pair: Pair, tmp_path: Path
) -> None:
    parent = pair.parent_engine
    add_catalog(parent, range(1, 21))
    assert floor(parent) == engine_purge.Floor(0, "C1")  # C1 has acknowledged nothing
    pair.pull(limit=100)
    pair.pull(limit=100)  # asking once more acknowledges the last batch
    top = head(parent)
    assert floor(parent) == engine_purge.Floor(top, "C1")

    with write_tx(parent) as conn:
        peers.add_child(conn, "C2", ["R1"])  # code issued, never registered: left out
        code = peers.add_child(conn, "C3", ["R1"])
        peers.register(conn, "C3", code)  # registered, at 0 until its initial load
    assert floor(parent) == engine_purge.Floor(0, "C3")
    with write_tx(parent) as conn:  # disabled: left out (refused if it comes back behind)
        conn.execute(sync_peer.update().where(sync_peer.c.node_id == "C3").values(enabled=False))
    assert floor(parent).seq == top

    # With a head office above it, the store keeps what head office has not taken.
    with write_tx(parent) as conn:
        peers.set_parent(conn, "HO", "http://ho", "secret", ["P"])
        peers.set_outbound_seq(conn, "HO", 5, pulled=False)
    assert floor(parent) == engine_purge.Floor(5, "HO")


def test_a_node_nobody_reads_may_forget_its_whole_log(tmp_path: Path) -> None:
    lone = make_node(f"sqlite:///{tmp_path / 'lone.db'}", "L")
    add_catalog(lone, range(1, 4))
    assert floor(lone) == engine_purge.Floor(3, None)


def test_purge_deletes_are_not_captured(pair: Pair) -> None:
    parent = pair.parent_engine
    add_catalog(parent, range(1, 6))
    pair.parent.publish()
    before = head(parent)
    with write_tx(parent) as conn:
        assert engine_purge.delete_rows(conn, catalog, catalog.c.key <= 3) == 3
    pair.parent.publish()
    assert head(parent) == before
    with write_tx(parent) as conn:  # capture is back on after the purge
        conn.execute(catalog.delete().where(catalog.c.key == 4))
    pair.parent.publish()
    assert head(parent) == before + 1


def test_a_pull_from_behind_the_compacted_point_is_refused_with_what_to_do(pair: Pair) -> None:
    parent = pair.parent_engine
    add_catalog(parent, range(1, 11))
    pair.pull()
    pair.pull()
    forgotten, reached = engine_purge.compact_log(parent)
    assert forgotten == 10 and reached.seq == 10 and log_size(parent) == 0
    add_catalog(parent, range(11, 13))
    pair.parent.publish()
    assert head(parent) == 12  # numbering carries on after compaction
    assert pair.pull() == 2

    with pytest.raises(OutOfSequence, match="must be provisioned again") as refused:
        pair.parent.changes_for(pair.peer(), 3, 100)  # e.g. a child restored from a backup
    assert refused.value.details == {"expected_after": 10}


def test_dry_run_counts_what_compaction_would_forget(pair: Pair) -> None:
    parent = pair.parent_engine
    add_catalog(parent, range(1, 8))
    pair.pull()
    pair.pull()
    add_catalog(parent, range(8, 10))
    pair.parent.publish()
    with read_tx(parent) as conn:
        assert engine_purge.compactable_entries(conn) == 7
    assert engine_purge.compact_log(parent)[0] == 7
    assert log_size(parent) == 2


@pytest.mark.postgres
def test_committed_but_unpublished_changes_are_owed(pg_url: str, tmp_path: Path) -> None:
    pair = Pair(pg_url, f"sqlite:///{tmp_path / 'child.db'}")
    parent = pair.parent_engine
    tracker = tracker_for("catalog")
    add_catalog(parent, range(1, 4))  # committed, not yet numbered by the publisher
    assert owed(parent, tracker, "catalog") == {(1,), (2,), (3,)}
    assert engine_purge.compact_log(parent)[0] == 0  # nothing numbered, nothing forgotten


def test_reclaim_space_shrinks_an_sqlite_file_only_when_worth_it(tmp_path: Path) -> None:
    engine = make_node(f"sqlite:///{tmp_path / 'node.db'}", "N")
    with write_tx(engine) as conn:
        conn.execute(
            event.insert(),
            [{"event_id": str(i), "node": "N", "payload": "x" * 500} for i in range(5000)],
        )
    assert not engine_purge.reclaim_space(engine)  # nothing free yet
    with write_tx(engine) as conn:
        engine_purge.delete_rows(conn, event, sa.true())
        conn.execute(sa.text("DELETE FROM sync_change"))
    before = engine_purge.database_bytes(engine)
    assert not engine_purge.reclaim_space(engine, min_free=1.1)  # below the threshold
    assert engine_purge.reclaim_space(engine, min_free=0.5)
    after = engine_purge.database_bytes(engine)
    assert before is not None and after is not None and after < before / 5


@pytest.mark.postgres
def test_reclaim_space_leaves_postgresql_to_autovacuum(pg_url: str) -> None:
    engine = open_engine(pg_url)
    assert engine_purge.reclaim_space(engine) is False
    size = engine_purge.database_bytes(engine)
    assert size is not None and size > 0

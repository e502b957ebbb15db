"""The classic gap bug of trigger-based replication, provoked on PostgreSQL.

Transaction A captures a change first (capture_id 1) but commits last; B captures
second (capture_id 2) and commits first. A reader that handed out B's change and
moved its cursor past it by capture order would never see A's change. Our
publisher numbers changes only once they are committed, so nothing is missed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.sync.db import open_engine
from tests.sync.toy import Pair, catalog, rows

pytestmark = pytest.mark.postgres


def test_a_change_committed_late_is_not_skipped(pg_url: str, tmp_path: Path) -> None:
    pair = Pair(pg_url, f"sqlite:///{tmp_path / 'child.db'}")
    other = open_engine(pg_url)
    row = {"name": "x", "price": 1, "active": True, "route": None}

    slow = other.connect()
    slow_tx = slow.begin()
    slow.execute(catalog.insert(), [{**row, "key": 1, "name": "slow"}])  # captured first
    with other.begin() as fast:
        fast.execute(catalog.insert(), [{**row, "key": 2, "name": "fast"}])  # commits first

    assert pair.pull() == 1  # only the committed change is visible
    assert [r["name"] for r in rows(pair.child_engine, catalog)] == ["fast"]

    slow_tx.commit()  # the change captured first becomes visible last
    slow.close()

    assert pair.pull() == 1
    assert [r["name"] for r in rows(pair.child_engine, catalog)] == ["slow", "fast"]

    with other.connect() as conn:
        numbers = conn.execute(
            sa.text("SELECT row_data::json->>'name', capture_id, seq FROM sync_change")
        ).all()
    captured = {name: capture_id for name, capture_id, _ in numbers}
    published = {name: seq for name, _, seq in numbers}
    # The interleaving really happened: a reader ordering by capture and already
    # past "fast" would have skipped "slow" for ever.
    assert captured["slow"] < captured["fast"]
    assert published["slow"] > published["fast"]
    other.dispose()


def test_concurrent_writers_lose_nothing(pg_url: str, tmp_path: Path) -> None:
    """Many interleaved transactions, pulls in between: the child gets them all."""
    import threading

    pair = Pair(pg_url, f"sqlite:///{tmp_path / 'child.db'}")
    writers = open_engine(pg_url, pool_size=8)
    row = {"name": "x", "price": 1, "active": True, "route": None}
    errors: list[BaseException] = []

    def write(start: int) -> None:
        try:
            for k in range(start, start + 200):
                with writers.begin() as conn:
                    conn.execute(catalog.insert(), [{**row, "key": k}])
                    conn.execute(sa.text("SELECT pg_sleep(0.0005)"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i * 1000,)) for i in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        pair.pull(limit=37)
    for t in threads:
        t.join()
    pair.pull()
    assert not errors
    assert len(rows(pair.child_engine, catalog)) == 800
    writers.dispose()

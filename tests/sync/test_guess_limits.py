"""The counting under every guessing limit (possync/sync/guess_limits.py): rows made
and locked on demand, increments that never get lost between threads, on SQLite
and PostgreSQL, and the clean-up of what is quiet."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from possync.sync import guess_limits
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.schema import guess_limit


def engine_for(db_url: str) -> sa.Engine:
    engine = open_engine(db_url)
    with write_tx(engine) as conn:
        guess_limit.create(conn, checkfirst=True)
    return engine


def test_locked_rows_count_every_attempt_of_racing_threads(db_url: str) -> None:
    engine = engine_for(db_url)
    start = threading.Barrier(20)

    def attempt() -> None:
        start.wait()
        for _ in range(5):
            with write_tx(engine) as conn:
                # two keys, given in either order: locked sorted, so no deadlock
                rows = guess_limits.locked(conn, "test", ["b", "a"])
                for row in rows.values():
                    row.failures += 1
                    guess_limits.save(conn, row)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with read_tx(engine) as conn:
        counts = dict(conn.execute(sa.select(guess_limit.c.key, guess_limit.c.failures)).all())
    assert counts == {"a": 100, "b": 100}  # not one increment lost
    engine.dispose()


def test_prune_forgets_quiet_rows_that_are_not_locked(db_url: str) -> None:
    engine = engine_for(db_url)
    now = 10_000.0
    with write_tx(engine) as conn:
        rows = guess_limits.locked(conn, "test", ["quiet", "recent", "locked"])
        rows["quiet"].last_at = now - 2 * guess_limits.DAY
        rows["recent"].last_at = now - 60
        rows["locked"].last_at, rows["locked"].locked_until = now - 2 * guess_limits.DAY, now + 1
        for row in rows.values():
            guess_limits.save(conn, row)
        guess_limits.locked(conn, "other", ["quiet"])  # another scope: untouched
        assert guess_limits.prune(conn, "test", now - guess_limits.DAY, now) == 1
    with read_tx(engine) as conn:
        left = conn.execute(sa.select(guess_limit.c.scope, guess_limit.c.key)).all()
    assert sorted(tuple(r) for r in left) == [
        ("other", "quiet"),
        ("test", "locked"),
        ("test", "recent"),
    ]
    engine.dispose()


def test_long_keys_keep_apart_within_the_column() -> None:
    one, two = guess_limits.key_of("a" * 300, "x"), guess_limits.key_of("a" * 300, "y")
    assert one != two and len(one) <= guess_limits.MAX_KEY and len(two) <= guess_limits.MAX_KEY

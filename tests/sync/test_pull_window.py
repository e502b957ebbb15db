"""A pull's window of the log: sent in the wire form the database builds, and read
in seq order by the seq index on PostgreSQL whatever its statistics say."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from possync.sync import log
from possync.sync.db import read_tx, write_tx
from possync.sync.log import LogFilter
from tests.sync.toy import Pair, catalog, rows

AWKWARD = ['say "hi"', "back\\slash", "line\nbreak\ttab", "ünïcødé €", "emoji 🧾", "", "'"]


def _filled(parent_url: str, tmp_path: Path, count: int) -> Pair:
    pair = Pair(parent_url, f"sqlite:///{tmp_path / 'child.db'}")
    with write_tx(pair.parent_engine) as conn:
        conn.execute(
            catalog.insert(),
            [
                {
                    "key": i,
                    "name": AWKWARD[i % len(AWKWARD)],
                    "price": i * 10,
                    "active": i % 2 == 0,
                    "route": "R1" if i % 3 else "R2",  # a third of them on another route
                }
                for i in range(count)
            ],
        )
    pair.parent.publish()
    return pair


def test_the_encoded_window_is_the_window(db_url: str, tmp_path: Path) -> None:
    """Byte for byte what the reader would have sent change by change: the same
    changes, the same values (awkward text included), the same end."""
    pair = _filled(db_url, tmp_path, 300)
    filt = LogFilter(tables=("catalog",), exclude_origin="C1", route_keys=("R1",))
    with read_tx(pair.parent_engine) as conn:
        head = log.head(conn)
        for after, limit in ((0, 50), (0, 1000), (head - 10, 50), (head, 50)):
            encoded, through, more = log.window(conn, filt, "C1", after, limit, raw=True)
            plain, plain_through, plain_more = log.window(conn, filt, "C1", after, limit, raw=False)
            assert orjson.loads(orjson.dumps({"c": orjson.Fragment(encoded.json)}))["c"] == [
                c.to_wire() for c in plain
            ]
            assert (len(encoded), through, more) == (len(plain), plain_through, plain_more)
            assert list(encoded) == list(plain)  # read as a sequence, it decodes
    assert len(plain) == 0 and through == head  # the last window: nothing after the head


def test_a_child_pulls_it_intact(db_url: str, tmp_path: Path) -> None:
    pair = _filled(db_url, tmp_path, 200)
    assert pair.pull(limit=64) == 133  # the rows of its route
    pulled = rows(pair.child_engine, catalog)
    with read_tx(pair.parent_engine) as conn:
        expected = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(catalog).where(catalog.c.route == "R1").order_by(catalog.c.key)
            )
        ]
    assert pulled == expected


@pytest.mark.postgres
def test_postgres_reads_the_window_in_seq_order_by_the_index(pg_url: str, tmp_path: Path) -> None:
    """On a log its statistics know nothing of (filled, never analysed), the planner
    took a bitmap scan of the whole rest of the log and a sort, for every batch."""
    pair = _filled(pg_url, tmp_path, 20_000)
    filt = LogFilter(tables=("catalog",), exclude_origin="C1", route_keys=("R1",))
    stmt, params = log.encoded_statement(pair.parent_engine.connect(), filt)
    explain = sa.text(f"EXPLAIN {stmt.text}").bindparams(*stmt._bindparams.values())
    args = {**params, "after": 0, "through": 20_000, "limit": 5_000}

    def plan(reading: bool) -> str:
        with read_tx(pair.parent_engine) as conn:
            log.bounds(conn, reading=reading)
            return "\n".join(r[0] for r in conn.execute(explain, args))

    assert "Bitmap" in plan(reading=False)  # the case this guards against, reproduced
    read = plan(reading=True)
    assert "Index Scan using sync_change_seq_key" in read
    assert "Bitmap" not in read and "Seq Scan" not in read

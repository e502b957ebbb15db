"""The store's own work on pushed batches, in this process: ``Parent.receive`` of
10,000-change batches (1,250 receipts of 3 lines, 1 payment; ``--batch``), timed per batch (wall
and this thread's CPU), optionally under py-spy or cProfile. No HTTP: this is the
part of a whole sync that one store core spends per batch, to work on it quickly.

The setup (a store of 50,000 items, till T02 loaded over HTTP, its sales, the
pushed bodies) is slow, so for a SQLite store it is kept in ``--cache`` and reused
(the store's file copied afresh for each run); a PostgreSQL store is set up again
every time.

    python bench/receive_cpu.py                       # SQLite store, 10,000 receipts
    python bench/receive_cpu.py --cprofile 40         # the 40 largest own times
    python bench/receive_cpu.py --store postgres
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import sqlalchemy as sa
from fixtures import bench_store

from possync.retail import integrity
from possync.retail.policy import admission
from possync.retail.replication import SPEC
from possync.sync import peers
from possync.sync.db import open_engine, read_tx
from possync.sync.parent import Parent

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TILL = "T02"


def prepare(kind: str, workdir: Path, receipts: int, size: int) -> tuple[list[bytes], object]:
    """Bodies the till would push; the store (a context manager) to apply them to."""
    store_cm = bench_store(kind, workdir, PG_URL, 50_000)
    store = store_cm.__enter__()
    terminal = store.till_with_sales(TILL, receipts)
    bodies: list[bytes] = []
    after = None
    while (batch := terminal.child.outgoing(size, after=after)) is not None:
        bodies.append(orjson.dumps(batch.to_wire()))
        after = batch.through
    terminal.close()
    return bodies, (store_cm, store)


def run(
    url: str, bodies: list[bytes], profile: cProfile.Profile | None
) -> list[tuple[float, float]]:
    engine = open_engine(url)
    parent = Parent(engine, SPEC, "S01", admission=admission, guard=integrity.guard)
    with read_tx(engine) as conn:
        peer = peers.get(conn, TILL)
    assert peer is not None
    times = []
    for body in bodies:
        wall, cpu = time.perf_counter(), time.thread_time()
        if profile:
            profile.enable()
        parent.receive(peer, orjson.loads(body))
        if profile:
            profile.disable()
        times.append((time.perf_counter() - wall, time.thread_time() - cpu))
    with read_tx(engine) as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM receipt")).scalar_one()
    engine.dispose()
    print(f"receipts on the store: {count}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10_000, help="changes per batch")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "possync-receive-cpu"
    )
    parser.add_argument("--cprofile", type=int, metavar="N", help="print the N largest own times")
    args = parser.parse_args()

    profile = cProfile.Profile(time.thread_time) if args.cprofile else None
    cached = args.cache / f"{args.receipts}-{args.batch}"
    if args.store == "sqlite":
        if not (cached / "store.db").exists():
            shutil.rmtree(cached, ignore_errors=True)
            bodies, (store_cm, _) = prepare("sqlite", cached / "setup", args.receipts, args.batch)
            store_cm.__exit__(None, None, None)
            shutil.copy(cached / "setup" / "store.db", cached / "store.db")
            (cached / "bodies.json").write_bytes(orjson.dumps([b.decode() for b in bodies]))
        bodies = [b.encode() for b in orjson.loads((cached / "bodies.json").read_bytes())]
        work = Path(tempfile.mkdtemp(prefix="receive-cpu-"))
        shutil.copy(cached / "store.db", work / "store.db")
        times = run(f"sqlite:///{work / 'store.db'}", bodies, profile)
        shutil.rmtree(work)
    else:
        work = Path(tempfile.mkdtemp(prefix="receive-cpu-"))
        bodies, (store_cm, store) = prepare("postgres", work, args.receipts, args.batch)
        try:
            times = run(store.url, bodies, profile)  # type: ignore[attr-defined]
        finally:
            store_cm.__exit__(None, None, None)
            shutil.rmtree(work)
    walls = [w * 1000 for w, _ in times]
    cpus = [c * 1000 for _, c in times]
    print(
        f"{len(times)} batches of {args.batch:,} changes, per batch: wall median "
        f"{statistics.median(walls):.1f} ms (min {min(walls):.1f}), "
        f"CPU median {statistics.median(cpus):.1f} ms (min {min(cpus):.1f})"
    )
    if profile:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()

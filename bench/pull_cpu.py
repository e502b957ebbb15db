"""The store's own work on pulls, in this process: ``Parent.changes_for`` and the
encoding of its answer (what the pull route does), per batch, wall and this
thread's CPU. No HTTP. This is what every till of a store costs the store when it
catches up on a stretch of the log: the other tills' stock movements after a busy
hour (bench/many_tills.py: 50 tills pulled 30,000 movements each), or a price
change of the whole catalog.

Setup (not timed): a store of 2,000 items; till T01's ``receipts`` sales applied
in process (their stock movements flow down to the other tills); till T02
registered in process, with nothing pulled yet. Timed: T02's pull of the whole log
in batches of ``--limit``, ``--rounds`` times.

    python bench/pull_cpu.py                      # PostgreSQL store
    python bench/pull_cpu.py --store sqlite --cprofile 30
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
from fixtures import bench_store

from possync.retail import integrity
from possync.retail.policy import admission
from possync.retail.replication import SPEC
from possync.sync import peers
from possync.sync.db import read_tx
from possync.sync.parent import Parent

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=5_000, help="changes per pull")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cprofile", type=int, metavar="N", help="print the N largest own times")
    args = parser.parse_args()
    profile = cProfile.Profile(time.thread_time) if args.cprofile else None

    with (
        tempfile.TemporaryDirectory(prefix="pull-cpu-") as tmp,
        bench_store(args.store, Path(tmp), PG_URL, 2_000) as store,
    ):
        parent = Parent(store.engine, SPEC, "S01", admission=admission, guard=integrity.guard)
        seller = store.till_with_sales("T01", args.receipts)
        with read_tx(store.engine) as conn:
            sender = peers.get(conn, "T01")
        assert sender is not None
        after = None
        while (batch := seller.child.outgoing(10_000, after=after)) is not None:
            parent.receive(sender, orjson.loads(orjson.dumps(batch.to_wire())))
            after = batch.through
        seller.close()
        store.add_terminals(["T02"])
        reader, _ = parent.register("T02", store.codes["T02"])
        parent.publish()

        times: list[tuple[float, float]] = []
        pulled = 0
        for _ in range(args.rounds):
            after, pulled, more = 0, 0, True
            while more:
                wall, cpu = time.perf_counter(), time.thread_time()
                if profile:
                    profile.enable()
                batch = parent.changes_for(reader, after, args.limit)
                body = orjson.dumps(batch.to_wire())
                if profile:
                    profile.disable()
                times.append((time.perf_counter() - wall, time.thread_time() - cpu))
                pulled += len(batch.changes)
                after, more = batch.through, batch.more
        walls = [w * 1000 for w, _ in times]
        cpus = [c * 1000 for _, c in times]
        per = len(times) // args.rounds
        print(
            f"{args.store}: {pulled:,} changes pulled in {per} batches of up to {args.limit:,}"
            f" ({len(body):,} bytes in the last), {args.rounds} rounds; per batch: wall "
            f"median {statistics.median(walls):.1f} ms, CPU median {statistics.median(cpus):.1f} "
            f"ms; per change: {sum(walls) * 1000 / (pulled * args.rounds):.2f} µs wall, "
            f"{sum(cpus) * 1000 / (pulled * args.rounds):.2f} µs CPU"
        )
    if profile:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()

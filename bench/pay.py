"""The cashier's pay and the core ``record_sale``, on a till with a 50,000-item
catalog (set up from an offline backup, as bench/bench_scan.py does).

pay          ``POST /basket/pay`` of a 3-line basket in cash, on a real ``possync
             pos run`` process, offline: the server's own time (its
             ``Server-Timing`` header) and the round trip (bench_scan.run).
record_sale  in this process, one sale at a time: ``write_tx`` + ``record_sale``
             of 3 random items by SKU and one cash payment, the commit (fsync:
             WAL, synchronous=FULL) included; the commit also on its own.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_scan
from fixtures import loadavg, percentile

from possync.retail import sales
from possync.sync.db import write_tx
from possync.terminal.local import Terminal


def cashier_pay(items: int, pays: int) -> dict[str, Any]:
    args = argparse.Namespace(
        items=items, scans=100, basket=20, warmup=20, searches=5, sales=pays, seed=5
    )
    load = loadavg()
    results = bench_scan.run(args)
    return {"load_before": load, **results["pay (3 lines, cash)"]}


def record_sale(items: int, count: int, warmup: int = 50) -> dict[str, Any]:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="possync-bench-sale-") as tmp:
        terminal = Terminal.open(bench_scan.setup(Path(tmp), items))
        till = terminal.till()
        total, commit = [], []
        load = loadavg()
        for i in range(warmup + count):
            lines = [sales.LineRequest(f"SKU{rng.randint(1, items)}", 1) for _ in range(3)]
            start = time.perf_counter()
            with write_tx(terminal.engine) as conn:
                sales.record_sale(conn, till, lines, [sales.PaymentRequest("CASH")])
                before_commit = time.perf_counter()
            end = time.perf_counter()
            if i >= warmup:
                total.append((end - start) * 1000)
                commit.append((end - before_commit) * 1000)
        terminal.close()
    return {
        "n": count,
        "median_ms": round(statistics.median(total), 3),
        "p95_ms": round(percentile(total, 95), 3),
        "commit_median_ms": round(statistics.median(commit), 3),
        "load_before": load,
    }

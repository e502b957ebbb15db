"""The store's peak memory under concurrent big pushes.

Setup (not timed): a store with ``tills`` terminals, each holding enough unsynced
sales for one push body of about ``mib`` MiB (the largest the store takes is 32
MiB). Sales of ``LINES`` lines and one cash payment: the same bytes in ten times
fewer sales than of 3 lines, so the setup takes minutes, not most of an hour. A
fresh store server (one process).

Measured: all tills push their whole backlog as ONE batch each, at the same time
(threads, one connection each; the batches are the real ``Child.outgoing`` and
``SyncClient.push``). The store server's peak RSS (VmHWM) before and after, each
push's time and outcome. Checked afterwards: every receipt on the store once.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from fixtures import bench_store, captured_from, loadavg, receipts_on_store, vm_kib

from possync.retail import sales
from possync.sync.db import write_tx
from possync.terminal.local import Terminal

SAMPLE = 50  # receipts sold first, to learn the bytes per receipt
LINES = 30


def _sell(terminal: Terminal, count: int, items: int, seed: int) -> None:
    rng = random.Random(seed)
    till = terminal.till()
    with write_tx(terminal.engine) as conn:
        for _ in range(count):
            picked = rng.sample(range(1, items + 1), LINES)
            lines = [sales.LineRequest(f"SKU{i:06d}", 1) for i in picked]
            sales.record_sale(conn, till, lines, [sales.PaymentRequest("CASH")])


def _push_all(terminal: Terminal, url: str) -> tuple[float, int, str | None]:
    batch = terminal.child.outgoing(100_000_000)
    assert batch is not None
    start = time.perf_counter()
    try:
        with terminal.client(url, timeout=600) as client:
            acknowledged = client.push(batch)
        terminal.child.acknowledged(acknowledged)
        error = None
    except Exception as exc:  # reported in the results
        error = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - start, len(batch.changes), error


def concurrent_pushes(
    kind: str, workdir: Path, pg_url: str, items: int, tills: int, mib: float
) -> dict[str, Any]:
    ids = [f"T{i:02d}" for i in range(1, tills + 1)]
    with bench_store(kind, workdir, pg_url, items) as store:
        store.add_terminals(ids)
        server = store.server("memory-setup")
        terminals = []
        try:
            terminals += [store.provision(server.url, t) for t in ids]
        finally:
            server.stop()
        _sell(terminals[0], SAMPLE, items, seed=20)
        sample = terminals[0].child.outgoing(100_000_000)
        assert sample is not None
        per_receipt = len(orjson.dumps(sample.to_wire())) / SAMPLE
        receipts = int(mib * 1024 * 1024 / per_receipt)
        _sell(terminals[0], receipts - SAMPLE, items, seed=21)
        for i, terminal in enumerate(terminals[1:]):
            _sell(terminal, receipts, items, seed=22 + i)
        body = len(orjson.dumps(terminals[0].child.outgoing(100_000_000).to_wire()))  # type: ignore[union-attr]

        server = store.server("memory")
        try:
            assert server.proc is not None
            idle = vm_kib(server.proc.pid, "VmHWM")
            load = loadavg()
            start = time.perf_counter()
            with ThreadPoolExecutor(tills) as pool:
                pushes = list(pool.map(lambda t: _push_all(t, server.url), terminals))
            wall = time.perf_counter() - start
            peak = vm_kib(server.proc.pid, "VmHWM")
        finally:
            server.stop()
        for terminal in terminals:
            terminal.close()
        complete = all(
            receipts_on_store(store, t)["receipts"] == receipts
            and captured_from(store, t) == receipts * (2 + 2 * LINES)
            for t, (_, _, error) in zip(ids, pushes, strict=True)
            if error is None
        )
    return {
        "store": kind,
        "tills": tills,
        "receipts_each": receipts,
        "body_mib": round(body / 1024 / 1024, 1),
        "store_rss_idle_mib": round(idle / 1024, 1) if idle else None,
        "store_peak_rss_mib": round(peak / 1024, 1) if peak else None,
        "wall_seconds": round(wall, 2),
        "push_seconds": sorted(round(s, 2) for s, _, _ in pushes),
        "errors": [e for _, _, e in pushes if e],
        "exactly_once": complete,
        "load_before": load,
    }

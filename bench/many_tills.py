"""Many tills syncing at once into one PostgreSQL store served by several workers.

Setup (not timed): a PostgreSQL store with a small catalog, ``tills`` terminals
(plus one more for the single-till figure) registered and loaded over HTTP, each
holding ``receipts`` unsynced sales. A store server with ``workers`` processes.

Timed: first one till alone (its own process, same server): its whole sync. Then
every till in its own process (bench/till_process.py: the real ``syncer.sync``),
started together by a go file: the wall time from the go to the last till done
gives the aggregate receipts/s; each till's own sync time gives p50/p99. The same
for the pushes alone (from the go to each till's last acknowledgement), and the
changes each till pulled: every till receives the stock movements of all the
others (stock replicates as movements), so 50 tills of 200 receipts pull 30,000
each, 1.5 million in all, against 10,000 receipts pushed. Errors
are whatever reached a till. Checked afterwards, per till: its receipts, lines
and movements on the store once each, and the store's captured changes from it
(one per applied row: a batch applied twice would show).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fixtures import (
    CHANGES_PER_RECEIPT,
    LINES_PER_RECEIPT,
    BenchStore,
    bench_store,
    captured_from,
    loadavg,
    receipts_on_store,
    sell,
    summary_ms,
)


def summary_count(values: list[int]) -> dict[str, int]:
    ordered = sorted(values)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}


SCRIPT = Path(__file__).with_name("till_process.py")


def _run_tills(store: BenchStore, url: str, ids: list[str], tag: str) -> list[dict[str, Any]]:
    runs = store.workdir / f"runs-{tag}"
    runs.mkdir()
    go = runs / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), str(store.workdir / t), url, str(go), str(runs / t)]
        )
        for t in ids
    ]
    try:
        deadline = time.monotonic() + 300
        while not all((runs / f"{t}.ready").exists() for t in ids):
            if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in procs):
                raise RuntimeError("a till process did not get ready")
            time.sleep(0.05)
        go_at = time.monotonic()
        go.write_text("")
        for p in procs:
            p.wait(600)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    results = []
    for t in ids:
        out = runs / t
        result = json.loads(out.read_text()) if out.exists() else {"error": "no result"}
        results.append({"till": t, "go": go_at, **result})
    return results


def many_tills(
    workdir: Path, pg_url: str, items: int, tills: int, receipts: int, workers: int
) -> dict[str, Any]:
    ids = [f"T{i:02d}" for i in range(1, tills + 1)]
    alone = "T99"
    with bench_store("postgres", workdir, pg_url, items) as store:
        store.add_terminals([*ids, alone])
        server = store.server(f"tills-{workers}", workers=workers)
        try:
            for i, t in enumerate([*ids, alone]):
                terminal = store.provision(server.url, t)
                sell(terminal, receipts, items, seed=10 + i)
                terminal.close()
            load_single = loadavg()
            single = _run_tills(store, server.url, [alone], "single")[0]
            load_many = loadavg()
            results = _run_tills(store, server.url, ids, "many")
        finally:
            server.stop()
        errors = [r for r in [*results, single] if "error" in r]
        ok = [r for r in results if "error" not in r]
        wall = max(r["end"] for r in ok) - results[0]["go"] if ok else None
        # The pushes alone: from the go to the last till's last acknowledgement.
        pushes = [r["pushed_at"] - r["go"] for r in ok if "pushed_at" in r]
        push_wall = max(pushes) if pushes else None
        single_s = single["end"] - single["start"] if "error" not in single else None
        wrong = []
        for t in [*ids, alone]:
            counts = receipts_on_store(store, t)
            expected = {
                "receipts": receipts,
                "lines": receipts * LINES_PER_RECEIPT,
                "movements": receipts * LINES_PER_RECEIPT,
            }
            captured = captured_from(store, t)
            if counts != expected or captured != receipts * CHANGES_PER_RECEIPT:
                wrong.append({"till": t, **counts, "captured": captured})
    return {
        "tills": tills,
        "receipts_each": receipts,
        "workers": workers,
        "single_seconds": round(single_s, 3) if single_s else None,
        "single_receipts_per_s": round(receipts / single_s, 1) if single_s else None,
        "wall_seconds": round(wall, 3) if wall else None,
        "aggregate_receipts_per_s": round(len(ok) * receipts / wall, 1) if wall else None,
        "per_sync": summary_ms([r["end"] - r["start"] for r in ok]) if ok else None,
        "push_wall_seconds": round(push_wall, 3) if push_wall else None,
        "push_receipts_per_s": round(len(ok) * receipts / push_wall, 1) if push_wall else None,
        "per_push": summary_ms(pushes) if pushes else None,
        "pulled_per_till": summary_count([r.get("pulled", 0) for r in ok]) if ok else None,
        "errors": len(errors),
        "error_samples": [e["error"] for e in errors[:3]],
        "exactly_once": not wrong,
        "exactly_once_failures": wrong[:5],
        "load_before_single": load_single,
        "load_before_many": load_many,
    }

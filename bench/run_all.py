"""Every benchmark of issue 13 in one command, with the peer's figures from the same
run, a table of the results against the targets, and the raw results as JSON.

    .venv/bin/python bench/run_all.py --quick            # a few minutes
    .venv/bin/python bench/run_all.py --full             # the figures of docs/benchmarks.md
    .venv/bin/python bench/run_all.py --full --only whole,periodic --json out.json

Parts (``--only``): peer, whole, periodic, prices, tills, memory, pay. What each times is
in its module's docstring (whole_sync.py, many_tills.py, memory.py, pay.py,
peer.py) and in docs/benchmarks.md. Needs PostgreSQL (``--pg-url``) and, for the
peer, node and npm.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import many_tills
import memory
import pay
import peer
import whole_sync
from bench_sync import PG_ADMIN_URL, machine
from fixtures import loadavg
from rich.console import Console
from rich.table import Table

console = Console(width=140)
PARTS = ("peer", "whole", "periodic", "prices", "tills", "memory", "pay")
SIZES = {
    "quick": {
        "receipts": 5_000, "items": 10_000, "periodic": 100, "tills": 20, "till_receipts": 100,
        "memory_tills": 10, "memory_mib": 8.0, "pays": 100, "sales": 300,
    },
    "full": {
        "receipts": 20_000, "items": 50_000, "periodic": 300, "tills": 50, "till_receipts": 200,
        "memory_tills": 10, "memory_mib": 31.5, "pays": 200, "sales": 500,
    },
}  # fmt: skip
PER_REQUEST = 100 * 8  # 100 receipts per request, PouchDB's default batch: 800 changes


def run(args: argparse.Namespace, size: dict[str, Any], work: Path) -> dict[str, Any]:
    only = set(args.only.split(",")) if args.only else set(PARTS)
    out: dict[str, Any] = {}

    def step(name: str, fn: Any, *a: Any) -> Any:
        console.print(f"[bold]{name}[/] (load {loadavg():.2f}) ...")
        started = time.perf_counter()
        result = fn(*a)
        console.print(f"  done in {time.perf_counter() - started:.0f} s: {result}")
        return result

    if "peer" in only:
        peers = peer.prepare(args.peers, args.peer_cache)
        out["peer"] = step("peer", peer.run_peers, peers, size["receipts"])
    for kind in args.stores.split(","):
        if "whole" in only:
            for batch in (whole_sync.syncer.PUSH_BATCH, PER_REQUEST):
                out[f"whole_{kind}_{batch}"] = step(
                    f"whole sync, {kind}, {batch} changes per request",
                    whole_sync.whole_sync,
                    kind, work / f"whole-{kind}-{batch}", args.pg_url,
                    size["items"], size["receipts"], batch,
                )  # fmt: skip
        if "periodic" in only:
            out[f"periodic_{kind}"] = step(
                f"periodic sync, {kind}",
                whole_sync.periodic_sync,
                kind, work / f"periodic-{kind}", args.pg_url, size["items"], size["periodic"], 200,
            )  # fmt: skip
        if "prices" in only:
            out[f"prices_{kind}"] = step(
                f"price change of the whole catalog pulled by a till, {kind}",
                whole_sync.price_change,
                kind, work / f"prices-{kind}", args.pg_url, size["items"],
            )  # fmt: skip
    if "tills" in only:
        out["tills"] = step(
            f"{size['tills']} tills at once, PostgreSQL, {args.workers} workers",
            many_tills.many_tills,
            work / "tills", args.pg_url, 2_000, size["tills"], size["till_receipts"], args.workers,
        )  # fmt: skip
    if "memory" in only:
        out["memory"] = step(
            f"{size['memory_tills']} concurrent pushes of {size['memory_mib']} MiB",
            memory.concurrent_pushes,
            "postgres", work / "memory", args.pg_url, 2_000,
            size["memory_tills"], size["memory_mib"],
        )  # fmt: skip
    if "pay" in only:
        out["pay"] = step("cashier's pay", pay.cashier_pay, 50_000, size["pays"])
        out["record_sale"] = step("record_sale", pay.record_sale, 50_000, size["sales"])
    return out


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "-"


def table(out: dict[str, Any]) -> Table:
    t = Table(title="possync benchmarks (issue 13)")
    for col in ("measurement", "possync", "peer / floor (same run)", "ratio", "target"):
        t.add_column(col, justify="left" if col == "measurement" else "right")
    pouch = out.get("peer", {}).get("pouchdb_push")
    floor = out.get("peer", {}).get("sqlite_http_post")
    for key, r in out.items():
        if key.startswith("whole_"):
            label = f"whole sync, {r['store']}, {r['push_batch_changes'] // 8} receipts/request"
            t.add_row(
                f"{label}: receipts/s",
                f"{r['receipts_per_s']:,.0f}",
                f"PouchDB {pouch:,.0f} / SQLite {floor:,.0f}" if pouch and floor else "-",
                _ratio(r["receipts_per_s"], pouch),
                ">= 3x PouchDB",
            )
        elif key.startswith("periodic_"):
            t.add_row(
                f"periodic sync, {r['store']}: p50 / p99 ms",
                f"{r['p50_ms']} / {r['p99_ms']}", "", "", "< 15 / < 50",
            )  # fmt: skip
    for key, r in out.items():
        if key.startswith("prices_"):
            t.add_row(
                f"price change pulled by a till, {r['store']}: {r['items']:,} items, seconds",
                f"{r['seconds']} ({r['changes_per_s']:,.0f} changes/s)", "", "", "",
            )  # fmt: skip
    if "tills" in out:
        r = out["tills"]
        t.add_row(
            f"{r['tills']} tills x {r['receipts_each']} on PostgreSQL ({r['workers']} workers): "
            "aggregate receipts/s",
            f"{r['aggregate_receipts_per_s'] or 0:,.0f}",
            f"one till alone {r['single_receipts_per_s'] or 0:,.0f}",
            _ratio(r["aggregate_receipts_per_s"], r["single_receipts_per_s"]),
            ">= 2x single",
        )
        per = r["per_sync"] or {}
        t.add_row(
            "  per sync p50 / p99 ms, errors, exactly-once",
            f"{per.get('p50_ms')} / {per.get('p99_ms')}, {r['errors']}, {r['exactly_once']}",
            "", "", "p99 < 1000, 0, True",
        )  # fmt: skip
        if r.get("push_receipts_per_s"):
            push = r["per_push"] or {}
            pulled = r["pulled_per_till"] or {}
            t.add_row(
                "  the pushes alone: receipts/s, p50 / p99 ms; changes pulled per till",
                f"{r['push_receipts_per_s']:,.0f}, {push.get('p50_ms')} / {push.get('p99_ms')};"
                f" {pulled.get('median', 0):,}",
                "", _ratio(r["push_receipts_per_s"], r["single_receipts_per_s"]), "",
            )  # fmt: skip
    if "memory" in out:
        r = out["memory"]
        t.add_row(
            f"store peak RSS, {r['tills']} concurrent {r['body_mib']} MiB pushes",
            f"{r['store_peak_rss_mib']} MiB",
            f"idle {r['store_rss_idle_mib']} MiB",
            "",
            "bounded",
        )
    if "pay" in out:
        s = out["pay"]["server_ms"]
        t.add_row("cashier's pay, server median / p95 ms", f"{s['median']} / {s['p95']}", "", "",
                  "< 3")  # fmt: skip
        r = out["record_sale"]
        t.add_row(
            "record_sale median ms (commit alone)",
            f"{r['median_ms']} ({r['commit_median_ms']})", "", "", "< 1",
        )  # fmt: skip
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size_group = parser.add_mutually_exclusive_group()
    size_group.add_argument("--quick", action="store_true", help="smaller sizes (default)")
    size_group.add_argument("--full", action="store_true", help="the sizes of issue 13")
    parser.add_argument("--only", help=f"comma-separated parts of {','.join(PARTS)}")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--stores", default="sqlite,postgres", help="the stores of whole and periodic"
    )
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    here = Path(__file__).resolve().parent
    parser.add_argument("--peers", type=Path, default=here.parent.parent / "shared" / "peers")
    parser.add_argument(
        "--peer-cache", type=Path, default=Path.home() / ".cache" / "possync-bench-peers"
    )
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args()
    size = SIZES["full" if args.full else "quick"]
    info = machine() | {"load_at_start": loadavg(), "size": "full" if args.full else "quick"}
    # Run from a clean export (git archive) there is no .git: the caller names the commit.
    info["commit"] = os.environ.get("POSSYNC_BENCH_COMMIT") or info["commit"]
    console.print(info)
    with tempfile.TemporaryDirectory(prefix="possync-bench-all-") as tmp:
        out = run(args, size, Path(tmp))
    console.print(table(out))
    args.json.write_text(json.dumps({"machine": info, "size": size, "results": out}, indent=2))
    console.print(f"raw results in {args.json}")


if __name__ == "__main__":
    main()

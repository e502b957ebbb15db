"""Head office at scale: many stores syncing at once with ``ho serve --workers N``.

    .venv/bin/python bench/ho_scale.py --quick                 # 20 stores x 2 tills
    .venv/bin/python bench/ho_scale.py --json ho-scale.json    # 200 stores x 5 tills

Setup (not timed): head office on a PostgreSQL database of its own (dropped at the
end) with a catalog, one ``ho store add`` per store, and ``possync ho serve
--workers N`` as a real process. Each simulated store (bench/ho_stores.py) is a
real store database on SQLite that joins head office over HTTP with its one-time
code, with T real tills provisioned from it. Store databases rather than bare
``SyncClient`` calls because what head office receives must be what a store sends
(its own history first, its tills' documents relayed, the report of its tills),
and SQLite because 200 PostgreSQL store databases would take the CPU the
measurement needs; the store's side runs in ``--drivers`` processes (2), so the
Python of the clients is not one GIL.

Then ``--rounds`` rounds. In each, every till sells its share of ``--receipts``
(3 lines, 1 cash payment) and pushes it to its store (in-process, not timed);
then every store syncs with head office through the real ``upstream.sync`` (push,
pull, report of its tills: what ``store sync`` runs), ``--concurrency`` stores at
once across the drivers, started together. Timed: each store's sync alone (p50/p99
latency) and each round from its first sync's start to its last one's end; the
aggregate receipts/s is the receipts sold over the sum of the rounds' times. A
store new when it joins has no history of its own to send: every round's push is
its tills' receipts, 8 changes each, in one batch. After the rounds, every store
syncs once more with nothing new (the floor of ``store serve``'s periodic sync).

Measured on head office while the stores sync: the peak of the resident memory
of all its processes summed (sampled every 0.2 s; the sum of each process's own
peak is the upper bound), the CPU of its processes and of its PostgreSQL
backends, and the connections it holds. Errors are every exception a store's
sync raised (must be 0). Checked afterwards (exactly-once): head office holds
every receipt sold once (by receipt number, and by terminal and number), with
its lines, payments and the tills' stock movements, each store's count its own,
nothing quarantined, and each store's cursor at head office is the store's
acknowledged one with nothing left to send.

Everything shares the machine: on 2 cores, the stores' side (drivers) competes
with head office and PostgreSQL for CPU; its CPU is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import ho_stores
import sqlalchemy as sa
from bench_sync import PG_ADMIN_URL, catalog_csv, machine, store_database
from fixtures import loadavg, summary_ms
from ho_checks import exactly_once
from ho_watch import Watch, workers
from rich.console import Console
from rich.table import Table

from possync.retail import catalog, chain
from possync.store.process import HeadOfficeProcess
from possync.sync.db import open_engine, write_tx

console = Console(width=140)
SIZES = {
    "quick": {"stores": 20, "tills": 2, "receipts": 20, "rounds": 2, "concurrency": 10},
    "full": {"stores": 200, "tills": 5, "receipts": 20, "rounds": 4, "concurrency": 50},
}


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal integers, larger ones first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def setup_head_office(url: str, items: int, store_ids: list[str]) -> dict[str, str]:
    """Head office's database with a catalog and the stores: their join codes."""
    engine = open_engine(url)
    try:
        chain.init_head_office(engine, "Bench Retail")
        with write_tx(engine) as conn:
            catalog.import_csv(conn, catalog_csv(items))
        return {s: chain.add_store(engine, s).registration_code for s in store_ids}
    finally:
        engine.dispose()


def sync_round(
    pool: ProcessPoolExecutor, stores: dict[str, Path], args: argparse.Namespace
) -> dict[str, Any]:
    """Every store syncs once, ``args.concurrency`` at once across the drivers."""
    ids = list(stores)
    slices = [[(s, stores[s]) for s in ids[d :: args.drivers]] for d in range(args.drivers)]
    threads = shares(args.concurrency, args.drivers)
    go_at = time.monotonic() + 1.0  # every driver waiting before the first sync starts
    futures = [
        pool.submit(ho_stores.sync_stores, part, threads[d], go_at)
        for d, part in enumerate(slices)
        if part
    ]
    done = [f.result() for f in futures]
    if len({d["pid"] for d in done}) != len(futures):
        raise RuntimeError("two slices ran in one driver process: concurrency would be halved")
    syncs = [s for d in done for s in d["syncs"]]
    return {
        "syncs": syncs,
        "wall_s": max(s["end"] for s in syncs) - min(s["start"] for s in syncs),
        "drivers_cpu_s": sum(d["cpu_s"] for d in done),
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    store_ids = [f"S{i:04d}" for i in range(1, args.stores + 1)]
    stores = {s: work / s for s in store_ids}
    out: dict[str, Any] = {}
    with store_database("postgres", work, args.pg_url) as ho_url:
        codes = setup_head_office(ho_url, args.items, store_ids)
        extra = ["--workers", str(args.workers)] if args.workers > 1 else []
        server = HeadOfficeProcess(ho_url, log_path=work / "ho.log", extra_args=extra)
        server.start(timeout=180)  # workers start one after another, each importing the app
        # Autocommit: in a transaction, pg_stat_activity is a snapshot taken once.
        admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        pool = ProcessPoolExecutor(args.drivers, mp_context=get_context("spawn"))
        try:
            assert server.proc is not None
            deadline = time.monotonic() + 60
            while args.workers > 1 and len(workers(server.proc.pid)) < args.workers:
                if time.monotonic() > deadline:
                    raise RuntimeError("head office's workers did not all start")
                time.sleep(0.1)
            watch = Watch(server.proc.pid, admin, ho_url.rsplit("/", 1)[1]).start()
            out["head_office_processes"] = len(watch.pids)
            out["ho_rss_idle_mib"] = round(watch.rss_kib() / 1024, 1)
            out["load_before_join"] = loadavg()
            console.print(f"{args.stores} stores join head office ({args.drivers} at once) ...")
            started = time.perf_counter()
            joins = list(
                pool.map(
                    ho_stores.build_store,
                    [stores[s] for s in store_ids],
                    store_ids,
                    [codes[s] for s in store_ids],
                    [server.url] * args.stores,
                    [args.tills] * args.stores,
                )
            )
            out["setup_s"] = round(time.perf_counter() - started, 1)
            out["join"] = summary_ms(joins)
            out["rounds"] = []
            for number, receipts in enumerate(shares(args.receipts, args.rounds), 1):
                sold = sum(
                    pool.map(
                        ho_stores.sell_round,
                        [stores[s] for s in store_ids],
                        store_ids,
                        [args.tills] * args.stores,
                        [receipts] * args.stores,
                        [args.items] * args.stores,
                        [number] * args.stores,
                    )
                )
                load = loadavg()
                cpu_before = watch.cpu()
                result = sync_round(pool, stores, args)
                cpu = watch.cpu_between(cpu_before, watch.cpu())
                errors = [s for s in result["syncs"] if "error" in s]
                out["rounds"].append(
                    {"round": number, "receipts": sold, "load_before": load, **result, **cpu}
                )
                console.print(
                    f"  round {number}: {sold:,} receipts in {result['wall_s']:.1f} s "
                    f"(load {load:.2f}), {len(errors)} errors"
                )
            # Then once more with nothing sold: the floor of a store's periodic sync
            # (``store serve`` syncs every 60 s whether or not its tills sold).
            load = loadavg()
            cpu_before = watch.cpu()
            idle = sync_round(pool, stores, args)
            out["idle_round"] = {
                "load_before": load,
                **idle,
                **watch.cpu_between(cpu_before, watch.cpu()),
            }
            out["ho_peak_rss_mib"] = round(watch.peak_rss_kib / 1024, 1)
            out["ho_high_water_sum_mib"] = round(watch.high_water_kib() / 1024, 1)
            out["ho_processes_kib"] = watch.each_kib()
            out["ho_peak_connections"] = watch.peak_connections
            watch.stop()
            out["left_to_send"] = dict(
                zip(store_ids, pool.map(ho_stores.left_to_send, stores.values()), strict=True)
            )
        finally:
            pool.shutdown()
            server.stop()
        sent = sum(r["receipts"] for r in out["rounds"])
        out["checks"] = exactly_once(ho_url, args, sent, out.pop("left_to_send"))
        admin.dispose()
    return out


def summarise(args: argparse.Namespace, out: dict[str, Any]) -> dict[str, Any]:
    """The figures of the run from its rounds (raw syncs kept out of the summary)."""
    rounds = out["rounds"]
    syncs = [s for r in rounds for s in r["syncs"]]
    ok = [s for s in syncs if "error" not in s]
    errors = [s for s in syncs if "error" in s]
    receipts = sum(r["receipts"] for r in rounds)
    wall = sum(r["wall_s"] for r in rounds)
    later = [s["end"] - s["start"] for r in rounds[1:] for s in r["syncs"] if "error" not in s]
    return {
        "stores": args.stores,
        "tills_per_store": args.tills,
        "receipts_per_till": args.receipts,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "drivers": args.drivers,
        "receipts": receipts,
        "sync_wall_s": round(wall, 2),
        "aggregate_receipts_per_s": round(receipts / wall, 1),
        "per_store_sync": summary_ms([s["end"] - s["start"] for s in ok]) if ok else None,
        "per_store_sync_after_first_round": summary_ms(later) if later else None,
        "round_wall_s": [round(r["wall_s"], 2) for r in rounds],
        "load_before_rounds": [r["load_before"] for r in rounds],
        "errors": len(errors),
        "error_samples": [e["error"] for e in errors[:3]],
        "ho_cpu_s": round(sum(r["head_office_s"] for r in rounds), 1),
        "postgresql_cpu_s": round(sum(r["postgresql_s"] for r in rounds), 1),
        "drivers_cpu_s": round(sum(r["drivers_cpu_s"] for r in rounds), 1),
        # What 1,000 stores would cost, given the same receipts per store: CPU per receipt.
        "ho_cpu_ms_per_receipt": round(
            1000 * sum(r["head_office_s"] for r in rounds) / receipts, 3
        ),
        "postgresql_cpu_ms_per_receipt": round(
            1000 * sum(r["postgresql_s"] for r in rounds) / receipts, 3
        ),
        "idle_sync": idle_summary(out["idle_round"]),
        **{k: v for k, v in out.items() if k not in ("rounds", "idle_round")},
    }


def idle_summary(idle: dict[str, Any]) -> dict[str, Any]:
    """A sync with nothing to send: its latency, and the CPU it costs at head office."""
    ok = [s["end"] - s["start"] for s in idle["syncs"] if "error" not in s]
    syncs = len(idle["syncs"])
    return {
        "wall_s": round(idle["wall_s"], 2),
        "per_store_sync": summary_ms(ok) if ok else None,
        "errors": syncs - len(ok),
        "ho_cpu_ms_per_sync": round(1000 * idle["head_office_s"] / syncs, 2),
        "postgresql_cpu_ms_per_sync": round(1000 * idle["postgresql_s"] / syncs, 2),
    }


def table(r: dict[str, Any]) -> Table:
    t = Table(title=f"head office: {r['stores']} stores x {r['tills_per_store']} tills")
    t.add_column("measurement")
    t.add_column("value", justify="right")
    per, later = r["per_store_sync"] or {}, r["per_store_sync_after_first_round"] or {}
    checks = r["checks"]
    idle = r["idle_sync"]
    idle_per = idle["per_store_sync"] or {}
    rows = [
        ("load average at start / before each round",
         f"{r['load_at_start']} / {', '.join(f'{x:.2f}' for x in r['load_before_rounds'])}"),
        ("receipts relayed", f"{r['receipts']:,} ({r['rounds']} rounds)"),
        ("ho serve workers / store drivers / stores at once",
         f"{r['workers']} / {r['drivers']} / {r['concurrency']}"),
        ("aggregate receipts/s", f"{r['aggregate_receipts_per_s']:,.0f}"),
        ("time per round, s", ", ".join(f"{w:.1f}" for w in r["round_wall_s"])),
        ("per-store sync p50 / p99 ms (all rounds)", f"{per.get('p50_ms')} / {per.get('p99_ms')}"),
        ("  after the first round", f"{later.get('p50_ms')} / {later.get('p99_ms')}"),
        ("join p50 / p99 ms", f"{r['join']['p50_ms']} / {r['join']['p99_ms']}"),
        ("head office peak RSS, processes summed (idle)",
         f"{r['ho_peak_rss_mib']} MiB ({r['ho_rss_idle_mib']} MiB)"),
        ("  each process's peak, summed", f"{r['ho_high_water_sum_mib']} MiB"),
        ("head office's PostgreSQL connections, peak", str(r["ho_peak_connections"])),
        ("CPU s in the rounds: head office / PostgreSQL / stores",
         f"{r['ho_cpu_s']} / {r['postgresql_cpu_s']} / {r['drivers_cpu_s']}"),
        ("  per receipt, ms: head office / PostgreSQL",
         f"{r['ho_cpu_ms_per_receipt']} / {r['postgresql_cpu_ms_per_receipt']}"),
        ("sync with nothing new: p50 / p99 ms, CPU ms/sync head office / PostgreSQL",
         f"{idle_per.get('p50_ms')} / {idle_per.get('p99_ms')}, "
         f"{idle['ho_cpu_ms_per_sync']} / {idle['postgresql_cpu_ms_per_sync']}"),
        ("errors", f"{r['errors']} (+{idle['errors']} with nothing new)"),
        ("exactly-once (receipts at head office / sent)",
         f"{checks['ok']} ({checks['receipts']:,} / {checks['receipts_sent']:,})"),
    ]  # fmt: skip
    for row in rows:
        t.add_row(*row)
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 stores x 2 tills, 2 rounds")
    parser.add_argument("--stores", type=int, help="simulated stores (200)")
    parser.add_argument("--tills", type=int, help="tills per store (5)")
    parser.add_argument("--receipts", type=int, help="receipts per till, all rounds (20)")
    parser.add_argument("--rounds", type=int, help="rounds of syncs (4)")
    parser.add_argument("--concurrency", type=int, help="stores syncing at once (50)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="ho serve")
    parser.add_argument("--drivers", type=int, default=2, help="processes of the stores' side")
    parser.add_argument("--items", type=int, default=200, help="head office's catalog")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    parser.add_argument("--workdir", type=Path, help="parent of the temporary directory")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = parser.parse_args()
    for name, value in SIZES["quick" if args.quick else "full"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.drivers = max(1, min(args.drivers, args.stores))
    if args.receipts < args.rounds or args.concurrency < args.drivers:
        parser.error("need --receipts >= --rounds and --concurrency >= --drivers")
    info = machine() | {"load_at_start": loadavg()}
    info["commit"] = os.environ.get("POSSYNC_BENCH_COMMIT") or info["commit"]
    console.print(info)
    with tempfile.TemporaryDirectory(prefix="possync-ho-scale-", dir=args.workdir) as tmp:
        raw = run(args, Path(tmp))
    result = summarise(args, raw) | {"load_at_start": info["load_at_start"]}
    console.print(table(result))
    if result["error_samples"]:
        console.print(f"errors, for example: {result['error_samples']}")
    if not result["checks"]["ok"]:
        console.print(f"[red]exactly-once failed[/]: {result['checks']}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "result": result, "raw": raw}, indent=2))
        console.print(f"raw results in {args.json}")
    if result["errors"] or result["idle_sync"]["errors"] or not result["checks"]["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

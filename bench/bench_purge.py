"""Benchmark of a terminal purge: a terminal with a year of sales, before and after.

Setup (not timed): an SQLite store server (a real ``possync store serve`` process,
StoreProcess) with a catalog; terminal T01 registered and loaded; a year of sales
recorded on it with the clock set back (``--days`` days x ``--per-day`` sales, 3
lines and 1 cash payment each, one transaction per day) and pushed to the store, so
that the store has acknowledged all of it. Then, with the store server stopped:

  before   database size; latency of ``--sales`` offline sales (one write
           transaction each, commit with fsync included): median and p95; the time
           of ``terminal_status`` (``pos status`` without the store probe).
  purge    ``terminal.purge.purge_terminal`` with the default 30-day retention,
           split into its steps: old rows, change-log compaction, VACUUM.
  after    the same measurements as before.
  daily    the purge of the following day, as ``pos run`` would run it: one day of
           receipts becomes old (retention 29 days, VACUUM only above 20 % free).

    python bench/bench_purge.py
    python bench/bench_purge.py --days 365 --per-day 30 --sales 300 --json purge.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

import possync
from possync.retail import catalog, purge, sales, store_admin
from possync.retail.schema import receipt
from possync.store.process import StoreProcess
from possync.sync import purge as engine_purge
from possync.sync.db import open_engine, read_tx, write_tx
from possync.terminal import provision, syncer
from possync.terminal import purge as terminal_purge
from possync.terminal.local import Terminal
from possync.terminal.status import terminal_status

console = Console()
LINES = 3
CASH = [sales.PaymentRequest("CASH")]


def sku(i: int) -> str:
    return f"SKU{i:05d}"


def catalog_csv(items: int) -> str:
    rows = ["sku,barcode,name,price,tax_code"]
    for i in range(1, items + 1):
        rows.append(f"{sku(i)},{4000000000000 + i},Item {i},{1 + i % 40}.{i % 100:02d},STD")
    return "\n".join(rows) + "\n"


def basket(rng: random.Random, items: int) -> list[sales.LineRequest]:
    picked = rng.sample(range(1, items + 1), LINES)
    return [sales.LineRequest(sku(i), rng.randint(1, 3)) for i in picked]


@contextlib.contextmanager
def clock(when: datetime) -> Iterator[None]:
    """Sales recorded inside are dated ``when`` (and captured so)."""
    text = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with mock.patch.object(sales, "utc_now", return_value=text):
        yield


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))]


def mib(size: int | None) -> float:
    return round((size or 0) / 1_048_576, 1)


def receipts(term: Terminal) -> int:
    with read_tx(term.engine) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar_one())


def db_size(term: Terminal) -> int:
    with sqlite3.connect(term.db_path) as conn:  # settle the WAL into the file first
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = engine_purge.database_bytes(term.engine)
    assert size is not None
    return size


def measure(term: Terminal, n: int, items: int, seed: int) -> dict[str, Any]:
    """Offline sale latency and status time, now."""
    rng = random.Random(seed)
    till = term.till()
    for _ in range(20):  # warm-up
        with write_tx(term.engine) as conn:
            sales.record_sale(conn, till, basket(rng, items), CASH)
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        with write_tx(term.engine) as conn:
            sales.record_sale(conn, till, basket(rng, items), CASH)
        latencies.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    terminal_status(term, probe_store=False)
    status_ms = (time.perf_counter() - start) * 1000
    return {
        "size_mib": mib(db_size(term)),
        "receipts": receipts(term),
        "sale_median_ms": round(statistics.median(latencies), 2),
        "sale_p95_ms": round(percentile(latencies, 95), 2),
        "status_ms": round(status_ms, 1),
    }


@contextlib.contextmanager
def timed(module: Any, name: str, into: dict[str, float], label: str) -> Iterator[None]:
    """Time every call of ``module.name`` into ``into[label]`` (from the outside)."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[label] = into.get(label, 0.0) + time.perf_counter() - start

    with mock.patch.object(module, name, wrapper):
        yield


def timed_purge(term: Terminal, days: int, min_free: float) -> dict[str, Any]:
    steps: dict[str, float] = {}
    with (
        timed(purge, "purge_rows", steps, "rows_s"),
        timed(engine_purge, "compact_log", steps, "log_s"),
        timed(engine_purge, "reclaim_space", steps, "vacuum_s"),
    ):
        start = time.perf_counter()
        report = terminal_purge.purge_terminal(term, days, min_free=min_free)
        total = time.perf_counter() - start
    return {
        "total_s": round(total, 2),
        **{k: round(v, 2) for k, v in steps.items()},
        "receipts_purged": report.rows.purged.receipt,
        "log_entries": report.log_entries,
        "vacuumed": report.vacuumed,
    }


def setup(workdir: Path, args: argparse.Namespace) -> tuple[Terminal, float]:
    """A store, a loaded terminal and a year of acknowledged sales; the push time."""
    url = f"sqlite:///{workdir / 'store.db'}"
    engine = open_engine(url)
    store_admin.init_store(engine, "S01", "Benchmark store")
    with write_tx(engine) as conn:
        catalog.import_csv(conn, catalog_csv(args.items))
    code = store_admin.add_terminal(engine, "T01").registration_code
    with StoreProcess(url, log_path=workdir / "store.log") as server:
        term = provision.register(workdir / "t01", server.url, "T01", code)
        provision.initial_load(term)
        till = term.till()
        rng = random.Random(1)
        now = datetime.now(UTC)
        console.print(f"recording {args.days} x {args.per_day} sales...")
        for day in range(args.days, 0, -1):
            with clock(now - timedelta(days=day)), write_tx(term.engine) as conn:
                for _ in range(args.per_day):
                    sales.record_sale(conn, till, basket(rng, args.items), CASH)
        start = time.perf_counter()
        syncer.sync(term)
        pushed = time.perf_counter() - start
    return term, pushed


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="possync-bench-purge-") as tmp:
        term, push_s = setup(Path(tmp), args)
        before = measure(term, args.sales, args.items, seed=2)
        first = timed_purge(term, terminal_purge.DEFAULT_RETENTION_DAYS, 0.0)
        after = measure(term, args.sales, args.items, seed=3)
        # The next day's purge: one more day of receipts is past the retention.
        daily = timed_purge(
            term, terminal_purge.DEFAULT_RETENTION_DAYS - 1, terminal_purge.DAILY_MIN_FREE
        )
        term.close()
    return {
        "possync": possync.__version__,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "days": args.days,
        "per_day": args.per_day,
        "items": args.items,
        "push_s": round(push_s, 1),
        "before": before,
        "purge": first,
        "after": after,
        "daily_purge": daily,
    }


def show(result: dict[str, Any]) -> None:
    table = Table("", "before", "after", title="terminal with a year of sales")
    for key in ("size_mib", "receipts", "sale_median_ms", "sale_p95_ms", "status_ms"):
        table.add_row(key, str(result["before"][key]), str(result["after"][key]))
    console.print(table)
    for name in ("purge", "daily_purge"):
        console.print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result[name].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days of sales (default 365)")
    parser.add_argument("--per-day", type=int, default=30, help="sales a day (default 30)")
    parser.add_argument("--items", type=int, default=2000, help="catalog size (default 2000)")
    parser.add_argument("--sales", type=int, default=300, help="timed sales before and after")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.days <= terminal_purge.DEFAULT_RETENTION_DAYS:
        sys.exit(f"--days must exceed the {terminal_purge.DEFAULT_RETENTION_DAYS}-day retention")
    result = run(args)
    show(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

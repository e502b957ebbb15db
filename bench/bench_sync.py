"""Benchmarks of possync sync over loopback HTTP against a real store server process.

Three measurements, each against a store server started with StoreProcess (a real
``python -m possync store serve`` process on a free loopback port):

  push  one terminal pushes its backlog of receipts (3 lines, 1 payment each) to the
        store: ``syncer.sync(terminal, do_pull=False)``. Setup, not timed: register,
        initial load, then record the receipts with ``sales.record_sale`` in a few
        big transactions.
  load  the initial load of the item catalog onto a new terminal:
        ``provision.initial_load``. Setup, not timed: catalog import on the store
        (``catalog.import_csv``) and ``provision.register``.
  sale  recording one sale offline (store server stopped) on the terminal that took
        the load, as the till does it: one ``write_tx`` + ``record_sale``, commit
        (WAL + synchronous=FULL, so fsync) included. Median and p95 over many sales.

and, next to the load, the same initial load by file (no server involved):

  backup  ``offline_backup.create`` on the store database (re-provision, then the
          load written to a signed gzip file), the file's size, then
          ``restore.import_backup`` of it into a new terminal directory (verify,
          build, rename). Setup, not timed: ``store_admin.add_terminal``.

Peak memory: VmHWM of this (terminal-side) process, reset just before each timed
part (/proc/self/clear_refs), and VmHWM of the store server process, which is
started afresh for each measurement.

    python bench/bench_sync.py --store sqlite
    python bench/bench_sync.py --store postgres
    python bench/bench_sync.py --store both --json results.json --profile prof/

With ``--profile DIR`` the push and the load run under cProfile on both sides (the
store server then runs through bench/profiled_store.py); the figures are slower then
and only the hot spots are meaningful.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

import possync
from possync.retail import catalog, offline_backup, sales, store_admin
from possync.retail.schema import item, receipt, receipt_line
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, read_tx, write_tx
from possync.terminal import provision, restore, syncer
from possync.terminal.local import Terminal
from possync.transport.client import SyncClient

console = Console()
if not console.is_terminal:  # piped to a file: room for the results table
    console = Console(width=120)

PG_ADMIN_URL = os.environ.get(
    "POSSYNC_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STORE_ID = "S01"
LOAD_TERMINAL = "T01"  # takes the initial load, then records the timed sales
PUSH_TERMINAL = "T02"  # records the backlog, then pushes it
BACKUP_TERMINAL = "T03"  # provisioned by an offline backup file
LINES_PER_RECEIPT = 3

TARGETS = {
    "push_receipts_per_s": 10_000,
    "load_items_per_s": 30_000,
    "sale_median_ms": 10.0,
}


# -- measuring helpers -------------------------------------------------------------


def _status_mib(field_name: str, pid: int | str) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field_name}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """VmHWM (peak resident set) of a process, in MiB."""
    return _status_mib("VmHWM", pid)


def reset_peak_rss(pid: int | str = "self") -> float | None:
    """Start VmHWM again from the current RSS (Linux >= 4.0); returns that RSS."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _status_mib("VmRSS", pid)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


@contextlib.contextmanager
def timed_calls(cls: type, name: str, into: list[float]) -> Iterator[None]:
    """Add the wall time of every ``cls.name`` call to ``into[0]`` (instrumentation
    from the outside: the possync code is not touched)."""
    original = getattr(cls, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[0] += time.perf_counter() - start

    setattr(cls, name, wrapper)
    try:
        yield
    finally:
        setattr(cls, name, original)


class Profiler:
    """cProfile around the timed part, on this side; a profiled store server on the
    other. Inactive (and free) without ``--profile``."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory:
            directory.mkdir(parents=True, exist_ok=True)

    def store_profile(self, tag: str) -> Path | None:
        return self.directory / f"{tag}-store.prof" if self.directory else None

    @contextlib.contextmanager
    def terminal(self, tag: str) -> Iterator[None]:
        if not self.directory:
            yield
            return
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
            profiler.dump_stats(self.directory / f"{tag}-terminal.prof")

    def summarise(self, top: int = 30) -> None:
        """Write a .txt next to every .prof: top functions by own and by total time."""
        if not self.directory:
            return
        for prof in sorted(self.directory.glob("*.prof")):
            out = io.StringIO()
            stats = pstats.Stats(str(prof), stream=out).strip_dirs()
            for key in ("tottime", "cumulative"):
                out.write(f"\n===== {prof.name}: top {top} by {key} =====\n")
                stats.sort_stats(key).print_stats(top)
            prof.with_suffix(".txt").write_text(out.getvalue())
        console.print(f"profiles and summaries written to {self.directory}")


class ProfiledStoreProcess(StoreProcess):
    """A StoreProcess that runs bench/profiled_store.py instead of ``possync store
    serve``; the profile is written when the server is stopped."""

    def __init__(self, db_url: str, profile_out: Path, log_path: Path | None = None) -> None:
        super().__init__(db_url, log_path=log_path)
        self.profile_out = profile_out

    def command(self) -> list[str]:
        script = Path(__file__).with_name("profiled_store.py")
        return [
            sys.executable,
            str(script),
            "--db",
            self.db_url,
            "--port",
            str(self.port),
            "--out",
            str(self.profile_out),
        ]


# -- the store and its data ----------------------------------------------------------


@contextlib.contextmanager
def store_database(kind: str, workdir: Path, pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty store database URL; a PostgreSQL database is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'store.db'}"
        return
    name = f"possync_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def catalog_csv(count: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words = ["Apple", "Bread", "Cheese", "Milk", "Coffee", "Tea", "Rice", "Pasta", "Soap"]
    kinds = ["Organic", "Classic", "Family pack", "Mini", "Value"]
    lines = ["sku,barcode,name,price,tax_code"]
    for i in range(1, count + 1):
        name = f"{rng.choice(words)} {rng.choice(kinds)} {rng.randint(100, 999)}g no {i}"
        price = f"{rng.randint(50, 2500) / 100:.2f}"
        tax = rng.choice(["STD", "RED", "RED", "ZERO"])
        lines.append(f"SKU{i:06d},{4000000000000 + i},{name},{price},{tax}")
    return "\n".join(lines) + "\n"


def sku(i: int) -> str:
    return f"SKU{i:06d}"


@dataclass
class Store:
    kind: str
    url: str
    workdir: Path
    profiler: Profiler
    engine: sa.Engine = field(init=False)
    codes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine = open_engine(self.url)

    def server(self, tag: str) -> StoreProcess:
        log = self.workdir / "store.log"
        out = self.profiler.store_profile(f"{self.kind}-{tag}")
        if out is not None:
            return ProfiledStoreProcess(self.url, out, log_path=log).start()
        return StoreProcess(self.url, log_path=log).start()


def setup_store(store: Store, items: int) -> float:
    """Store, catalog and the two terminals; returns the catalog import time."""
    store_admin.init_store(store.engine, STORE_ID, "Benchmark store")
    text = catalog_csv(items)
    start = time.perf_counter()
    with write_tx(store.engine) as conn:
        catalog.import_csv(conn, text)
    elapsed = time.perf_counter() - start
    for terminal_id in (LOAD_TERMINAL, PUSH_TERMINAL):
        store.codes[terminal_id] = store_admin.add_terminal(
            store.engine, terminal_id
        ).registration_code
    return elapsed


def random_basket(rng: random.Random, items: int) -> list[sales.LineRequest]:
    picked = rng.sample(range(1, items + 1), LINES_PER_RECEIPT)
    return [sales.LineRequest(sku(i), rng.randint(1, 3)) for i in picked]


CASH = [sales.PaymentRequest("CASH")]


def record_sales(terminal: Terminal, count: int, per_tx: int, items: int, seed: int = 2) -> None:
    """Record ``count`` sales in transactions of ``per_tx`` sales (setup, not timed)."""
    rng = random.Random(seed)
    till = terminal.till()
    done = 0
    while done < count:
        n = min(per_tx, count - done)
        with write_tx(terminal.engine) as conn:
            for _ in range(n):
                sales.record_sale(conn, till, random_basket(rng, items), CASH)
        done += n


# -- the measurements -----------------------------------------------------------------


def measure_load(store: Store, items: int) -> dict[str, Any]:
    """(b) Initial load of the catalog onto a new terminal."""
    server = store.server("load")
    try:
        terminal = provision.register(
            store.workdir / "t-load", server.url, LOAD_TERMINAL, store.codes[LOAD_TERMINAL]
        )
        waiting = [0.0]
        gc.collect()
        terminal_start = reset_peak_rss()
        with (
            timed_calls(SyncClient, "load_chunk", waiting),
            store.profiler.terminal(f"{store.kind}-load"),
        ):
            start = time.perf_counter()
            rows = provision.initial_load(terminal)
            elapsed = time.perf_counter() - start
        terminal_peak = peak_rss_mib()
        store_peak = peak_rss_mib(server.proc.pid) if server.proc else None
    finally:
        server.stop()
    with read_tx(terminal.engine) as conn:
        loaded_items = conn.execute(sa.select(sa.func.count()).select_from(item)).scalar_one()
    assert loaded_items == items, f"the terminal has {loaded_items} items, expected {items}"
    return {
        "load_items": items,
        "load_rows": rows,
        "load_s": elapsed,
        "load_items_per_s": items / elapsed,
        "load_wait_store_s": waiting[0],
        "load_terminal_start_mib": terminal_start,
        "load_terminal_peak_mib": terminal_peak,
        "load_store_peak_mib": store_peak,
        "_terminal": terminal,
    }


def measure_backup(store: Store, items: int) -> dict[str, Any]:
    """(b') The same initial load through an offline backup file: made on the store
    database (as ``possync store terminal backup`` does), imported on a new terminal
    (as ``possync pos import`` does). No server: neither needs one."""
    store_admin.add_terminal(store.engine, BACKUP_TERMINAL)
    file = store.workdir / "t-backup.possync-backup"
    gc.collect()
    store_start = reset_peak_rss()
    with store.profiler.terminal(f"{store.kind}-backup-create"):
        start = time.perf_counter()
        made = offline_backup.create(
            store.engine, BACKUP_TERMINAL, file, store_url="http://127.0.0.1:8600"
        )
        create_s = time.perf_counter() - start
    store_peak = peak_rss_mib()
    size = file.stat().st_size
    gc.collect()
    terminal_start = reset_peak_rss()
    with store.profiler.terminal(f"{store.kind}-backup-import"):
        start = time.perf_counter()
        done = restore.import_backup(
            file, store.workdir / "t-backup", BACKUP_TERMINAL, made.import_code
        )
        import_s = time.perf_counter() - start
    terminal_peak = peak_rss_mib()
    engine = open_engine(f"sqlite:///{done.data_dir / 'terminal.db'}")
    with read_tx(engine) as conn:
        loaded_items = conn.execute(sa.select(sa.func.count()).select_from(item)).scalar_one()
    engine.dispose()
    assert loaded_items == items, f"the terminal has {loaded_items} items, expected {items}"
    return {
        "backup_rows": done.rows,
        "backup_bytes": size,
        "backup_mb": size / 1e6,
        "backup_create_s": create_s,
        "backup_import_s": import_s,
        "backup_items_per_s": items / import_s,
        "backup_end_to_end_items_per_s": items / (create_s + import_s),
        "backup_store_start_mib": store_start,
        "backup_store_peak_mib": store_peak,
        "backup_terminal_start_mib": terminal_start,
        "backup_terminal_peak_mib": terminal_peak,
    }


def measure_sale(terminal: Terminal, items: int, count: int, warmup: int) -> dict[str, Any]:
    """(c) One sale offline: write_tx + record_sale + commit, one at a time."""
    rng = random.Random(3)
    till = terminal.till()
    total_ms: list[float] = []
    commit_ms: list[float] = []
    gc.collect()
    terminal_start = reset_peak_rss()
    for i in range(warmup + count):
        basket = random_basket(rng, items)
        start = time.perf_counter()
        with write_tx(terminal.engine) as conn:
            sales.record_sale(conn, till, basket, CASH)
            before_commit = time.perf_counter()
        end = time.perf_counter()
        if i >= warmup:
            total_ms.append((end - start) * 1000)
            commit_ms.append((end - before_commit) * 1000)
    return {
        "sale_count": count,
        "sale_median_ms": statistics.median(total_ms),
        "sale_p95_ms": percentile(total_ms, 95),
        "sale_max_ms": max(total_ms),
        "sale_commit_median_ms": statistics.median(commit_ms),
        "sale_terminal_start_mib": terminal_start,
        "sale_terminal_peak_mib": peak_rss_mib(),
    }


def measure_push(store: Store, items: int, receipts: int, per_tx: int) -> dict[str, Any]:
    """(a) Push a backlog of receipts from one terminal to the store."""
    server = store.server("setup")
    try:
        terminal = provision.register(
            store.workdir / "t-push", server.url, PUSH_TERMINAL, store.codes[PUSH_TERMINAL]
        )
        provision.initial_load(terminal)
    finally:
        server.stop()
    start = time.perf_counter()
    record_sales(terminal, receipts, per_tx, items)
    setup_s = time.perf_counter() - start
    pending = terminal.child.pending()

    server = store.server("push")
    try:
        waiting = [0.0]
        gc.collect()
        terminal_start = reset_peak_rss()
        with (
            timed_calls(SyncClient, "push", waiting),
            store.profiler.terminal(f"{store.kind}-push"),
        ):
            start = time.perf_counter()
            report = syncer.sync(terminal, url=server.url, do_pull=False)
            elapsed = time.perf_counter() - start
        terminal_peak = peak_rss_mib()
        store_peak = peak_rss_mib(server.proc.pid) if server.proc else None
    finally:
        server.stop()
    with read_tx(store.engine) as conn:
        on_store = conn.execute(
            sa.select(sa.func.count())
            .select_from(receipt)
            .where(receipt.c.terminal_id == PUSH_TERMINAL)
        ).scalar_one()
        lines = conn.execute(sa.select(sa.func.count()).select_from(receipt_line)).scalar_one()
    assert on_store == receipts, f"the store has {on_store} receipts, expected {receipts}"
    assert lines == receipts * LINES_PER_RECEIPT, f"the store has {lines} receipt lines"
    assert report.pushed == pending, f"pushed {report.pushed} of {pending} pending changes"
    terminal.close()
    return {
        "push_receipts": receipts,
        "push_changes": report.pushed,
        "push_batches": report.push_batches,
        "push_batch_size": syncer.PUSH_BATCH,
        "push_setup_s": setup_s,
        "push_s": elapsed,
        "push_receipts_per_s": receipts / elapsed,
        "push_changes_per_s": report.pushed / elapsed,
        "push_wait_store_s": waiting[0],
        "push_terminal_start_mib": terminal_start,
        "push_terminal_peak_mib": terminal_peak,
        "push_store_peak_mib": store_peak,
    }


def run_suite(kind: str, args: argparse.Namespace, profiler: Profiler) -> dict[str, Any]:
    console.rule(f"store on {kind}")
    base = Path(args.workdir) if args.workdir else None
    with (
        tempfile.TemporaryDirectory(prefix=f"possync-bench-{kind}-", dir=base) as tmp,
        store_database(kind, Path(tmp), args.pg_url) as url,
    ):
        store = Store(kind, url, Path(tmp), profiler)
        results: dict[str, Any] = {"store": kind}
        try:
            results["catalog_import_s"] = setup_store(store, args.items)
            console.print(f"catalog of {args.items} items imported on the store")

            load = measure_load(store, args.items)
            terminal = load.pop("_terminal")
            results.update(load)
            console.print(f"load: {load['load_items_per_s']:,.0f} items/s")

            results.update(measure_backup(store, args.items))
            console.print(
                f"backup: created in {results['backup_create_s']:.2f} s "
                f"({results['backup_mb']:.1f} MB), imported at "
                f"{results['backup_items_per_s']:,.0f} items/s"
            )

            results.update(measure_sale(terminal, args.items, args.sales, args.warmup))
            terminal.close()
            console.print(f"sale: median {results['sale_median_ms']:.2f} ms")

            results.update(measure_push(store, args.items, args.receipts, args.sales_per_tx))
            console.print(f"push: {results['push_receipts_per_s']:,.0f} receipts/s")
        finally:
            store.engine.dispose()
    return results


# -- reporting ---------------------------------------------------------------------------


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


ROWS: list[tuple[str, str, str, Callable[[float], bool] | None, str]] = [
    # (label, key, format, target check, target text)
    ("push: receipts/s", "push_receipts_per_s", ",.0f", lambda v: v >= 10_000, ">= 10,000"),
    ("push: changes/s", "push_changes_per_s", ",.0f", None, ""),
    ("push: time (s)", "push_s", ".2f", None, ""),
    ("push: of which waiting on the store (s)", "push_wait_store_s", ".2f", None, ""),
    ("push: changes / batches", "push_batches_label", "", None, ""),
    ("push: peak RSS terminal side (MiB, from)", "push_terminal_rss_label", "", None, ""),
    ("push: peak RSS store server (MiB)", "push_store_peak_mib", ".0f", None, ""),
    ("load: items/s", "load_items_per_s", ",.0f", lambda v: v >= 30_000, ">= 30,000"),
    ("load: time (s)", "load_s", ".2f", None, ""),
    ("load: of which waiting on the store (s)", "load_wait_store_s", ".2f", None, ""),
    ("load: peak RSS terminal side (MiB, from)", "load_terminal_rss_label", "", None, ""),
    ("load: peak RSS store server (MiB)", "load_store_peak_mib", ".0f", None, ""),
    ("backup: create on the store (s)", "backup_create_s", ".2f", None, ""),
    ("backup: file size (MB)", "backup_mb", ".2f", None, ""),
    ("backup: import on the terminal (s)", "backup_import_s", ".2f", None, ""),
    ("backup: import items/s", "backup_items_per_s", ",.0f", None, ""),
    ("backup: create + import items/s", "backup_end_to_end_items_per_s", ",.0f", None, ""),
    ("backup: peak RSS creating (MiB, from)", "backup_store_rss_label", "", None, ""),
    ("backup: peak RSS importing (MiB, from)", "backup_terminal_rss_label", "", None, ""),
    ("sale: median (ms)", "sale_median_ms", ".2f", lambda v: v < 10.0, "< 10"),
    ("sale: p95 (ms)", "sale_p95_ms", ".2f", None, ""),
    ("sale: max (ms)", "sale_max_ms", ".2f", None, ""),
    ("sale: commit (fsync) median (ms)", "sale_commit_median_ms", ".2f", None, ""),
    ("sale: peak RSS terminal (MiB, from)", "sale_terminal_rss_label", "", None, ""),
]


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    title = (
        f"possync sync benchmarks: {args.receipts:,} receipts pushed, "
        f"{args.items:,}-item catalog, {args.sales} sales"
    )
    if args.profile:
        title += " (UNDER PROFILER: figures are slowed down)"
    table = Table(title=title)
    table.add_column("measurement")
    for r in results:
        table.add_column(f"store on {r['store']}", justify="right")
    table.add_column("target", justify="right")
    for r in results:
        r["push_batches_label"] = f"{r['push_changes']:,} / {r['push_batches']}"
        for phase in ("push", "load", "sale", "backup"):
            peak = _fmt(r.get(f"{phase}_terminal_peak_mib"), ".0f")
            start = _fmt(r.get(f"{phase}_terminal_start_mib"), ".0f")
            r[f"{phase}_terminal_rss_label"] = f"{peak} (from {start})"
        peak, start = r.get("backup_store_peak_mib"), r.get("backup_store_start_mib")
        r["backup_store_rss_label"] = f"{_fmt(peak, '.0f')} (from {_fmt(start, '.0f')})"
    for label, key, spec, check, target in ROWS:
        cells = []
        for r in results:
            value = r.get(key)
            text = _fmt(value, spec)
            if check is not None and value is not None:
                text = f"[green]{text} ok[/]" if check(value) else f"[red]{text} MISSED[/]"
            cells.append(text)
        table.add_row(label, *cells, target)
    console.print(table)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model.group(1) if model else platform.processor(),
        "ram_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "python": platform.python_version(),
        "commit": commit,
        "possync": str(Path(possync.__file__).parent),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="possync sync benchmarks (push, initial load, offline backup, offline sale)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--receipts", type=int, default=20_000, help="receipts to push")
    parser.add_argument("--items", type=int, default=50_000, help="catalog size")
    parser.add_argument("--sales", type=int, default=500, help="timed offline sales")
    parser.add_argument("--warmup", type=int, default=20, help="untimed sales first")
    parser.add_argument(
        "--sales-per-tx", type=int, default=2_000, help="sales per transaction (push setup)"
    )
    parser.add_argument(
        "--push-batch",
        type=int,
        help=f"changes per pushed batch (sets syncer.PUSH_BATCH, now {syncer.PUSH_BATCH})",
    )
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL admin database")
    parser.add_argument("--workdir", help="parent of the temp directory ($TMPDIR if not given)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="cProfile push and load on both sides"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.push_batch:
        syncer.PUSH_BATCH = args.push_batch  # read by syncer.push at each call
    kinds = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    profiler = Profiler(args.profile)
    info = machine()
    console.print(
        f"{info['cpu']}, {info['nproc']} CPUs, {info['ram_gib']} GiB, "
        f"Python {info['python']}, commit {info['commit']}, possync from {info['possync']}"
    )
    results = [run_suite(kind, args, profiler) for kind in kinds]
    print_table(results, args)
    profiler.summarise()
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": info, "args": vars(args), "results": results}, indent=2, default=str
            )
        )


if __name__ == "__main__":
    main()

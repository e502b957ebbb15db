"""Stores and tills for the benchmarks of bench/run_all.py (setup, never timed).

A store is a fresh database (SQLite file, or a PostgreSQL database of its own that
is dropped afterwards) with a catalog and terminals; a till is a real terminal
directory, registered with a real store server and loaded over HTTP, with sales
recorded by ``sales.record_sale`` as the till records them.
"""

from __future__ import annotations

import contextlib
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from bench_sync import catalog_csv, record_sales, store_database

from possync.retail import catalog, store_admin
from possync.retail.schema import receipt, receipt_line, stock_movement
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, read_tx, write_tx
from possync.terminal import provision
from possync.terminal.local import Terminal

STORE_ID = "S01"
LINES_PER_RECEIPT = 3
CHANGES_PER_RECEIPT = 8  # receipt, 3 lines, 1 payment, 3 stock movements


@dataclass
class BenchStore:
    kind: str
    url: str
    workdir: Path
    items: int
    engine: sa.Engine = field(init=False)
    codes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine = open_engine(self.url)

    def server(self, tag: str, workers: int = 1) -> StoreProcess:
        extra = ["--workers", str(workers)] if workers > 1 else []
        log = self.workdir / f"store-{tag}.log"
        # Workers start one after another, each importing the app: slow when busy.
        return StoreProcess(self.url, log_path=log, extra_args=extra).start(timeout=180)

    def add_terminals(self, ids: list[str]) -> None:
        for terminal_id in ids:
            self.codes[terminal_id] = store_admin.add_terminal(
                self.engine, terminal_id
            ).registration_code

    def provision(self, url: str, terminal_id: str) -> Terminal:
        """Register and load a till against the running server at ``url``."""
        terminal = provision.register(
            self.workdir / terminal_id, url, terminal_id, self.codes[terminal_id]
        )
        provision.initial_load(terminal)
        return terminal

    def till_with_sales(self, terminal_id: str, receipts: int) -> Terminal:
        """A new till, registered and loaded by a server started for it, holding
        ``receipts`` unsynced sales (setup of the push benchmarks)."""
        self.add_terminals([terminal_id])
        server = self.server("setup")
        try:
            terminal = self.provision(server.url, terminal_id)
        finally:
            server.stop()
        sell(terminal, receipts, self.items)
        return terminal


@contextlib.contextmanager
def bench_store(kind: str, workdir: Path, pg_url: str, items: int) -> Iterator[BenchStore]:
    """A new store with ``items`` in its catalog; its database is gone afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    with store_database(kind, workdir, pg_url) as url:
        store = BenchStore(kind, url, workdir, items)
        try:
            store_admin.init_store(store.engine, STORE_ID, "Benchmark store")
            with write_tx(store.engine) as conn:
                catalog.import_csv(conn, catalog_csv(items))
            yield store
        finally:
            store.engine.dispose()


def sell(terminal: Terminal, receipts: int, items: int, seed: int = 2) -> None:
    """Record ``receipts`` sales of 3 lines and 1 cash payment (setup)."""
    record_sales(terminal, receipts, 2_000, items, seed=seed)


def receipts_on_store(store: BenchStore, terminal_id: str | None = None) -> dict[str, int]:
    """Receipts, lines and stock movements the store holds (of one terminal)."""
    counts = {}
    with read_tx(store.engine) as conn:
        for name, table in (
            ("receipts", receipt),
            ("lines", receipt_line),
            ("movements", stock_movement),
        ):
            query = sa.select(sa.func.count()).select_from(table)
            if terminal_id is not None:
                query = query.where(table.c.terminal_id == terminal_id)
            counts[name] = int(conn.execute(query).scalar_one())
    return counts


def captured_from(store: BenchStore, terminal_id: str) -> int:
    """Changes the store captured from a till's pushes: one per applied row, so a
    batch applied twice would show (exactly-once check)."""
    with read_tx(store.engine) as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM sync_change WHERE origin = :o"), {"o": terminal_id}
            ).scalar_one()
        )


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def vm_kib(pid: int, name: str) -> int | None:
    try:
        found = re.search(rf"^{name}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return int(found.group(1)) if found else None

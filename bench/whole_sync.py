"""A whole ``pos sync`` of a backlog, and a till's periodic sync, against a real
store server process.

whole     a till holds ``receipts`` unsynced sales (3 lines, 1 cash payment: 8
          changes each); timed: ``syncer.sync(terminal)``, what ``possync pos sync``
          runs: the push (batches of ``push_batch`` changes, the next read while the
          previous one travels) and the pull that follows (on PostgreSQL that pull
          is where the store publishes, i.e. numbers, the changes it captured while
          applying the push). Checked afterwards: every receipt, line and movement
          on the store once, and the store's captured changes from the till.
periodic  the same till, caught up; then, ``count`` times: one sale (not timed),
          then ``syncer.sync`` timed end to end over HTTP: a new connection, push
          of 8 changes, the pull that finds nothing for the till.
prices    a till, caught up; the whole catalog re-priced on the store; timed: the
          till's sync that pulls the new prices (price_change).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_sync import catalog_csv
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
    vm_kib,
)

from possync.retail import catalog
from possync.retail.schema import item
from possync.sync.db import read_tx, write_tx
from possync.terminal import syncer

TILL = "T02"


def _whole(store: BenchStore, receipts: int, push_batch: int) -> dict[str, Any]:
    terminal = store.till_with_sales(TILL, receipts)
    pending = terminal.child.pending()
    saved, syncer.PUSH_BATCH = syncer.PUSH_BATCH, push_batch
    server = store.server("whole")
    try:
        gc.collect()
        load = loadavg()
        start = time.perf_counter()
        report = syncer.sync(terminal, url=server.url)
        elapsed = time.perf_counter() - start
        store_peak = vm_kib(server.proc.pid, "VmHWM") if server.proc else None
    finally:
        syncer.PUSH_BATCH = saved
        server.stop()
    on_store = receipts_on_store(store, TILL)
    assert report.pushed == pending, (report.pushed, pending)
    assert on_store == {
        "receipts": receipts,
        "lines": receipts * LINES_PER_RECEIPT,
        "movements": receipts * LINES_PER_RECEIPT,
    }, on_store
    assert captured_from(store, TILL) == receipts * CHANGES_PER_RECEIPT
    assert terminal.child.pending() == 0
    terminal.close()
    return {
        "store": store.kind,
        "receipts": receipts,
        "push_batch_changes": push_batch,
        "requests_push": report.push_batches,
        "requests_pull": report.pull_batches,
        "seconds": round(elapsed, 3),
        "receipts_per_s": round(receipts / elapsed, 1),
        "store_peak_rss_mib": round(store_peak / 1024, 1) if store_peak else None,
        "load_before": load,
    }


def whole_sync(
    kind: str, workdir: Path, pg_url: str, items: int, receipts: int, push_batch: int
) -> dict[str, Any]:
    with bench_store(kind, workdir, pg_url, items) as store:
        return _whole(store, receipts, push_batch)


def _periodic(terminal: Any, url: str, items: int, count: int) -> dict[str, Any]:
    timings = []
    for i in range(count):
        sell(terminal, 1, items, seed=1000 + i)
        start = time.perf_counter()
        report = syncer.sync(terminal, url=url)
        timings.append(time.perf_counter() - start)
        assert report.pushed == CHANGES_PER_RECEIPT, report
    return summary_ms(timings)


def periodic_sync(
    kind: str, workdir: Path, pg_url: str, items: int, count: int, backlog: int
) -> dict[str, Any]:
    """A till that has synced ``backlog`` receipts, then ``count`` periodic syncs."""
    with bench_store(kind, workdir, pg_url, items) as store:
        store.add_terminals([TILL])
        server = store.server("periodic")
        try:
            terminal = store.provision(server.url, TILL)
            sell(terminal, backlog, items)
            syncer.sync(terminal, url=server.url)
            for i in range(10):  # warm-up: connections, statement caches
                sell(terminal, 1, items, seed=500 + i)
                syncer.sync(terminal, url=server.url)
            load = loadavg()
            result = _periodic(terminal, server.url, items, count)
        finally:
            server.stop()
        terminal.close()
        return {"store": kind, "backlog": backlog, "load_before": load, **result}


def price_change(kind: str, workdir: Path, pg_url: str, items: int) -> dict[str, Any]:
    """A till caught up with a store of ``items`` items; then a new price list
    re-prices the whole catalog on the store (``items`` item changes, not timed).
    Timed: the till's ``syncer.sync``, which pulls them ("Synchronize Data from
    Store" after a price change; on PostgreSQL the store publishes them first).
    Checked afterwards: every item's price on the till is the store's."""
    with bench_store(kind, workdir, pg_url, items) as store:
        store.add_terminals([TILL])
        server = store.server("prices")
        try:
            terminal = store.provision(server.url, TILL)
            with write_tx(store.engine) as conn:
                catalog.import_csv(conn, catalog_csv(items, seed=2))
            gc.collect()
            load = loadavg()
            start = time.perf_counter()
            report = syncer.sync(terminal, url=server.url)
            elapsed = time.perf_counter() - start
        finally:
            server.stop()
        prices = sa.select(item.c.sku, item.c.price).order_by(item.c.sku)
        with read_tx(store.engine) as conn:
            on_store = conn.execute(prices).all()
        with read_tx(terminal.engine) as conn:
            on_till = conn.execute(prices).all()
        terminal.close()
    assert on_till == on_store and len(on_store) == items
    return {
        "store": kind,
        "items": items,
        "changes_pulled": report.pulled,
        "requests_pull": report.pull_batches,
        "seconds": round(elapsed, 3),
        "changes_per_s": round(report.pulled / elapsed, 1),
        "load_before": load,
    }

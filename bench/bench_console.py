"""Benchmark of the store console's busiest pages at a 50,000-item catalog.

Setup (not timed): a store database (SQLite, or PostgreSQL with --db) with
``--items`` items, a console administrator, 2,000 receipts' worth of stock
movements, and a signed-in browser session, all in-process (the ASGI app through
FastAPI's TestClient: no network, so this is server time plus rendering).

Timed, ``--repeat`` times each, median and p95 in milliseconds:
  items-first-page   /console/items                 (count + first 50)
  items-search-name  /console/items?q=Item 4999     (contains-match on names)
  items-search-code  /console/items?q=<a barcode>   (exact match)
  items-page-500     /console/items?page=500        (offset paging deep in the list)
  dashboard-rows     /console/dashboard/rows        (what the dashboard polls)
  stock-search       /console/stock?q=SKU4999

    python bench/bench_console.py
    python bench/bench_console.py --db postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from possync.retail import catalog, store_admin
from possync.retail import stock as stock_rules
from possync.store.app import create_app
from possync.store.console import accounts
from possync.store.console.base import ConsoleSettings
from possync.sync.db import open_engine, write_tx

PAGES = {
    "items-first-page": "/console/items",
    "items-search-name": "/console/items?q=Item%204999",
    "items-search-code": "/console/items?q=5000000012345",
    "items-page-500": "/console/items?page=500",
    "dashboard-rows": "/console/dashboard/rows",
    "stock-search": "/console/stock?q=SKU4999",
}


def catalog_rows(n: int) -> str:
    lines = ["sku,barcode,name,price,tax_code"]
    lines += [
        f"SKU{i},{5000000000000 + i},Item {i},{1 + i % 50}.{i % 100:02d},STD"
        for i in range(1, n + 1)
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL of an empty database (default: SQLite)")
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="possync-bench-console-"))
    engine = open_engine(args.db or f"sqlite:///{tmp / 'store.db'}")
    store_admin.init_store(engine, "S01", "Bench")
    for t in range(1, 9):
        store_admin.add_terminal(engine, f"T{t:02d}")
    with write_tx(engine) as conn:
        catalog.import_csv(conn, catalog_rows(args.items))
        for i in range(1, 2001):
            stock_rules.adjust(conn, "S01", f"SKU{i}", 10, "goods_receipt")
        accounts.add_admin(conn, "bench", "bench-password")
    client = TestClient(create_app(engine, ConsoleSettings(backup_dir=tmp / "b")))
    login = client.get("/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    client.post(
        "/console/login",
        data={"username": "bench", "password": "bench-password", "csrf_token": token},
    )
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, "
        f"{engine.dialect.name}, {args.items} items, {args.repeat} requests each"
    )
    print(f"{'page':<20} {'median ms':>10} {'p95 ms':>8}")
    for name, path in PAGES.items():
        client.get(path)  # warm caches and the template
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{name:<20} {statistics.median(times):>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()

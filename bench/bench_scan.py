"""Benchmark of the cashier's screen: "scan an item and see it in the basket".

Setup (not timed): an SQLite store database with a ``--items`` catalog (50,000 by
default; names from word lists, so that searches match like on a real catalog), a
cashier, terminal T01 set up from an offline backup of it (Create Offline Backup
and Import Database: the same data as a network load, no store server needed);
then a real ``possync pos run`` process serving the screen on a loopback port (its
store address leads nowhere: the terminal is offline, as it may be in a shop).
A client signs in with the PIN over HTTP, like the browser.

Timed, over loopback HTTP, one request at a time:

  scan     ``POST /basket/scan`` (an htmx request, CSRF header) of a random
           barcode: the server finds the item, adds it to the basket in a write
           transaction (fsync included) and renders the sale region (basket,
           totals, payment dialog). The basket is emptied every ``--basket``
           scans (not timed), so baskets hold 1 to ``--basket`` lines.
  search   ``GET /items/search``: a name prefix (index), a text contained in
           names (table scan), a text found nowhere (the worst case: a full scan).
  pay      ``POST /basket/pay`` of a 3-line basket in cash: the sale (offline:
           committed locally) and the redirect to the receipt.

Reported: the server's own time (the ``Server-Timing`` header the app adds, from
the request's arrival in the app to its response start) and the round trip seen
by the client; median, p95, p99, max.

    python bench/bench_scan.py
    python bench/bench_scan.py --items 50000 --scans 2000 --json scan.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

import possync
from possync.retail import cashiers, catalog, offline_backup, store_admin
from possync.store.process import free_port
from possync.sync.db import open_engine, write_tx
from possync.terminal import restore

console = Console()
PIN = "2468"
BRANDS = [
    "Alpine",
    "Bio",
    "Classic",
    "Daily",
    "Essential",
    "Fresh",
    "Golden",
    "Harvest",
    "Island",
    "Jolly",
    "Kind",
    "Local",
    "Maison",
    "Nordic",
    "Organic",
    "Prime",
]
PRODUCTS = [
    "apple juice",
    "basmati rice",
    "butter",
    "cheddar",
    "coffee beans",
    "dark chocolate",
    "espresso",
    "green tea",
    "honey",
    "lentils",
    "milk",
    "olive oil",
    "orange juice",
    "pasta",
    "peanut butter",
    "rye bread",
    "sparkling water",
    "strawberry jam",
    "tomato sauce",
    "yoghurt",
]
SIZES = ["100 g", "250 g", "500 g", "1 kg", "250 ml", "500 ml", "1 l", "1.5 l"]


def catalog_csv(n: int) -> str:
    lines = ["sku,barcode,name,price,tax_code"]
    for i in range(1, n + 1):
        name = (
            f"{BRANDS[i % len(BRANDS)]} {PRODUCTS[(i // len(BRANDS)) % len(PRODUCTS)]} "
            f"{SIZES[i % len(SIZES)]} #{i}"
        )
        lines.append(f"SKU{i},{4000000000000 + i},{name},{1 + i % 40}.{i % 100:02d},STD")
    return "\n".join(lines) + "\n"


def setup(directory: Path, items: int) -> Path:
    started = time.perf_counter()
    store = open_engine(f"sqlite:///{directory / 'store.db'}")
    store_admin.init_store(store, "S01", "Bench Street")
    with write_tx(store) as conn:
        catalog.import_csv(conn, catalog_csv(items))
        cashiers.save(conn, "ADA", "Ada", pin=PIN)
    store_admin.add_terminal(store, "T01")
    made = offline_backup.create(
        store, "T01", directory / "T01.backup", store_url=f"http://127.0.0.1:{free_port()}"
    )
    restore.import_backup(directory / "T01.backup", directory / "T01", "T01", made.import_code)
    store.dispose()
    console.print(
        f"setup: {items:,} items, terminal T01 imported in {time.perf_counter() - started:.1f} s"
    )
    return directory / "T01"


def start_screen(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "possync",
                "pos",
                "run",
                "--data",
                str(data),
                "--ui-port",
                str(port),
                "--interval",
                "3600",
                "--max-backoff",
                "3600",
                "--purge-older-than",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/signin", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"pos run did not start; see {log}")


def sign_in(client: httpx.Client) -> str:
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    answer = client.post(
        "/signin", data={"cashier_id": "ADA", "pin": PIN, "csrf_token": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    session = re.search(r'"x-csrf-token": "([^"]+)"', client.get("/").text)
    assert session
    return session.group(1)


def server_ms(response: httpx.Response) -> float:
    timing = re.search(r"app;dur=([0-9.]+)", response.headers.get("server-timing", ""))
    assert timing, "no Server-Timing header"
    return float(timing.group(1))


class Sample:
    def __init__(self) -> None:
        self.server: list[float] = []
        self.round_trip: list[float] = []

    def timed(self, call: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = call(*args, **kwargs)
        self.round_trip.append((time.perf_counter() - started) * 1000)
        self.server.append(server_ms(response))
        return response


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": round(statistics.median(values), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="possync-bench-scan-") as tmp:
        directory = Path(tmp)
        data = setup(directory, args.items)
        proc, url = start_screen(data, directory / "pos-run.log")
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                token = sign_in(client)
                htmx = {"hx-request": "true", "x-csrf-token": token}

                def scan(code: str) -> httpx.Response:
                    return client.post("/basket/scan", data={"code": code}, headers=htmx)

                def clear() -> None:
                    cancelled = client.post("/basket/clear", data={"reason": "bench"}, headers=htmx)
                    assert cancelled.status_code == 200

                def barcode() -> str:
                    return str(4000000000000 + rng.randint(1, args.items))

                for _ in range(args.warmup):
                    scan(barcode())
                clear()
                scans = Sample()
                for i in range(args.scans):
                    if i and i % args.basket == 0:
                        clear()
                    answer = scans.timed(scan, barcode())
                    assert answer.status_code == 200, answer.text[:300]
                clear()

                searches: dict[str, Sample] = {}
                queries = {
                    "search, name prefix": lambda: (
                        rng.choice(BRANDS) + " " + rng.choice(PRODUCTS)[:3]
                    ),
                    "search, contained text": lambda: (
                        rng.choice(PRODUCTS)[2:] + " " + rng.choice(SIZES)
                    ),
                    "search, found nowhere": lambda: f"zz{rng.randint(0, 999)}",
                }
                for label, query in queries.items():
                    sample = searches[label] = Sample()
                    for _ in range(args.searches):
                        sample.timed(
                            client.get, "/items/search", params={"q": query()}, headers=htmx
                        )

                pays = Sample()
                for _ in range(args.sales):
                    for _ in range(3):
                        scan(barcode())
                    answer = pays.timed(
                        client.post, "/basket/pay", data={"amount_CASH": "1000"}, headers=htmx
                    )
                    assert answer.status_code == 204, answer.text[:300]
        finally:
            proc.terminate()
            proc.wait(20)
    results = {
        "scan": {"server_ms": summary(scans.server), "round_trip_ms": summary(scans.round_trip)},
        **{
            label: {"server_ms": summary(s.server), "round_trip_ms": summary(s.round_trip)}
            for label, s in searches.items()
        },
        "pay (3 lines, cash)": {
            "server_ms": summary(pays.server),
            "round_trip_ms": summary(pays.round_trip),
        },
    }
    return results


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
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
        "python": platform.python_version(),
        "commit": commit,
        "possync": str(Path(possync.__file__).parent),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description="possync cashier's screen benchmark: scan, search, pay",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--items", type=int, default=50_000, help="catalog size")
    parser.add_argument("--scans", type=int, default=2000, help="timed scans (>= 1000)")
    parser.add_argument("--basket", type=int, default=20, help="lines before the basket is emptied")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--searches", type=int, default=300, help="per kind of search")
    parser.add_argument("--sales", type=int, default=200, help="timed payments")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    info = machine()
    results = run(args)
    table = Table(title=f"cashier's screen, {args.items:,} items (ms)")
    table.add_column("request")
    for col in ("server median", "p95", "p99", "max", "round trip median", "p95 "):
        table.add_column(col, justify="right")
    for label, r in results.items():
        s, t = r["server_ms"], r["round_trip_ms"]
        table.add_row(
            f"{label} (n={s['n']})",
            str(s["median"]),
            str(s["p95"]),
            str(s["p99"]),
            str(s["max"]),
            str(t["median"]),
            str(t["p95"]),
        )
    console.print(table)
    target = results["scan"]["server_ms"]["median"]
    console.print(
        f"scan: median server time {target} ms (target < 50 ms: "
        f"{'met' if target < 50 else 'NOT met'})"
    )
    console.print(
        f"{info['cpu']}, {info['nproc']} CPUs, Python {info['python']}, "
        f"commit {info['commit']}, {info['date']}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "args": vars(args) | {"json": str(args.json)},
                    "results": results,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

"""``possync demo``: a store, two terminals selling offline, then a sync."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Annotated

import typer

from possync.cli.common import console, print_json
from possync.retail import catalog, reports, sales, store_admin
from possync.retail import stock as stock_rules
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, write_tx
from possync.terminal import provision, syncer
from possync.terminal.local import Terminal
from possync.transport.client import Unreachable


def sample_catalog(count: int) -> str:
    rng = random.Random(7)
    words = [
        "Apple",
        "Bread",
        "Cheese",
        "Milk",
        "Coffee",
        "Tea",
        "Rice",
        "Pasta",
        "Soap",
        "Juice",
        "Butter",
        "Eggs",
        "Honey",
        "Salt",
        "Sugar",
        "Flour",
        "Water",
        "Oil",
    ]
    lines = ["sku,barcode,name,price,tax_code"]
    for i in range(1, count + 1):
        name = f"{rng.choice(words)} {rng.choice(['Organic', 'Classic', 'Family', 'Mini'])} {i}"
        price = f"{rng.randint(50, 2500) / 100:.2f}"
        tax = rng.choice(["STD", "RED", "RED", "ZERO"])
        lines.append(f"SKU{i},{4000000000000 + i},{name},{price},{tax}")
    return "\n".join(lines) + "\n"


def demo(
    workdir: Annotated[Path, typer.Option(help="Where to put the demo databases")] = Path(
        "demo-data"
    ),
) -> None:
    """Run the whole story on SQLite and print the store status."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    db_url = f"sqlite:///{workdir / 'store.db'}"
    engine = open_engine(db_url)
    store_admin.init_store(engine, "S01", "Main Street")
    with write_tx(engine) as conn:
        n = catalog.import_csv(conn, sample_catalog(200))
        for sku in ("SKU1", "SKU2", "SKU3"):
            stock_rules.adjust(conn, "S01", sku, 100, "goods_receipt")
    console.print(f"[bold]store S01[/] created with {n} items, 100 each of SKU1..SKU3 in stock")

    codes = {t: store_admin.add_terminal(engine, t).registration_code for t in ("T01", "T02")}
    terminals: dict[str, Terminal] = {}
    with StoreProcess(db_url, log_path=workdir / "store.log") as server:
        for t, code in codes.items():
            term = provision.register(workdir / t.lower(), server.url, t, code)
            rows = provision.initial_load(term)
            terminals[t] = term
            console.print(f"terminal {t} registered with {server.url}, {rows} rows loaded")

    console.print("[bold yellow]store server stopped: the terminals sell offline[/]")
    for t, term in terminals.items():
        till = term.till()
        for basket in (["SKU1:2", "SKU2:1"], ["SKU3:5"], ["SKU1:1", "SKU3:1", "SKU2:2"]):
            lines = [sales.LineRequest(c, int(q)) for c, q in (s.split(":") for s in basket)]
            with write_tx(term.engine) as conn:
                r = sales.record_sale(conn, till, lines, [sales.PaymentRequest("CASH")])
            console.print(f"  {t} sold {' '.join(basket):<22} -> {r.receipt_no}")
        try:
            syncer.sync(term)
        except Unreachable as exc:
            console.print(f"  {t} cannot sync while the store is down: {exc}")

    with StoreProcess(db_url, port=server.port, log_path=workdir / "store.log"):
        console.print("[bold green]store server back: syncing[/]")
        for _ in range(2):  # a second round brings each terminal the others' movements
            for t, term in terminals.items():
                report = syncer.sync(term)
                console.print(f"  {t}: pushed {report.pushed}, pulled {report.pulled} changes")
    status = reports.store_status(engine)
    status["stock"] = {k: v for k, v in status["stock"].items() if k in ("SKU1", "SKU2", "SKU3")}
    print_json(status)

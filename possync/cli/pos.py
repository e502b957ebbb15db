"""``possync pos ...``: a POS terminal on the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress

from possync.cli.common import DataDir, JsonFlag, console, print_json, user_errors
from possync.retail import customers, sales
from possync.retail.errors import RetailError
from possync.retail.money import parse_amount
from possync.sync.db import write_tx
from possync.terminal import provision, syncer
from possync.terminal.local import Terminal
from possync.terminal.status import terminal_status

app = typer.Typer(help="Run a POS terminal.", no_args_is_help=True)
customer_app = typer.Typer(help="Customers.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")

StoreUrlOnce = Annotated[
    str | None,
    typer.Option("--store-url", help="Use this store address for this command only"),
]


def parse_lines(specs: list[str]) -> list[sales.LineRequest]:
    lines = []
    for spec in specs:
        code, _, qty = spec.partition(":")
        try:
            lines.append(sales.LineRequest(code, int(qty) if qty else 1))
        except ValueError:
            raise RetailError(f"expected CODE or CODE:QTY, got {spec!r}") from None
    return lines


def parse_payment(spec: str) -> sales.PaymentRequest:
    method, _, rest = spec.partition(":")
    amount_text, _, reference = rest.partition(":")
    amount = parse_amount(amount_text) if amount_text else None
    return sales.PaymentRequest(method.upper(), amount, reference or None)


@app.command()
def init(
    data: DataDir,
    store_url: Annotated[str, typer.Option("--store-url", help="e.g. http://store:8600")],
    terminal: Annotated[str, typer.Option("--terminal", help="This terminal's id")],
    code: Annotated[str, typer.Option("--code", help="One-time registration code")],
) -> None:
    """Synchronize with Store: register, then load this terminal's data (resumable)."""
    with user_errors():
        term = provision.register(data, store_url, terminal, code)
        with Progress(console=console, transient=True) as bar:
            tasks: dict[str, int] = {}

            def show(table: str, rows: int, done: bool) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(f"loading {table}", total=None)
                bar.update(tasks[table], completed=rows, description=f"loading {table}: {rows}")

            loaded = provision.initial_load(term, show)
    console.print(f"terminal {terminal} ready; {loaded} rows loaded from {store_url}")


@app.command()
def sell(
    data: DataDir,
    items: Annotated[list[str], typer.Argument(help="SKU or barcode, optionally :QTY")],
    pay: Annotated[
        list[str], typer.Option(help="METHOD[:AMOUNT[:REF]], e.g. cash or card:10.00:123")
    ],
    cashier: Annotated[str | None, typer.Option()] = None,
    customer: Annotated[str | None, typer.Option(help="Customer id")] = None,
    json: JsonFlag = False,
) -> None:
    """Record a sale locally (works with the store down); prints the receipt number."""
    with user_errors():
        term = Terminal.open(data)
        till = term.till()
        with write_tx(term.engine) as conn:
            summary = sales.record_sale(
                conn,
                till,
                parse_lines(items),
                [parse_payment(p) for p in pay],
                cashier_id=cashier,
                customer_id=customer,
            )
    if json:
        print_json(summary.as_dict())
    else:
        d = summary.as_dict()
        console.print(f"{d['receipt_no']}  total {d['total']}  change {d['change_due']}")


@app.command("return")
def return_items(
    data: DataDir,
    receipt_no: Annotated[str, typer.Argument(help="The sale's receipt number")],
    items: Annotated[list[str], typer.Argument(help="SKU or barcode, optionally :QTY")],
    refund: Annotated[str, typer.Option(help="Refund method")] = "CASH",
    json: JsonFlag = False,
) -> None:
    """Take back lines of a sale made on this terminal."""
    with user_errors():
        term = Terminal.open(data)
        till = term.till()
        with write_tx(term.engine) as conn:
            summary = sales.record_return(
                conn, till, receipt_no, parse_lines(items), refund_method=refund.upper()
            )
    if json:
        print_json(summary.as_dict())
    else:
        d = summary.as_dict()
        console.print(f"{d['receipt_no']}  refund {d['total']}")


@customer_app.command("add")
def add_customer(
    data: DataDir,
    name: str,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    json: JsonFlag = False,
) -> None:
    """Create a customer on this terminal (numbered from its own series)."""
    with user_errors():
        term = Terminal.open(data)
        till = term.till()
        with write_tx(term.engine) as conn:
            row = customers.create_on_terminal(conn, till.terminal_id, name, email, phone)
    if json:
        print_json(row)
    else:
        console.print(f"{row['customer_no']}  {row['name']}  ({row['customer_id']})")


@app.command()
def sync(data: DataDir, store_url: StoreUrlOnce = None, json: JsonFlag = False) -> None:
    """Synchronize Data from Store now: push pending changes, pull new ones."""
    with user_errors():
        report = syncer.sync(Terminal.open(data), url=store_url)
    if json:
        print_json(report.as_dict())
    else:
        console.print(
            f"pushed {report.pushed} changes in {report.push_batches} batches, "
            f"pulled {report.pulled} changes in {report.pull_batches} batches"
        )


@app.command()
def config(
    data: DataDir,
    store_url: Annotated[str | None, typer.Option("--store-url", help="New store address")] = None,
) -> None:
    """Show or change this terminal's settings (e.g. the store moved)."""
    with user_errors():
        term = Terminal.open(data)
        if store_url:
            term.set_store_url(store_url)
        console.print(f"store url: {term.store_url()}")


@app.command()
def status(data: DataDir, json: JsonFlag = False) -> None:
    """Pending changes, last sync, last error, store reachability."""
    with user_errors():
        info = terminal_status(Terminal.open(data))
    if json:
        print_json(info)
        return
    for key, value in info.items():
        console.print(f"{key:>18}: {value}")

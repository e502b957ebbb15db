"""``possync pos ...``: a POS terminal on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from possync.cli.common import (
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    DataDir,
    JsonFlag,
    console,
    fail,
    print_json,
    user_errors,
)
from possync.retail import customers, sales
from possync.retail.errors import RetailError
from possync.retail.money import parse_amount
from possync.sync.db import write_tx
from possync.sync.errors import SyncError
from possync.terminal import modes, provision, selling, syncer, trust
from possync.terminal.local import Terminal, read_ca_file
from possync.terminal.status import terminal_status
from possync.transport.client import Refused, Unreachable

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Run a POS terminal.", no_args_is_help=True)
customer_app = typer.Typer(help="Customers.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")

CaFile = Annotated[
    Path | None,
    typer.Option(
        "--ca-file",
        metavar="FILE",
        help="Trust only this CA certificate (PEM) for an https store, e.g. its self-signed one",
    ),
]
Pin = Annotated[
    str | None,
    typer.Option(
        "--pin",
        metavar="sha256:HEX",
        help="Check the store by its certificate's fingerprint, as printed with the code",
    ),
]
InsecureHttp = Annotated[
    bool,
    typer.Option(
        "--insecure-http",
        help="Accept a plain http:// store on another machine (the secret travels in clear)",
    ),
]
StoreUrlOnce = Annotated[
    str | None,
    typer.Option("--store-url", help="Use this store address for this command only"),
]


def parse_lines(specs: list[str]) -> list[sales.LineRequest]:
    """``SKU`` or ``SKU:QTY``; a quantity is 1 to basket.MAX_QTY, as on the till."""
    from possync.retail.basket import parse_qty  # (kept local: this edit stays in here)

    lines = []
    for spec in specs:
        code, sep, qty = spec.partition(":")
        if not code or (sep and not qty):
            raise RetailError(f"expected CODE or CODE:QTY, got {spec!r}")
        try:
            lines.append(sales.LineRequest(code, parse_qty(qty) if sep else 1))
        except RetailError as exc:
            raise RetailError(f"{spec!r}: {exc}") from None
    return lines


def parse_payment(spec: str) -> sales.PaymentRequest:
    """Parsed before the sale is made, so a bad amount records nothing."""
    method, _, rest = spec.partition(":")
    amount_text, _, reference = rest.partition(":")
    try:
        amount = parse_amount(amount_text, negative=False) if amount_text else None
    except RetailError as exc:
        raise RetailError(f"--pay {spec[:40]!r}: {exc}") from None
    return sales.PaymentRequest(method.upper(), amount, reference or None)


@app.command()
def init(
    data: DataDir,
    store_url: Annotated[str, typer.Option("--store-url", help="e.g. http://store:8600")],
    terminal: Annotated[str, typer.Option("--terminal", help="This terminal's id")],
    code: Annotated[str, typer.Option("--code", help="One-time registration code")],
    chunk_rows: Annotated[
        int, typer.Option(help="Rows per chunk (smaller on slow links)", min=100, max=10_000)
    ] = provision.CHUNK_ROWS,
    ca_file: CaFile = None,
    pin: Pin = None,
    insecure_http: InsecureHttp = False,
) -> None:
    """Synchronize with Store: register, then load this terminal's data (resumable).
    A registration that fails leaves nothing behind: run it again as it should be."""
    with user_errors():
        try:
            term = provision.register(
                data, store_url, terminal, code, ca_file, pin=pin, insecure_http=insecure_http
            )
        except Refused as exc:
            if exc.code in REGISTRATION_HINTS:
                fail(f"{exc.message}. {REGISTRATION_HINTS[exc.code].format(terminal=terminal)}")
            raise
    # Registered: an interrupted load is carried on by the same command.
    with user_errors(
        hint="registered with the store; run the same 'possync pos init' again "
        "to finish loading where it stopped"
    ):
        loaded = _load(term, chunk_rows)
    console.print(f"terminal {terminal} ready; {loaded} rows loaded from {store_url}")


# What to do when the store refuses a registration (shared with the first-start screen).
REGISTRATION_HINTS = provision.REGISTRATION_HINTS


def _load(term: Terminal, chunk_rows: int) -> int:
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows, ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("loading", total=None)

        def show(status: provision.LoadStatus) -> None:
            bar.update(
                task,
                completed=status.rows_loaded,
                total=status.rows_total,
                description=f"loading {status.table}",
            )

        return provision.initial_load(term, show, chunk_rows)


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
    """Record a sale: locally when offline (works with the store down), confirmed by
    the store when online. Prints the receipt number."""
    with user_errors():
        outcome = selling.sell(
            Terminal.open(data),
            parse_lines(items),
            [parse_payment(p) for p in pay],
            cashier_id=cashier,
            customer_id=customer,
        )
    if json:
        print_json(outcome.as_dict())
        return
    d = outcome.as_dict()
    state = "confirmed by the store" if outcome.confirmed else outcome.mode.upper()
    console.print(f"{d['receipt_no']}  total {d['total']}  change {d['change_due']}  ({state})")
    if outcome.note:
        console.print(f"[yellow]{outcome.note}[/]")


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


@customer_app.command("set")
def set_customer(
    data: DataDir,
    customer_no: Annotated[str, typer.Argument(help="The customer's number")],
    name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option(help="'' clears it")] = None,
    phone: Annotated[str | None, typer.Option(help="'' clears it")] = None,
    json: JsonFlag = False,
) -> None:
    """Change a customer's contact fields (any customer of the store, works offline);
    edits made on several tills merge field by field at the next syncs."""
    with user_errors():
        term = Terminal.open(data)
        till = term.till()
        with write_tx(term.engine) as conn:
            row = customers.change_contact(
                conn, till.terminal_id, customer_no, name=name, email=email, phone=phone
            )
    if json:
        print_json(row)
    else:
        console.print(
            f"{row['customer_no']}  {row['name']}  {row['email'] or ''}  {row['phone'] or ''}"
        )


@app.command()
def sync(data: DataDir, store_url: StoreUrlOnce = None, json: JsonFlag = False) -> None:
    """Synchronize Data from Store now: push pending changes, pull new ones."""
    with user_errors():
        # wait for a scheduled sync that is running, rather than refuse
        report = syncer.sync(Terminal.open(data), url=store_url, wait_for_lock=60.0)
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
    fallback: Annotated[
        bool | None,
        typer.Option(
            "--fallback/--no-fallback",
            help="Online mode: switch to offline by itself when the store is unreachable",
        ),
    ] = None,
    ca_file: CaFile = None,
    system_ca: Annotated[
        bool,
        typer.Option(
            "--system-ca", help="Forget --ca-file and --pin: trust the system's CAs again"
        ),
    ] = False,
    pin: Pin = None,
    insecure_http: InsecureHttp = False,
) -> None:
    """Show or change this terminal's settings (e.g. the store moved)."""
    if sum((ca_file is not None, system_ca, pin is not None)) > 1:
        fail("--ca-file, --pin and --system-ca are three ways to check the store: give one")
    with user_errors():
        # all checked before any change
        ca_pem = read_ca_file(ca_file) if ca_file is not None else None
        pin_hex = trust.check_pin(pin) if pin is not None else None
        term = Terminal.open(data)
        url = (store_url or term.store_url()).rstrip("/")
        if store_url or pin_hex is not None:
            keeps_pin = term.store_pin() is not None and not system_ca and ca_pem is None
            trust.check_store_url(
                url, insecure_http=insecure_http, pinned=pin_hex is not None or keeps_pin
            )
        if store_url:
            term.set_store_url(store_url)
            trust.remember_insecure_http(term, url, insecure_http)
        if fallback is not None:
            modes.set_fallback(term, fallback)
        if ca_pem is not None or pin_hex is not None or system_ca:
            term.set_store_ca(ca_pem)  # one way at a time
            term.set_store_pin(pin_hex)
        console.print(f"store url: {term.store_url()}")
        console.print(f"store certificate checked {describe_check(term)}", highlight=False)
        console.print(
            f"mode: {modes.current(term)}; falls back to offline: "
            f"{'yes' if modes.falls_back(term) else 'no'}"
        )


def describe_check(term: Terminal) -> str:
    link = trust.describe(term, term.store_url())
    return {
        "plain-http": "by nobody: PLAIN HTTP"
        + (" to another machine (--insecure-http)" if link["store_insecure_http"] else ""),
        "pinned": f"by its pinned fingerprint {link['store_tls_pin']}",
        "ca-file": "against: the CA given with --ca-file",
        "system-ca": "against: the system's CAs",
    }[link["store_tls"]]


@app.command()
def online(data: DataDir, store_url: StoreUrlOnce = None, json: JsonFlag = False) -> None:
    """Enable Online POS: push everything pending, pull the latest, then switch to
    online. If that cannot complete, the terminal stays offline and says why."""
    term = Terminal.open(data)
    try:
        report = modes.enable_online(term, url=store_url)
    except (RetailError, SyncError, Refused, Unreachable) as exc:
        fail(
            f"still {modes.current(term).upper()}: {exc}",
            EXIT_UNREACHABLE if isinstance(exc, Unreachable) else EXIT_REFUSED,
        )
    if json:
        print_json({"mode": modes.current(term), **report.as_dict()})
    else:
        console.print(f"ONLINE (pushed {report.pushed}, pulled {report.pulled} changes first)")


@app.command()
def rescue(data: DataDir, json: JsonFlag = False) -> None:
    """Send this till's unsynced data to the store's quarantine, for an administrator
    to decide, when the store refuses this installation (a copy of the till, or a
    till whose database went back to an older copy)."""
    with user_errors():
        from possync.terminal.rescue import rescue as hand_over

        report = hand_over(Terminal.open(data))
    if json:
        print_json(report)
        return
    console.print(
        f"sent {report['sent']} change(s): {report['held']} document(s) wait in the store's "
        "quarantine for an administrator (possync store quarantine list)"
    )


@app.command()
def offline(data: DataDir) -> None:
    """Switch to offline mode (offline-enabled terminals only)."""
    with user_errors():
        term = Terminal.open(data)
        modes.go_offline(term)
    console.print("OFFLINE: sales commit locally; the agent syncs when the store answers")


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

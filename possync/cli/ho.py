"""``possync ho``: the head office of a chain of stores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from possync.cli.common import (
    CashierId,
    CashierName,
    CashierPin,
    DbUrl,
    DiscountLimit,
    JsonFlag,
    Manager,
    PasswordStdin,
    add_console_admin,
    console,
    fail,
    print_json,
    user_errors,
)
from possync.retail import catalog, chain, database, discounts
from possync.sync.db import open_engine, read_tx, write_tx

app = typer.Typer(help="The head office of a chain of stores.", no_args_is_help=True)
store_app = typer.Typer(help="The chain's stores.", no_args_is_help=True)
items_app = typer.Typer(help="The chain's catalog.", no_args_is_help=True)
price_app = typer.Typer(help="Prices.", no_args_is_help=True)
stock_app = typer.Typer(help="Stock of the stores, moved from head office.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrators of the enterprise console.", no_args_is_help=True)
cashier_app = typer.Typer(help="The chain's cashiers, each at a store.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(admin_app, name="admin")
app.add_typer(cashier_app, name="cashier")
app.add_typer(items_app, name="items")
app.add_typer(price_app, name="price")
app.add_typer(stock_app, name="stock")

Sku = Annotated[str, typer.Argument(help="Item SKU")]
StoreId = Annotated[str, typer.Argument(help="Store id, e.g. S01")]
HISTORY_DAYS = 3653  # head office keeps the chain's history: ten years by default


@app.command()
def init(
    db: DbUrl,
    name: Annotated[str, typer.Option(help="The chain's name")],
    node_id: Annotated[str, typer.Option("--id", help="Head office's node id")] = "HO",
) -> None:
    """Create the head office database (tax rates and payment methods to start from)."""
    with user_errors():
        chain.init_head_office(open_engine(db), name, node_id)
    console.print(f"head office {node_id} of {name} ready")


@store_app.command("add")
def add_store(
    store: StoreId,
    db: DbUrl,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "EUR",
) -> None:
    """Add a store (or give it a new code): prints the one-time code it joins with."""
    with user_errors():
        new = chain.add_store(database.open_store(db), store, name=name, currency=currency)
    console.print(f"store {new.store_id}: join code [bold]{new.registration_code}[/]")
    console.print(
        f"on the store server: possync store join --db URL --ho-url URL --code "
        f"{new.registration_code}",
        highlight=False,
    )


@store_app.command("suspend")
def suspend_store(
    store: StoreId,
    db: DbUrl,
    minutes: Annotated[int, typer.Option(help="How long, 1 to 10080 (7 days)")] = 30,
    json: JsonFlag = False,
) -> None:
    """Suspend a store's sync with head office: refused, telling the store until
    when; the store and its tills keep selling, and what it holds waits."""
    with user_errors():
        until = chain.suspend_store(database.open_store(db), store, minutes)
    if json:
        print_json({"store_id": store, "suspended_until": until})
        return
    console.print(f"sync of store {store} suspended until {until}")


@store_app.command("resume")
def resume_store(store: StoreId, db: DbUrl, json: JsonFlag = False) -> None:
    """Resume a suspended store's sync at once (else it resumes when the time is up)."""
    with user_errors():
        chain.suspend_store(database.open_store(db), store, None)
    if json:
        print_json({"store_id": store, "suspended_until": None})
        return
    console.print(f"sync of store {store} resumed")


@cashier_app.command("add")
def add_cashier(
    cashier: CashierId,
    db: DbUrl,
    name: CashierName,
    pin: CashierPin,
    store: Annotated[
        str | None, typer.Option(help="The store they work at (default: every store)")
    ] = None,
    manager: Manager = None,
    discount_limit: DiscountLimit = None,
) -> None:
    """Add a cashier of the chain, or change one's name, PIN and store: their row
    reaches that store (or every store) and its tills at their next syncs."""
    with user_errors():
        authority = discounts.authority(manager, discount_limit)
        chain.save_cashier(database.open_store(db), cashier, name, pin, store, **authority)
    console.print(f"cashier {cashier} ({name}) saved, at {store or 'every store'}")


@admin_app.command("add")
def add_admin(
    name: Annotated[str, typer.Argument(help="User name to sign in with")],
    db: DbUrl,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an administrator of the enterprise console, or set a new password (asked
    twice if not piped); a new password ends that administrator's sessions."""
    with user_errors():
        engine = database.open_store(db)
    add_console_admin(engine, name, password_stdin, chain.require_head_office)


@items_app.command("import")
def import_items(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    db: DbUrl,
) -> None:
    """Import the chain's catalog CSV (sku,barcode,name,price,tax_code): all or none."""
    from possync.cli.common import show_import  # (local: keeps this edit to this command)

    with user_errors():
        engine = database.open_store(db)
        with write_tx(engine) as conn:
            chain.require_head_office(conn)
            report = catalog.import_catalog(conn, file.read_bytes())
    show_import(report, json=False, then="; the stores receive them at their next sync")


ForStore = Annotated[
    str | None, typer.Option("--store", help="Only this store's price (its own, from now on)")
]


@price_app.command("set")
def set_price(sku: Sku, price: str, db: DbUrl, store: ForStore = None) -> None:
    """Set an item's chain price (tax included), or one store's own price with
    --store; it reaches the store(s) concerned, then their tills."""
    with user_errors():
        chain.set_price(database.open_store(db), sku, price, store)
    console.print(f"{sku}: {price}" + (f" at {store}" if store else " (chain price)"))


@price_app.command("clear")
def clear_price(
    sku: Sku, db: DbUrl, store: Annotated[str, typer.Option("--store", help="The store")]
) -> None:
    """A store sells the item at the chain's price again."""
    with user_errors():
        had = chain.clear_store_price(database.open_store(db), sku, store)
    note = "" if had else " (it had no price of its own)"
    console.print(f"{sku} at {store}: chain price{note}")


def _moved(store_id: str, sku: str, db: str) -> None:
    with user_errors():
        engine = database.open_store(db)
        with read_tx(engine) as conn:
            level = chain.stock_by_store(conn).get(store_id, {}).get(sku, 0)
    console.print(f"{store_id} {sku}: on hand {level} as head office knows it")


@stock_app.command("transfer")
def transfer(
    from_store: StoreId,
    to_store: StoreId,
    sku: Sku,
    qty: Annotated[int, typer.Argument(help="Units moved")],
    db: DbUrl,
) -> None:
    """Move stock from one store to another (two movements, one per store)."""
    with user_errors():
        chain.transfer(database.open_store(db), from_store, to_store, sku, qty)
    _moved(from_store, sku, db)
    _moved(to_store, sku, db)


@stock_app.command("adjust")
def adjust(
    store: StoreId,
    sku: Sku,
    qty: Annotated[int, typer.Argument(help="Signed quantity: +10 received, -2 broken")],
    db: DbUrl,
    reason: Annotated[str, typer.Option(help="goods_receipt, adjustment...")] = "goods_receipt",
) -> None:
    """Record a movement of a store's stock decided at head office."""
    with user_errors():
        chain.adjust(database.open_store(db), store, sku, qty, reason)
    _moved(store, sku, db)


@stock_app.command("count")
def count(
    store: StoreId,
    sku: Sku,
    counted: Annotated[int, typer.Argument(help="Units counted")],
    db: DbUrl,
) -> None:
    """A stock count: the movement that brings on-hand to what was counted."""
    with user_errors():
        moved = chain.count(database.open_store(db), store, sku, counted)
    console.print(f"{store} {sku}: counted {counted}, movement {moved:+d}")


@app.command()
def status(db: DbUrl, json: JsonFlag = False) -> None:
    """The chain's stores: their link, backlog, receipts, tills as they relay them."""
    with user_errors():
        info = chain.status(database.open_store(db))
    if json:
        print_json(info)
        return
    ho = info["head_office"]
    console.print(f"[bold]{ho['node_id']}[/] {ho['name']}")
    table = Table("store", "joined", "last sync", "to send", "unsent", "held", "sales", "tills")
    for s in info["stores"]:
        table.add_row(
            s["store_id"],
            "yes" if s["joined"] else "no",
            s["last_sync_at"] or "-",
            str(s["to_send"]),
            str(s["unsent"]),
            str(s["quarantined"]),
            str(s["sales"]),
            str(len(s["tills"])),
        )
    console.print(table)


@app.command()
def serve(
    db: DbUrl,
    port: Annotated[int, typer.Option(help="TCP port")] = 8800,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    workers: Annotated[
        int, typer.Option(help="Server processes (PostgreSQL only: SQLite has one writer)")
    ] = 1,
    stale_after: Annotated[
        float, typer.Option(help="Minutes after which the dashboard flags a silent store")
    ] = 15,
    secure_cookies: Annotated[
        str,
        typer.Option(
            help="auto: Secure cookies over HTTPS; always: behind a TLS proxy that does not "
            "pass the scheme"
        ),
    ] = "auto",
) -> None:
    """Serve the sync API for the chain's store servers and the enterprise console
    (/console/); several worker processes on PostgreSQL (any load balancer in front
    of several machines works the same)."""
    from possync.headoffice.console.settings import ConsoleSettings
    from possync.headoffice.server import serve as run
    from possync.transport.workers import WorkersError, check_workers

    try:
        check_workers(db, workers, node="head office")
    except WorkersError as exc:
        fail(str(exc))
    if secure_cookies not in ("auto", "always"):
        fail("--secure-cookies is auto or always")
    if stale_after < 1:
        fail("--stale-after is at least 1 minute")
    settings = ConsoleSettings(stale_after=stale_after * 60, secure_cookies=secure_cookies)
    with user_errors():  # not a head office database: said before anything listens
        engine = database.open_store(db)
        with read_tx(engine) as conn:
            chain.require_head_office(conn)
        engine.dispose()
        run(db, host, port, settings, workers=workers)


@app.command()
def purge(
    db: DbUrl,
    older_than: Annotated[
        int,
        typer.Option(
            "--older-than", min=1, metavar="DAYS", help="Keep the chain's history younger than DAYS"
        ),
    ] = HISTORY_DAYS,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go")] = False,
    json: JsonFlag = False,
) -> None:
    """Compact head office's change log as far as every store has acknowledged it, and
    delete transactions older than DAYS (default: ten years, the chain's history)."""
    from possync.cli.purge import show
    from possync.retail import purge_job

    with user_errors():
        engine = database.open_store(db)
        with read_tx(engine) as conn:
            chain.require_head_office(conn)
        report = purge_job.run(engine, older_than, keep_last_documents=True, dry_run=dry_run)
    if json:
        print_json(report.as_dict())
    else:
        show(report)

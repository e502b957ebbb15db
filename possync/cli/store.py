"""``possync store ...``: set up and run a store server."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    show_import,
    user_errors,
)
from possync.retail import (
    cashiers,
    catalog,
    database,
    discounts,
    offline_admin,
    reports,
    store_admin,
)
from possync.retail import stock as stock_rules
from possync.store import upstream
from possync.sync.db import open_engine, read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="Set up and run a store server.", no_args_is_help=True)
items_app = typer.Typer(help="The item catalog.", no_args_is_help=True)
terminal_app = typer.Typer(help="POS terminals of the store.", no_args_is_help=True)
stock_app = typer.Typer(help="Stock movements made on the store.", no_args_is_help=True)
cashier_app = typer.Typer(help="Cashiers who sign in at the tills.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrators of the web console.", no_args_is_help=True)
offline_app = typer.Typer(
    help="Enable Offline Store: may terminals work offline?", no_args_is_help=True
)
app.add_typer(items_app, name="items")
app.add_typer(terminal_app, name="terminal")
app.add_typer(stock_app, name="stock")
app.add_typer(offline_app, name="offline")
app.add_typer(cashier_app, name="cashier")
app.add_typer(admin_app, name="admin")
Force = Annotated[bool, typer.Option("--force", help="Do it anyway (written to the admin log)")]


@app.command()
def init(
    db: DbUrl,
    store: Annotated[str, typer.Option("--store", help="Store id, e.g. S01")],
    name: Annotated[str, typer.Option("--name", help="Store name")],
    currency: Annotated[str, typer.Option("--currency")] = "EUR",
    offline: Annotated[
        bool, typer.Option("--offline-store/--no-offline-store", help="Enable Offline Store")
    ] = True,
    self_signed_cert: Annotated[
        bool,
        typer.Option(
            "--self-signed-cert",
            "--tls",
            help="Make a self-signed TLS certificate that store serve then uses; tills pin "
            "its fingerprint (kept if made before)",
        ),
    ] = False,
    tls_hosts: Annotated[
        list[str] | None,
        typer.Option(
            "--tls-host",
            help="A name or address tills and browsers reach the store by (repeatable; "
            "localhost, 127.0.0.1 and this machine's name are always in)",
        ),
    ] = None,
    tls_dir: Annotated[
        Path | None,
        typer.Option(
            "--tls-dir", help="Where to write it (default: beside a SQLite database, else here)"
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--signing-key",
            envvar="POSSYNC_SIGNING_KEY",
            metavar="FILE",
            help="The store's backup signing key, made if missing (mode 0600; default: "
            "beside a SQLite database, else in ~/.local/share/possync/signing-keys/)",
        ),
    ] = None,
) -> None:
    """Create the store database (safe to run again)."""
    from possync.sync import signing_key

    with user_errors():
        engine = open_engine(db)
        store_admin.init_store(engine, store, name, currency, offline_enabled=offline)
        key = signing_key.ensure(engine, key_file)  # kept out of the database
    console.print(f"store {store} ({name}) ready in {db}")
    console.print(
        f"backup signing key {key.path} (readable by its owner only), fingerprint "
        f"{key.fingerprint}",
        highlight=False,
        soft_wrap=True,
    )
    if self_signed_cert or tls_hosts or tls_dir:
        make_certificate(engine, name, tls_hosts or [], tls_dir)


def make_certificate(engine: Engine, name: str, hosts: list[str], directory: Path | None) -> None:
    from possync.store import selfsigned, tls_state

    with user_errors():
        made = tls_state.self_signed(
            engine, directory, selfsigned.default_hosts() + hosts, f"possync store {name}"
        )
    console.print(
        f"{'made' if made.made else 'kept'} the TLS certificate {made.cert} "
        f"(key {made.key}, readable by its owner only); store serve uses it"
    )
    console.print(f"tills pin it with: --pin sha256:{made.sha256}", highlight=False, soft_wrap=True)


@items_app.command("import")
def import_items(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    db: DbUrl,
    json: JsonFlag = False,
) -> None:
    """Import a catalog CSV (sku,barcode,name,price,tax_code; separated by commas,
    semicolons or tabs; UTF-8 or Windows-1252): all lines or none. Lists what changed."""
    with user_errors():
        engine = database.open_store(db)
        with write_tx(engine) as conn:
            report = catalog.import_catalog(conn, file.read_bytes())
    show_import(report, json)


@terminal_app.command("add")
def add_terminal(
    terminal: Annotated[str, typer.Argument(help="Terminal id, e.g. T01")],
    db: DbUrl,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    offline_enabled: Annotated[bool, typer.Option("--offline-enabled/--online-only")] = True,
    json: JsonFlag = False,
) -> None:
    """Add a terminal (or re-provision it) and print its one-time registration code."""
    with user_errors():
        engine = database.open_store(db)
        new = store_admin.add_terminal(engine, terminal, name=name, offline_enabled=offline_enabled)
        pin = store_pin(engine)
    if json:
        print_json(
            {
                "terminal_id": terminal,
                "registration_code": new.registration_code,
                "series": new.series,
                "tls_pin": pin,
            }
        )
        return
    console.print(f"terminal {terminal} added; registration code (valid once, 7 days):")
    console.print(new.registration_code, style="bold")
    if pin is not None:
        # The till checks the store by this fingerprint: give it with the code.
        console.print("the store's TLS certificate, to pin on the till (pos init --pin):")
        console.print(pin, style="bold", highlight=False)
    for s in new.series:
        console.print(f"  {s['kind']:<8} series {s['prefix']}{s['start_no']:0{s['padding']}d}...")


def store_pin(engine: Engine) -> str | None:
    from possync.store import tls_state

    with read_tx(engine) as conn:
        return tls_state.pin(conn)


@cashier_app.command("add")
def add_cashier(
    cashier: CashierId,
    db: DbUrl,
    name: CashierName,
    pin: CashierPin,
    manager: Manager = None,
    discount_limit: DiscountLimit = None,
) -> None:
    """Add a cashier, or change one's name and PIN (reaches the tills at their next sync)."""
    with user_errors(), write_tx(database.open_store(db)) as conn:
        cashiers.save(conn, cashier, name, pin=pin, **discounts.authority(manager, discount_limit))
    console.print(f"cashier {cashier} ({name}) saved")


@admin_app.command("add")
def add_admin(
    name: Annotated[str, typer.Argument(help="User name to sign in with")],
    db: DbUrl,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a console administrator, or set a new password (asked twice if not piped)."""
    with user_errors():
        engine = database.open_store(db)
        store_admin.require_store(engine)
    add_console_admin(engine, name, password_stdin, lambda _conn: None)


@offline_app.command("enable")
def enable_offline(db: DbUrl) -> None:
    """Enable Offline Store: offline-enabled terminals may register and sync."""
    with user_errors():
        offline_admin.set_store_offline(database.open_store(db), True)
    console.print("offline mode enabled for the store")


@offline_app.command("disable")
def disable_offline(db: DbUrl, force: Force = False) -> None:
    """Disable offline use for the whole store (refused while offline terminals have
    unsynced data, unless --force)."""
    with user_errors():
        offline_admin.set_store_offline(database.open_store(db), False, force=force)
    console.print("offline mode disabled: offline-enabled terminals can no longer sync")


@terminal_app.command("set")
def set_terminal(
    terminal: Annotated[str, typer.Argument(help="Terminal id")],
    db: DbUrl,
    offline_enabled: Annotated[
        bool, typer.Option("--offline-enabled/--online-only", help="Off-line Enabled")
    ],
    force: Force = False,
) -> None:
    """Mark a terminal Off-line Enabled, or online only (refused while it has
    unsynced data, unless --force)."""
    with user_errors():
        offline_admin.set_terminal_offline(
            database.open_store(db), terminal, offline_enabled, force=force
        )
    console.print(f"{terminal}: {'offline-enabled' if offline_enabled else 'online only'}")


@terminal_app.command("series")
def series(
    terminal: Annotated[str, typer.Argument(help="Terminal id")],
    db: DbUrl,
    kind: Annotated[str | None, typer.Option(help="receipt, return, customer or z_report")] = None,
    prefix: Annotated[str | None, typer.Option()] = None,
    next_no: Annotated[int | None, typer.Option("--next", help="Next number to issue")] = None,
    padding: Annotated[int | None, typer.Option(help="Digits")] = None,
    json: JsonFlag = False,
) -> None:
    """Show a terminal's document-number series, or change one (Custom Series)."""
    with user_errors():
        engine = database.open_store(db)
        if kind is not None:
            offline_admin.change_series(
                engine, terminal, kind, prefix=prefix, next_no=next_no, padding=padding
            )
        elif prefix is not None or next_no is not None or padding is not None:
            fail("say which series to change with --kind")
        rows = offline_admin.series_of(engine, terminal)
    if json:
        print_json(rows)
        return
    for s in rows:
        console.print(
            f"{s['kind']:<8} {s['prefix']}{s['start_no']:0{s['padding']}d}  "
            f"(prefix {s['prefix']!r}, next {s['start_no']}, {s['padding']} digits)"
        )


@stock_app.command("adjust")
def adjust_stock(
    sku: str,
    qty: Annotated[int, typer.Argument(help="Signed quantity: +10 received, -2 broken")],
    db: DbUrl,
    reason: Annotated[str, typer.Option(help=", ".join(stock_rules.REASONS))] = "goods_receipt",
) -> None:
    """Record a stock movement on the store (it reaches the terminals at their next sync)."""
    with user_errors():
        engine = database.open_store(db)
        with write_tx(engine) as conn:
            store_id = store_admin.store_row(conn).store_id
            stock_rules.adjust(conn, store_id, sku, qty, reason)
        with read_tx(engine) as conn:
            level = stock_rules.on_hand(conn, store_id).get(sku, 0)
    console.print(f"{sku}: {qty:+d} ({reason}); on hand now {level}")


@app.command()
def serve(
    db: DbUrl,
    port: Annotated[int, typer.Option(help="TCP port")] = 8600,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    stale_after: Annotated[
        int, typer.Option(help="Dashboard: flag a terminal not heard from for MINUTES")
    ] = 15,
    backup_dir: Annotated[
        Path, typer.Option(help="Where console-made offline backups wait for download")
    ] = Path("possync-backups"),
    secure_cookies: Annotated[
        str, typer.Option(help="auto: Secure cookies over HTTPS; always: behind a TLS proxy")
    ] = "auto",
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", metavar="FILE", help="Serve HTTPS: certificate chain (PEM)"),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option("--tls-key", metavar="FILE", help="Serve HTTPS: its private key (PEM)"),
    ] = None,
    insecure_http: Annotated[
        bool,
        typer.Option(
            "--insecure-http",
            help="Serve plain HTTP, even beyond this machine or with a certificate from "
            "store init (secrets travel in clear; the dashboard says so)",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Server processes (PostgreSQL only: SQLite has one writer)")
    ] = 1,
    ho_sync_interval: Annotated[
        float,
        typer.Option(
            "--ho-sync-interval",
            min=0,
            metavar="SECONDS",
            help="A store that joined head office syncs with it this often (0: only by "
            "'store sync'); backs off while head office does not answer",
        ),
    ] = 60.0,
) -> None:
    """Run the store server (sync API and web console) until stopped."""
    from possync.store.console.base import ConsoleSettings
    from possync.store.server import TlsFilesError, check_tls_files
    from possync.store.server import serve as run
    from possync.transport.workers import WorkersError, check_workers

    try:
        check_tls_files(tls_cert, tls_key)
        check_workers(db, workers)
    except (TlsFilesError, WorkersError) as exc:
        fail(str(exc))

    if secure_cookies not in ("auto", "always"):
        fail("--secure-cookies is auto or always")
    if stale_after < 1:
        fail("--stale-after is at least 1 minute")
    settings = ConsoleSettings(
        stale_after=stale_after * 60, backup_dir=backup_dir, secure_cookies=secure_cookies
    )
    with user_errors():
        tls_cert, tls_key = prepare_tls(db, host, port, tls_cert, tls_key, insecure_http)
        start_upstream(db, ho_sync_interval)
        announce(host, port, https=tls_cert is not None)
        run(db, host, port, settings, tls_cert=tls_cert, tls_key=tls_key, workers=workers)


def announce(host: str, port: int, *, https: bool) -> None:
    """Where the store serves, said once at start (uvicorn itself logs warnings only)."""
    shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    base = f"{'https' if https else 'http'}://{f'[{shown}]' if ':' in shown else shown}:{port}"
    everywhere = f" (listening on every address of this machine, {host})" if shown != host else ""
    console.print(
        f"store server on {base}{everywhere}: sync API {base}/api/v1/ (tills' --store-url "
        f"{base}), web console {base}/console/; Ctrl-C stops it",
        highlight=False,
        soft_wrap=True,
    )


def start_upstream(db: str, interval: float) -> None:
    """The background sync with head office, in this (main) process whatever the
    number of workers: one sync with head office at a time."""
    import logging

    from possync.store.upstream_agent import UpstreamAgent
    from possync.sync.schedule import SyncSchedule

    engine = database.open_store(db)
    if interval <= 0 or not upstream.has_head_office(engine):
        engine.dispose()
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    UpstreamAgent(engine, SyncSchedule(interval=interval)).start()


def prepare_tls(
    db: str, host: str, port: int, cert: Path | None, key: Path | None, insecure_http: bool
) -> tuple[Path | None, Path | None]:
    """The certificate ``store serve`` uses (given, or made by store init), decided
    and recorded (for the dashboard, status and tills' pins) before it listens."""
    from possync.store import tls_state

    engine = database.open_store(db)
    try:
        return tls_state.prepare(engine, host, port, cert, key, insecure_http=insecure_http)
    finally:
        engine.dispose()


def serving_of(engine: Engine) -> tuple[dict[str, Any] | None, str | None]:
    """How the server last started (plain HTTP or TLS) and the pin tills use."""
    from possync.store import tls_state

    with read_tx(engine) as conn:
        return tls_state.serving(conn), tls_state.pin(conn)


def describe_serving(serving: dict[str, Any]) -> str:
    where = f"{serving['host']}:{serving['port']}"
    if serving["scheme"] == "https":
        return f"served over HTTPS on {where} (certificate sha256:{serving['cert_sha256']})"
    if serving["beyond_loopback"]:
        return f"[bold red]served over PLAIN HTTP on {where}[/] (--insecure-http): secrets in clear"
    return f"served over plain HTTP on {where}, this machine only"


@app.command()
def status(db: DbUrl, json: JsonFlag = False) -> None:
    """Terminals, their last sync, received receipts and stock."""
    with user_errors():
        engine = database.open_store(db)
        info = reports.store_status(engine)
        info["serving"], info["tls_pin"] = serving_of(engine)
        info["head_office"] = upstream.status(engine)
    if json:
        print_json(info)
        return
    s = info["store"]
    console.print(f"[bold]{s['store_id']}[/] {s['name']} ({s['currency']})")
    if info["serving"] is not None:
        console.print(describe_serving(info["serving"]), highlight=False)
    table = Table(
        "terminal",
        "registered",
        "last contact",
        "last push",
        "backlog",
        "sales",
        "returns",
        "last error",
    )
    for t in info["terminals"]:
        table.add_row(
            t["terminal_id"],
            "yes" if t["registered"] else "no",
            t["last_contact_at"] or "-",
            t["last_push_at"] or "-",
            str(t["backlog"]),
            str(t["sales"]),
            str(t["returns"]),
            t["last_error"] or "",
        )
    console.print(table)
    r = info["receipts"]
    console.print(f"receipts: {r['sales']} sales, {r['returns']} returns, net {r['net_total']}")
    stock = Table("sku", "on hand")
    for sku, qty in list(info["stock"].items())[:20]:
        stock.add_row(sku, str(qty))
    console.print(stock)

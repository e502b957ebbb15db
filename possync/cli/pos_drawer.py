"""``possync pos drawer ...``: cash-up on a headless till (retail/cashup.py). Every
command works offline, on the till's own database; the rows sync up with the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
import typer

from possync.cli.common import DataDir, JsonFlag, console, fail, print_json, user_errors
from possync.cli.pos import app as pos_app
from possync.retail import cashup
from possync.retail.sales import Till
from possync.retail.schema import store
from possync.retail.store_locale import StoreLocale
from possync.sync.db import write_tx
from possync.terminal.local import Terminal

app = typer.Typer(help="The cash drawer: open, paid in/out, X report, close (Z).")
pos_app.add_typer(app, name="drawer")

T = TypeVar("T")
Cashier = Annotated[str | None, typer.Option(help="The cashier's id")]
Amount = Annotated[str, typer.Option("--amount", help="An amount, e.g. 20.00")]
Reason = Annotated[str, typer.Option(help="Why (up to 200 characters)")]


def _run(data: Any, action: Callable[[sa.Connection, Till, StoreLocale], T]) -> T:
    """Run ``action`` in one write transaction on the till, with its store's locale."""
    with user_errors():
        term = Terminal.open(data)
        try:
            till = term.till()
            with write_tx(term.engine) as conn:
                shop = conn.execute(sa.select(store).where(store.c.store_id == till.store_id))
                return action(conn, till, StoreLocale.of(shop.one()))
        finally:
            term.close()


@app.command("open")
def open_drawer(
    data: DataDir,
    float_: Annotated[str, typer.Option("--float", help="The cash put in the drawer")],
    cashier: Cashier = None,
    json: JsonFlag = False,
) -> None:
    """Open a drawer session with a float (one open session per till)."""
    session = _run(
        data,
        lambda c, t, shop: cashup.open_session(
            c, t, shop.parse_amount(float_, negative=False), cashier
        ),
    )
    if json:
        print_json(vars(session))
    else:
        console.print(f"drawer open, float {session.opening_float}")


def _move(data: Any, kind: str, amount: str, reason: str, cashier: str | None, json: bool) -> None:
    row = _run(
        data,
        lambda c, t, shop: cashup.move_cash(
            c, t, kind, shop.parse_amount(amount, negative=False), reason, cashier
        ),
    )
    if json:
        print_json(row)
    else:
        console.print(f"paid {kind}: {row['amount']} ({row['reason']})")


@app.command("paid-in")
def paid_in(
    data: DataDir, amount: Amount, reason: Reason, cashier: Cashier = None, json: JsonFlag = False
) -> None:
    """Record cash put into the drawer, with a reason."""
    _move(data, cashup.IN, amount, reason, cashier, json)


@app.command("paid-out")
def paid_out(
    data: DataDir, amount: Amount, reason: Reason, cashier: Cashier = None, json: JsonFlag = False
) -> None:
    """Record cash taken out of the drawer, with a reason."""
    _move(data, cashup.OUT, amount, reason, cashier, json)


@app.command("x")
def x_report(data: DataDir, json: JsonFlag = False) -> None:
    """The X report: what the till took since its last Z report (nothing stored)."""
    report, shop = _run(data, lambda c, t, shop: (cashup.x_report(c, t), shop))
    figures = report.as_dict()
    if json:
        print_json(figures)
        return
    _print_figures(figures, shop)


def _print_figures(figures: dict[str, Any], shop: StoreLocale) -> None:
    console.print(f"sales {figures['sales_count']}: {shop.money(figures['sales_total'])}")
    console.print(f"returns {figures['returns_count']}: {shop.money(figures['returns_total'])}")
    for rate in figures["tax"]:
        console.print(
            f"  tax {rate['tax_code']} on {shop.money(rate['gross'])}: {shop.money(rate['tax'])}"
        )
    for method in figures["payments"]:
        taken = shop.money(method["taken"] - method["refunded"])
        console.print(f"  {method['method_code']}: {taken}")
    console.print(
        f"paid in {shop.money(figures['paid_in'])}, out {shop.money(figures['paid_out'])}"
    )
    console.print(f"expected cash {shop.money(figures['expected_cash'])}")


def _counts(given: list[str], shop: StoreLocale) -> dict[int, int]:
    """``VALUE=PIECES`` each (``50.00=2``), parsed before anything is written."""
    counts: dict[int, int] = {}
    for text in given:
        value, sep, pieces = text.partition("=")
        if not sep or not pieces.strip().isdigit():
            fail(f"{text!r}: give a note or coin and how many, like 20.00=3")
        minor = shop.parse_amount(value, negative=False)
        counts[minor] = counts.get(minor, 0) + int(pieces)
    return counts


@app.command("close")
def close_drawer(
    data: DataDir,
    count: Annotated[
        list[str] | None, typer.Option(help="VALUE=PIECES per note or coin, e.g. 20.00=3")
    ] = None,
    cashier: Cashier = None,
    json: JsonFlag = False,
) -> None:
    """Count the drawer and close it: prints the Z report (numbered, chained)."""

    def close(conn: sa.Connection, till: Till, shop: StoreLocale) -> tuple[Any, StoreLocale]:
        return cashup.close_session(conn, till, _counts(count or [], shop), cashier), shop

    row, shop = _run(data, close)
    if json:
        print_json(row)
        return
    console.print(f"Z report {row['z_no']} (business day {row['business_day']})")
    console.print(
        f"expected {shop.money(row['expected_cash'])}, counted {shop.money(row['counted_cash'])}, "
        f"over/short {shop.money(row['over_short'])}"
    )
    console.print(f"chain head at close {row['chain_previous']}; this report {row['chain_hash']}")

"""Transactions: receipts received from the terminals, and stock per item."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from possync.retail import browse, store_admin
from possync.retail import receipts as receipt_docs
from possync.retail import stock as stock_rules
from possync.retail.errors import RetailError
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import redirect
from possync.store.console.forms import FormFields, parse_int
from possync.store.console.items import item_page
from possync.sync.db import read_tx, write_tx

router = APIRouter(prefix="/console")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@router.get("/receipts")
def receipts(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    number: Annotated[str, Query(max_length=40)] = "",
    terminal: Annotated[str, Query(max_length=16)] = "",
    day: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    errors, chosen_day = {}, None
    if day:
        with contextlib.suppress(ValueError):
            chosen_day = date.fromisoformat(day) if DAY.match(day) else None
        if chosen_day is None:
            errors = {"day": "a date as YYYY-MM-DD"}

    with read_tx(console.engine) as conn:
        found = browse.receipts(
            conn, number_prefix=number, terminal_id=terminal, day=chosen_day, page=page
        )
        terminals = browse.terminal_ids_with_receipts(conn)
    return console.render(
        request,
        "receipts.html",
        page=found,
        terminals=terminals,
        filters={"number": number, "terminal": terminal, "day": day},
        errors=errors,
    )


@router.get("/receipts/{receipt_no}")
def receipt(request: Request, receipt_no: str, console: ConsoleApp, _: Admin) -> Response:
    with read_tx(console.engine) as conn:
        found = receipt_docs.document(conn, receipt_no)
    if found is None:
        return redirect("/console/receipts", f"No receipt {receipt_no!r}.", "bad")
    return console.render(request, "receipt.html", r=found)


@router.get("/stock")
def stock(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    found = item_page(console, q, page)
    return console.render(
        request, "stock.html", page=found, q=q, reasons=stock_rules.REASONS, form={}
    )


@router.post("/stock")
def adjust(request: Request, console: ConsoleApp, _: Admin, form: FormFields) -> Response:
    """Record a movement made on the store (goods received, a count...)."""
    errors: dict[str, str] = {}
    qty = parse_int(form, "qty", errors)
    if qty is None or qty == 0:
        errors.setdefault("qty", "a signed whole number, not 0: +10 received, -2 broken")
    sku = form.get("sku", "").strip()
    if not errors:
        try:
            with write_tx(console.engine) as conn:
                store_id = store_admin.store_row(conn).store_id
                stock_rules.adjust(conn, store_id, sku, qty or 0, form.get("reason", ""))
        except RetailError as exc:
            errors["sku" if "item" in str(exc) else "reason"] = str(exc)
    if errors:
        found = item_page(console, sku, 1)
        return console.render(
            request,
            "stock.html",
            page=found,
            q=sku,
            reasons=stock_rules.REASONS,
            form=form,
            errors=errors,
            status=422,
        )
    return redirect(f"/console/stock?q={sku}", f"{sku}: {qty:+d} recorded.")

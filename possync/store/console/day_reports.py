"""Transactions > Z reports (per till, newest first, with over/short) and Day
summary (the store's business day, in its time zone: sales, returns, tax per
rate, payments per method, over/short per till). The Z reports arrive with the
tills' sales, at their next sync."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from possync.retail import day_reports, store_admin
from possync.retail.store_locale import StoreLocale
from possync.store.console.auth import Admin, ConsoleApp
from possync.sync.clock import utc_now
from possync.sync.db import read_tx

router = APIRouter(prefix="/console")
SHOWN = 500


@router.get("/z-reports")
def z_reports(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    terminal: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    with read_tx(console.engine) as conn:
        found = day_reports.z_reports(conn, terminal or None, SHOWN)
    return console.render(request, "z_reports.html", found=found, terminal=terminal, shown=SHOWN)


@router.get("/day-summary")
def day_summary(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    day: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    errors: dict[str, str] = {}
    with read_tx(console.engine) as conn:
        row = store_admin.store_row(conn)
        shop = StoreLocale.of(row)
        chosen = shop.business_day(utc_now())  # today, in the store's time zone
        if day:
            try:
                chosen = date.fromisoformat(day)
            except ValueError:
                errors["day"] = "a date as YYYY-MM-DD"
        summary = day_reports.day_summary(conn, row.store_id, chosen, shop)
    return console.render(
        request,
        "day_summary.html",
        status=422 if errors else 200,
        s={**summary, "day_shown": shop.day(chosen), "time_zone": shop.time_zone},
        day=day or summary["day"],
        errors=errors,
    )

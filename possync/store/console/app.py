"""Mounting the console on the store server, and rendering its pages. What every
console shares (sign-in, limits, headers) is mounted by possync/webui/console_setup.py."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import Response

from possync.retail import store_admin
from possync.retail.errors import RetailError
from possync.retail.store_locale import StoreLocale
from possync.store.console import (
    chain,
    dashboard,
    day_reports,
    items,
    master_data,
    offline_store,
    quarantine,
    terminals,
    till_events,
    transactions,
)
from possync.store.console.base import Console, ConsoleSettings, console_of, redirect
from possync.store.console.nav import NAV
from possync.sync.db import read_tx
from possync.webui import console_setup, formatting, rendering
from possync.webui.console_setup import FORM_LIMIT, SIGN_IN_LIMIT
from possync.webui.limits import MIB

__all__ = ["FORM_LIMIT", "SIGN_IN_LIMIT", "ConsoleSettings", "body_limit", "install_console"]

TEMPLATES = Path(__file__).parent / "templates"

# The catalog import takes a file: its own limit (items.MAX_CSV_BYTES) plus room
# for the multipart framing.
body_limit = console_setup.body_limits({"/console/items-import": items.MAX_CSV_BYTES + MIB})


def shown_of(request: Request) -> formatting.Shown:
    """The store's way of writing amounts and times, for the console's pages (read
    once per page: ``store details`` may change it while the server runs)."""
    with read_tx(console_of(request).engine) as conn:
        row = store_admin.store_row(conn)
    return formatting.Shown(StoreLocale.of(row), bool(row.locale))


def install_console(app: FastAPI, engine: sa.Engine, settings: ConsoleSettings) -> None:
    templates = rendering.templates(TEMPLATES, nav=NAV, console_name="store")
    formatting.install(templates.env, shown_of)  # money(), localtime: the store's locale
    console_setup.mount(app, Console(engine, settings, templates), limit_for=body_limit)
    pages = (dashboard, quarantine, offline_store, terminals, items, master_data)
    for module in (*pages, transactions, chain, till_events):
        app.include_router(module.router)
    app.include_router(day_reports.router)  # cash-up: Z reports, day summary

    @app.exception_handler(RetailError)
    async def _refused(request: Request, exc: RetailError) -> Response:
        # A page about a record that does not exist, or a rule refusing an action
        # that has no form to show the error beside: back to the list, told why.
        back = "/console/" + request.url.path.removeprefix("/console/").split("/")[0]
        return redirect(
            back if request.url.path.startswith("/console/") else "/console/", str(exc), "bad"
        )

"""Mounting the console on the store server, and rendering its pages. What every
console shares (sign-in, limits, headers) is mounted by possync/webui/console_setup.py."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import Response

from possync.retail.errors import RetailError
from possync.retail.money import format_amount
from possync.store.console import (
    chain,
    dashboard,
    items,
    master_data,
    offline_store,
    quarantine,
    terminals,
    transactions,
)
from possync.store.console.base import Console, ConsoleSettings, redirect
from possync.store.console.nav import NAV
from possync.webui import console_setup, rendering
from possync.webui.console_setup import FORM_LIMIT, SIGN_IN_LIMIT
from possync.webui.limits import MIB

__all__ = ["FORM_LIMIT", "SIGN_IN_LIMIT", "ConsoleSettings", "body_limit", "install_console"]

TEMPLATES = Path(__file__).parent / "templates"

# The catalog import takes a file: its own limit (items.MAX_CSV_BYTES) plus room
# for the multipart framing.
body_limit = console_setup.body_limits({"/console/items-import": items.MAX_CSV_BYTES + MIB})


def install_console(app: FastAPI, engine: sa.Engine, settings: ConsoleSettings) -> None:
    templates = rendering.templates(TEMPLATES, nav=NAV, money=format_amount, console_name="store")
    console_setup.mount(app, Console(engine, settings, templates), limit_for=body_limit)
    pages = (dashboard, quarantine, offline_store, terminals, items, master_data)
    for module in (*pages, transactions, chain):
        app.include_router(module.router)

    @app.exception_handler(RetailError)
    async def _refused(request: Request, exc: RetailError) -> Response:
        # A page about a record that does not exist, or a rule refusing an action
        # that has no form to show the error beside: back to the list, told why.
        back = "/console/" + request.url.path.removeprefix("/console/").split("/")[0]
        return redirect(
            back if request.url.path.startswith("/console/") else "/console/", str(exc), "bad"
        )

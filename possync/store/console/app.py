"""Mounting the console on the store server, and rendering its pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from possync.retail.errors import RetailError
from possync.retail.money import format_amount
from possync.store.console import (
    accounts,
    auth,
    dashboard,
    items,
    master_data,
    offline_store,
    quarantine,
    terminals,
    transactions,
)
from possync.store.console.base import Console, ConsoleSettings, SignInRequired, redirect
from possync.store.console.nav import NAV
from possync.sync.db import write_tx
from possync.webui import rendering
from possync.webui.headers import SecurityHeaders
from possync.webui.limits import KIB, MIB, BodyLimit

TEMPLATES = Path(__file__).parent / "templates"

# Console forms are a few fields: 64 KiB is far more than any needs, and the
# sign-in form, the one anybody can post to, gets less. The catalog import takes a
# file: its own limit (items.MAX_CSV_BYTES) plus room for the multipart framing.
FORM_LIMIT = 64 * KIB
SIGN_IN_LIMIT = 8 * KIB


def body_limit(path: str) -> int | None:
    """The most a request body may hold on ``path`` (None: not the console's)."""
    if path == "/console/items-import":
        return items.MAX_CSV_BYTES + MIB
    if path == "/console/login":
        return SIGN_IN_LIMIT
    if path == "/console" or path.startswith("/console/"):
        return FORM_LIMIT
    return None


def is_console_page(path: str) -> bool:
    return path == "/" or path == "/console" or path.startswith("/console/")


def install_console(app: FastAPI, engine: sa.Engine, settings: ConsoleSettings) -> None:
    with write_tx(engine) as conn:
        accounts.install(conn)
    templates = rendering.templates(TEMPLATES, nav=NAV, money=format_amount)
    app.state.console = Console(engine, settings, templates)
    rendering.mount_static(app)
    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(SecurityHeaders, covers=is_console_page)  # outer: 413s get them too
    pages = (auth, dashboard, quarantine, offline_store, terminals, items, master_data)
    for module in (*pages, transactions):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        target = "/console/login?next=" + quote(request.url.path)
        if request.headers.get("hx-request"):  # htmx follows this header, not a 303
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(auth.CsrfRefused)
    async def _csrf(request: Request, _: auth.CsrfRefused) -> Response:
        return HTMLResponse(
            "<!doctype html><title>Refused</title><p>This form was not sent by a page of this "
            "console, or your session changed. Go back, reload the page and try again.</p>",
            status_code=403,
        )

    @app.exception_handler(RetailError)
    async def _refused(request: Request, exc: RetailError) -> Response:
        # A page about a record that does not exist, or a rule refusing an action
        # that has no form to show the error beside: back to the list, told why.
        back = "/console/" + request.url.path.removeprefix("/console/").split("/")[0]
        return redirect(
            back if request.url.path.startswith("/console/") else "/console/", str(exc), "bad"
        )

    @app.get("/", include_in_schema=False)
    async def _root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

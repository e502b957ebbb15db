"""Administration > IT Administration > Enable Offline Store, with a confirmation step."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from possync.retail import offline_admin, store_admin
from possync.retail.errors import RetailError
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import redirect
from possync.sync.db import read_tx

router = APIRouter(prefix="/console/admin")
PAGE = "/console/admin/offline-store"


def _store(engine: sa.Engine) -> sa.Row:
    with read_tx(engine) as conn:
        return store_admin.store_row(conn)


@router.get("/offline-store")
def show(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    store = _store(console.engine)
    return console.render(request, "offline_store.html", store=store, confirm=None)


@router.post("/offline-store")
def change(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    enable: Annotated[bool, Form()],
    confirmed: Annotated[bool, Form()] = False,
    force: Annotated[bool, Form()] = False,
) -> Response:
    """First post: the confirmation page. Second post (confirmed): the change."""
    store = _store(console.engine)
    if not confirmed:
        return console.render(request, "offline_store.html", store=store, confirm=enable)
    try:
        offline_admin.set_store_offline(console.engine, enable, force=force)
    except RetailError as exc:
        return console.render(
            request, "offline_store.html", store=store, confirm=enable, refusal=str(exc), status=409
        )
    return redirect(
        PAGE, "Offline mode enabled for the store." if enable else "Offline mode disabled."
    )

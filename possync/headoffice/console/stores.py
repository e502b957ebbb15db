"""Adding a store to the chain from the console: its one-time join code, shown
once, as ``possync ho store add`` prints it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from possync.retail import chain
from possync.retail.errors import RetailError
from possync.webui.signin import Admin, ConsoleApp

router = APIRouter(prefix="/console")
NO_STORE = {"Cache-Control": "no-store"}  # a join code is not kept by any cache


@router.get("/stores/new")
def new_store_form(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(request, "store_new.html", form={"currency": "EUR"})


@router.post("/stores/new")
def add_store(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    store_id: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    currency: Annotated[str, Form(max_length=8)] = "EUR",
) -> HTMLResponse:
    form = {"store_id": store_id, "name": name, "currency": currency}
    errors: dict[str, str] = {}
    store_id, name, currency = store_id.strip(), name.strip(), currency.strip().upper()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        errors["currency"] = "a three-letter ISO 4217 code, e.g. EUR"
    if not errors:
        try:
            new = chain.add_store(
                console.engine, store_id, name=name or None, currency=currency, new_only=True
            )
        except RetailError as exc:
            errors["store_id"] = str(exc)
    if errors:
        return console.render(request, "store_new.html", status=422, form=form, errors=errors)
    return console.render(
        request,
        "store_code.html",
        headers=NO_STORE,
        store_id=new.store_id,
        code=new.registration_code,
        ho_url=str(request.base_url).rstrip("/"),
    )

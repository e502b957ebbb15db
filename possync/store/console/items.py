"""Items: search and paging over the whole catalog, edit one, import a CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from possync.retail import browse, catalog, master_data, store_admin
from possync.retail.errors import FieldErrors
from possync.retail.money import format_amount
from possync.retail.schema import tax_rate
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import Console, redirect
from possync.store.console.forms import FormFields
from possync.sync.db import read_tx, write_tx

router = APIRouter(prefix="/console")
MAX_CSV_BYTES = 20 * 1024 * 1024


def _tax_codes(console: Console) -> list[tuple[str, str]]:
    with read_tx(console.engine) as conn:
        return [
            (r["tax_code"], f"{r['tax_code']} ({r['rate_bp'] / 100:g} %)")
            for r in browse.everything(conn, tax_rate)
        ]


def item_page(console: Console, q: str, page: int) -> browse.Page:
    """One page of items with their stock (the Items and Stock pages)."""
    with read_tx(console.engine) as conn:
        store_id = store_admin.store_row(conn).store_id
        return browse.items(conn, store_id, q, page)


@router.get("/items")
def listing(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    found = item_page(console, q, page)
    template = "_items_table.html" if request.headers.get("hx-request") else "items.html"
    return console.render(request, template, page=found, q=q)


def _item_form(item: dict) -> dict[str, str]:
    return {
        "sku": item["sku"],
        "name": item["name"],
        "barcode": item["barcode"] or "",
        "price": format_amount(item["price"]),
        "tax_code": item["tax_code"],
        "active": "1" if item["active"] else "",
    }


@router.get("/items/new")
def new_form(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    form = {"sku": "", "name": "", "barcode": "", "price": "", "tax_code": "STD", "active": "1"}
    return console.render(request, "item.html", form=form, new=True, tax_codes=_tax_codes(console))


@router.get("/items/{sku}")
def edit_form(request: Request, sku: str, console: ConsoleApp, _: Admin) -> Response:
    with read_tx(console.engine) as conn:
        found = browse.item_by_sku(conn, sku)
    if found is None:
        return redirect("/console/items", f"No item {sku!r}.", "bad")
    return console.render(
        request, "item.html", form=_item_form(found), new=False, tax_codes=_tax_codes(console)
    )


def _save(request: Request, console: Console, form: dict[str, str], sku: str | None) -> Response:
    new = sku is None
    target = form.get("sku", "") if new else sku
    try:
        with write_tx(console.engine) as conn:
            master_data.save_item(
                conn,
                target or "",
                name=form.get("name", ""),
                barcode=form.get("barcode", ""),
                price=form.get("price", ""),
                tax_code=form.get("tax_code", ""),
                active=form.get("active") == "1",
                new=new,
            )
    except FieldErrors as exc:
        return console.render(
            request,
            "item.html",
            form={**form, "sku": target or ""},
            new=new,
            tax_codes=_tax_codes(console),
            errors=exc.errors,
            status=422,
        )
    return redirect(
        f"/console/items?q={target}", f"Item {target} saved; terminals get it at their next sync."
    )


@router.post("/items/new")
def create(request: Request, console: ConsoleApp, _: Admin, form: FormFields) -> Response:
    return _save(request, console, form, None)


@router.post("/items/{sku}")
def update(request: Request, sku: str, console: ConsoleApp, _: Admin, form: FormFields) -> Response:
    return _save(request, console, form, sku)


@router.get("/items-import")
def import_form(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(request, "items_import.html", problems=[])


@router.post("/items-import")
def import_file(request: Request, console: ConsoleApp, _: Admin, file: UploadFile) -> Response:
    data = file.file.read(MAX_CSV_BYTES + 1)  # the spooled upload, read in this thread
    if len(data) > MAX_CSV_BYTES:
        problems = [f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB"]
        return console.render(request, "items_import.html", problems=problems, status=422)
    try:
        with write_tx(console.engine) as conn:
            report = catalog.import_catalog(conn, data)
    except catalog.CatalogError as exc:
        return console.render(request, "items_import.html", problems=exc.errors, status=422)
    # Shown on this page rather than carried by a redirect: the list of changes can
    # be longer than a cookie holds. Importing the same file again changes nothing.
    return console.render(request, "items_import.html", problems=[], report=report)

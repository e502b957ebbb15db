"""Customers, cashiers, payment methods, tax rates and discount reasons: list, add,
edit.

The pages share two templates, driven by a small description of each kind of
record (its columns and form fields); the rules stay in possync.retail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from possync.retail import browse, cashiers, discounts, master_data, store_admin
from possync.retail.errors import FieldErrors, RetailError
from possync.retail.schema import cashier, customer, discount_reason, payment_method, tax_rate
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import Console, redirect
from possync.store.console.forms import FormFields
from possync.sync.db import read_tx, write_tx

router = APIRouter(prefix="/console")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | checkbox | select | password
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    key: bool = False  # the record's id: typed when adding, fixed when editing


@dataclass(frozen=True)
class Kind:
    slug: str
    title: str
    singular: str
    table: sa.Table
    columns: tuple[tuple[str, str], ...]  # (row key, heading)
    fields: tuple[Field, ...]
    key: str

    def url(self, record_id: str | None = None) -> str:
        return f"/console/{self.slug}" + (f"/{record_id}" if record_id else "")


def _save_customer(conn: sa.Connection, record_id: str | None, f: dict[str, str]) -> str:
    store_id = store_admin.store_row(conn).store_id
    return master_data.save_customer(
        conn,
        store_id,
        record_id,
        name=f.get("name", ""),
        email=f.get("email", ""),
        phone=f.get("phone", ""),
    )


def _save_cashier(conn: sa.Connection, record_id: str | None, f: dict[str, str]) -> str:
    cashier_id = record_id or f.get("cashier_id", "").strip()
    cashiers.save(
        conn,
        cashier_id,
        f.get("name", ""),
        pin=f.get("pin", "").strip() or None,
        active=f.get("active") == "1",
        new=record_id is None,
        discount_limit_bp=discounts.parse_limit(f.get("discount_limit")),
        manager=f.get("manager") == "1",
    )
    return cashier_id


def _save_payment_method(conn: sa.Connection, record_id: str | None, f: dict[str, str]) -> str:
    code = record_id or f.get("method_code", "").strip()
    master_data.save_payment_method(
        conn, code, name=f.get("name", ""), kind=f.get("kind", ""), active=f.get("active") == "1"
    )
    return code


def _save_discount_reason(conn: sa.Connection, record_id: str | None, f: dict[str, str]) -> str:
    code = record_id or f.get("code", "").strip()
    known = {r["code"] for r in discounts.reasons(conn, active_only=False)}
    if record_id is None and code in known:
        raise FieldErrors({"code": f"reason {code} already exists"})
    discounts.save_reason(conn, code, f.get("name", ""), active=f.get("active") == "1")
    return code


def _save_tax_rate(conn: sa.Connection, record_id: str | None, f: dict[str, str]) -> str:
    code = record_id or f.get("tax_code", "").strip()
    master_data.save_tax_rate(conn, code, name=f.get("name", ""), rate=f.get("rate", ""))
    return code


KINDS = {
    k.slug: k
    for k in (
        Kind(
            "customers",
            "Customers",
            "customer",
            customer,
            (
                ("customer_no", "Number"),
                ("name", "Name"),
                ("email", "E-mail"),
                ("phone", "Phone"),
                ("origin_terminal_id", "Created on"),
            ),
            (Field("name", "Name"), Field("email", "E-mail"), Field("phone", "Phone")),
            "customer_id",
        ),
        Kind(
            "cashiers",
            "Cashiers",
            "cashier",
            cashier,
            (("cashier_id", "Id"), ("name", "Name"), ("active", "Active"), ("manager", "Manager")),
            (
                Field("cashier_id", "Cashier id", key=True, hint="e.g. C01"),
                Field("name", "Name"),
                Field("pin", "PIN", "password", hint="4 to 12 digits; leave blank to keep"),
                Field("active", "Active (may sign in)", "checkbox"),
                Field(
                    "discount_limit",
                    "Discount limit %",
                    hint="the largest discount given alone, e.g. 10; blank: none",
                ),
                Field("manager", "Manager (approves discounts above a limit)", "checkbox"),
            ),
            "cashier_id",
        ),
        Kind(
            "payment-methods",
            "Payment methods",
            "payment method",
            payment_method,
            (("method_code", "Code"), ("name", "Name"), ("kind", "Kind"), ("active", "Active")),
            (
                Field("method_code", "Code", key=True, hint="e.g. VOUCHER"),
                Field("name", "Name"),
                Field("kind", "Kind", "select", tuple((k, k) for k in master_data.PAYMENT_KINDS)),
                Field("active", "Active", "checkbox"),
            ),
            "method_code",
        ),
        Kind(
            "tax-rates",
            "Tax rates",
            "tax rate",
            tax_rate,
            (("tax_code", "Code"), ("name", "Name"), ("rate", "Rate %")),
            (
                Field("tax_code", "Code", key=True, hint="up to 8 characters, e.g. STD"),
                Field("name", "Name"),
                Field("rate", "Rate in percent", hint="e.g. 20 or 5.5"),
            ),
            "tax_code",
        ),
        Kind(
            "discount-reasons",
            "Discount reasons",
            "discount reason",
            discount_reason,
            (("code", "Code"), ("name", "Name"), ("active", "Active")),
            (
                Field("code", "Code", key=True, hint="up to 16 characters, e.g. DAMAGED"),
                Field("name", "Name", hint="what the cashier picks, e.g. Damaged packaging"),
                Field("active", "Active", "checkbox"),
            ),
            "code",
        ),
    )
}
SAVERS = {
    "customers": _save_customer,
    "cashiers": _save_cashier,
    "payment-methods": _save_payment_method,
    "tax-rates": _save_tax_rate,
    "discount-reasons": _save_discount_reason,
}


def _rows(console: Console, kind: Kind, q: str, page: int) -> tuple[list[dict], Any]:
    with read_tx(console.engine) as conn:
        if kind.slug == "customers":
            found = browse.customers(conn, q, page)
            return found.rows, found
        if kind.slug == "discount-reasons":
            rows = discounts.reasons(conn, active_only=False)
        else:
            rows = browse.everything(conn, kind.table)
    for r in rows:
        if "rate_bp" in r:
            r["rate"] = f"{r['rate_bp'] / 100:g}"
    return rows, None


def _record(console: Console, kind: Kind, record_id: str) -> dict[str, str] | None:
    with read_tx(console.engine) as conn:
        row = conn.execute(sa.select(kind.table).where(kind.table.c[kind.key] == record_id)).first()
    if row is None:
        return None
    form = {k: ("" if v is None else str(v)) for k, v in row._mapping.items() if k != "pin_hash"}
    if "active" in form:
        form["active"] = "1" if row.active else ""
    if "rate_bp" in form:
        form["rate"] = f"{row.rate_bp / 100:g}"
    if "manager" in form:  # a cashier's discount authority, as the form shows it
        form["manager"] = "1" if row.manager else ""
        limit = row.discount_limit_bp
        form["discount_limit"] = "" if limit is None else f"{limit / 100:g}"
    return form


def _kind(request: Request) -> Kind:
    """The kind of record a page is about, from its path (/console/<slug>/...)."""
    return KINDS[request.url.path.split("/")[2]]


def listing(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    kind = _kind(request)
    rows, paged = _rows(console, kind, q, page)
    return console.render(request, "records.html", kind=kind, rows=rows, page=paged, q=q)


def new_form(request: Request, console: ConsoleApp, _: Admin) -> Response:
    return console.render(
        request, "record.html", kind=_kind(request), form={"active": "1"}, record_id=None
    )


def edit_form(request: Request, record_id: str, console: ConsoleApp, _: Admin) -> Response:
    kind = _kind(request)
    form = _record(console, kind, record_id)
    if form is None:
        return redirect(kind.url(), f"No {kind.singular} {record_id!r}.", "bad")
    return console.render(request, "record.html", kind=kind, form=form, record_id=record_id)


def _save(
    request: Request, console: Console, form: dict[str, str], record_id: str | None
) -> Response:
    kind = _kind(request)
    try:
        with write_tx(console.engine) as conn:
            saved = SAVERS[kind.slug](conn, record_id, form)
    except FieldErrors as exc:
        errors = exc.errors
    except RetailError as exc:
        errors = {"_": str(exc)}
    else:
        label = form.get("name") or saved
        return redirect(
            kind.url(),
            f"{kind.singular.capitalize()} {label} saved; terminals get it at their next sync.",
        )
    return console.render(
        request,
        "record.html",
        kind=kind,
        form=form,
        record_id=record_id,
        errors=errors,
        status=422,
    )


def create(request: Request, console: ConsoleApp, _: Admin, form: FormFields) -> Response:
    return _save(request, console, form, None)


def update(
    request: Request, record_id: str, console: ConsoleApp, _: Admin, form: FormFields
) -> Response:
    return _save(request, console, form, record_id)


# One set of routes per kind, with literal paths (no catch-all under /console).
for _slug in KINDS:
    router.add_api_route(f"/{_slug}", listing, methods=["GET"])
    router.add_api_route(f"/{_slug}/new", new_form, methods=["GET"])
    router.add_api_route(f"/{_slug}/new", create, methods=["POST"])
    router.add_api_route(f"/{_slug}/{{record_id}}", edit_form, methods=["GET"])
    router.add_api_route(f"/{_slug}/{{record_id}}", update, methods=["POST"])

"""Editing master data on the store: items, tax rates, payment methods, customers.

Every change is an ordinary write on the store, so the engine's capture triggers
send it to the terminals at their next sync. Each function checks every field
first and raises FieldErrors naming each bad one, changing nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail import catalog, customers
from possync.retail.errors import FieldErrors, RetailError
from possync.retail.ids import new_id
from possync.retail.money import parse_amount
from possync.retail.offline_admin import highest_issued
from possync.retail.schema import customer, doc_series, item, payment_method, tax_rate
from possync.sync.clock import utc_now

PAYMENT_KINDS = ("cash", "card", "other")


def _text(
    errors: dict[str, str], field: str, value: str, most: int, *, required: bool = True
) -> str:
    value = value.strip()
    if required and not value:
        errors[field] = "required"
    elif len(value) > most:
        errors[field] = f"at most {most} characters"
    return value


def _code(errors: dict[str, str], field: str, value: str, most: int) -> str:
    value = _text(errors, field, value, most)
    if value and not value.replace("-", "").replace("_", "").isalnum():
        errors.setdefault(field, "letters, digits, - or _ only")
    return value


def _exists(conn: sa.Connection, column: sa.Column[Any], value: str) -> bool:
    return conn.execute(sa.select(column).where(column == value)).first() is not None


def save_item(
    conn: sa.Connection,
    sku: str,
    *,
    name: str,
    barcode: str,
    price: str,
    tax_code: str,
    active: bool,
    new: bool = False,
) -> None:
    """Add an item (``new``) or change one, by the catalog's rules
    (``catalog.check_item``, as the CSV import); a barcode another item has is
    refused, naming that item."""
    catalog.lock_items(conn)
    fields = catalog.ItemFields(sku, barcode, name, price, tax_code, active)
    values, errors = catalog.check_item(fields, catalog.tax_codes_of(conn), new=new)
    sku = values.pop("sku")
    stored = (
        conn.execute(sa.select(item.c.barcode).where(item.c.sku == sku)).first() if sku else None
    )
    if "sku" not in errors:
        if new and stored is not None:
            errors["sku"] = f"item {sku} already exists"
        elif not new and stored is None:
            errors["sku"] = f"no item {sku!r}"
    code = values["barcode"]
    changed = code and "barcode" not in errors and (stored is None or stored.barcode != code)
    if changed and (taken := catalog.barcode_taken(conn, code, sku)):
        errors["barcode"] = taken
    if errors:
        raise FieldErrors(errors)
    if new:
        conn.execute(item.insert().values(sku=sku, **values))
    else:
        conn.execute(item.update().where(item.c.sku == sku).values(**values))


def save_tax_rate(conn: sa.Connection, tax_code: str, *, name: str, rate: str) -> None:
    """``rate`` in percent, e.g. "20" or "5.5" (stored in basis points)."""
    errors: dict[str, str] = {}
    tax_code = _code(errors, "tax_code", tax_code, 8)
    name = _text(errors, "name", name, 100)
    try:
        rate_bp = parse_amount(rate) if rate.strip() else -1
        if not 0 <= rate_bp <= 10_000:
            errors["rate"] = "a percentage from 0 to 100, at most 2 decimals"
    except RetailError:
        errors["rate"] = "a percentage from 0 to 100, at most 2 decimals"
        rate_bp = 0
    if errors:
        raise FieldErrors(errors)
    values = {"name": name, "rate_bp": rate_bp}
    if _exists(conn, tax_rate.c.tax_code, tax_code):
        conn.execute(tax_rate.update().where(tax_rate.c.tax_code == tax_code).values(**values))
    else:
        conn.execute(tax_rate.insert().values(tax_code=tax_code, **values))


def save_payment_method(
    conn: sa.Connection, method_code: str, *, name: str, kind: str, active: bool
) -> None:
    errors: dict[str, str] = {}
    method_code = _code(errors, "method_code", method_code, 16)
    name = _text(errors, "name", name, 100)
    if kind not in PAYMENT_KINDS:
        errors["kind"] = f"one of {', '.join(PAYMENT_KINDS)}"
    if errors:
        raise FieldErrors(errors)
    values = {"name": name, "kind": kind, "active": active}
    if _exists(conn, payment_method.c.method_code, method_code):
        conn.execute(
            payment_method.update()
            .where(payment_method.c.method_code == method_code)
            .values(**values)
        )
    else:
        conn.execute(payment_method.insert().values(method_code=method_code, **values))


def store_customer_prefix(store_id: str) -> str:
    return f"{store_id}-SC"


def save_customer(
    conn: sa.Connection,
    store_id: str,
    customer_id: str | None,
    *,
    name: str,
    email: str,
    phone: str,
) -> str:
    """Create a customer on the store (``customer_id`` None) or change one; returns
    its id. Store-made customers are numbered STORE-SC000001...; a terminal series
    that could issue those numbers is refused by the store's series check."""
    errors: dict[str, str] = {}
    values = {
        "name": _text(errors, "name", name, 200),
        "email": _text(errors, "email", email, 200, required=False) or None,
        "phone": _text(errors, "phone", phone, 40, required=False) or None,
    }
    if values["email"] and "@" not in values["email"]:
        errors["email"] = "not an e-mail address"
    if errors:
        raise FieldErrors(errors)
    if customer_id is not None:
        found = conn.execute(sa.select(customer).where(customer.c.customer_id == customer_id))
        before = found.mappings().first()
        if before is None:
            raise RetailError(f"no customer {customer_id!r}")
        old = {str(k): v for k, v in before.items()}
        after = customers.stamped(conn, store_id, old, {**old, **values})
        conn.execute(
            customer.update()
            .where(customer.c.customer_id == customer_id)
            .values(**values, field_clocks=after["field_clocks"])
        )
        return customer_id
    prefix = store_customer_prefix(store_id)
    clash = conn.execute(
        sa.select(doc_series.c.terminal_id, doc_series.c.prefix).where(
            sa.literal(prefix).startswith(doc_series.c.prefix)
            | doc_series.c.prefix.startswith(prefix)
        )
    ).first()
    if clash is not None:
        raise RetailError(
            f"terminal {clash.terminal_id}'s series {clash.prefix!r} could issue the store's "
            f"customer numbers ({prefix}...): change that series first"
        )
    number = highest_issued(conn, "customer", prefix) + 1
    new = new_id()
    row = {
        "customer_id": new,
        "customer_no": f"{prefix}{number:06d}",
        "origin_terminal_id": None,
        "created_at": utc_now(),
        **values,
    }
    conn.execute(customer.insert().values(**customers.stamped(conn, store_id, None, row)))
    return new

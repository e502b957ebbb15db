"""Payments as a cashier enters them: an amount per payment method, and a reference
for what is not cash (the card terminal's authorisation number).

Amounts are checked field by field, so that an error can be shown beside its field;
whether they cover the total is :func:`possync.retail.sales.record_sale`'s rule.
Cash goes last: the change due comes out of the cash (only cash can be overpaid).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from possync.retail.errors import RetailError
from possync.retail.money import parse_amount
from possync.retail.prepared import Prepared
from possync.retail.sales import PaymentRequest
from possync.retail.schema import payment_method

MAX_REFERENCE = 64


_ACTIVE = Prepared(
    sa.select(payment_method.c.method_code, payment_method.c.name, payment_method.c.kind)
    .where(payment_method.c.active)
    .order_by(payment_method.c.kind != "cash", payment_method.c.method_code)
)


def methods(conn: sa.Connection) -> list[dict[str, Any]]:
    """Active payment methods, cash first (the usual tender)."""
    names = ("method_code", "name", "kind")
    return [dict(zip(names, r, strict=True)) for r in _ACTIVE.rows(conn)]


def amount_field(method_code: str) -> str:
    return f"amount_{method_code}"


def reference_field(method_code: str) -> str:
    return f"ref_{method_code}"


def payments_from_form(
    active: list[dict[str, Any]],
    form: Mapping[str, str],
    read_amount: Callable[..., int] = parse_amount,
) -> tuple[list[PaymentRequest], dict[str, str]]:
    """The payments entered, and errors by field name (empty if none).
    ``read_amount``: how the store reads a typed amount (its locale's
    ``parse_amount``: ``12,50`` in fr_FR); plain decimal notation by default."""
    payments: list[PaymentRequest] = []
    cash: list[PaymentRequest] = []
    errors: dict[str, str] = {}
    for m in active:
        code = m["method_code"]
        text = (form.get(amount_field(code)) or "").strip()
        reference = (form.get(reference_field(code)) or "").strip() or None
        if not text:
            continue
        try:
            amount = read_amount(text, negative=False)
        except RetailError as exc:
            errors[amount_field(code)] = str(exc)
            continue
        if amount == 0:
            continue
        if m["kind"] != "cash":
            if reference is None:
                errors[reference_field(code)] = f"enter the {m['name'].lower()} reference"
                continue
            if len(reference) > MAX_REFERENCE:
                errors[reference_field(code)] = f"at most {MAX_REFERENCE} characters"
                continue
        request = PaymentRequest(code, amount, reference)
        (cash if m["kind"] == "cash" else payments).append(request)
    if not errors and not payments and not cash:
        errors["payment"] = "enter the amount paid"
    return payments + cash, errors

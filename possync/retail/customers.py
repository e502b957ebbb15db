"""Customers, created on the store or offline on a terminal."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from possync.retail import numbering
from possync.retail.errors import RetailError
from possync.retail.ids import new_id
from possync.retail.schema import customer
from possync.sync.clock import utc_now


def create_on_terminal(
    conn: sa.Connection,
    terminal_id: str,
    name: str,
    email: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """A customer numbered from the terminal's own series (works offline)."""
    errors = problems(name, email, phone)
    if errors:
        raise RetailError("; ".join(errors.values()))
    row = {
        "customer_id": new_id(),
        "customer_no": numbering.next_number(conn, terminal_id, numbering.CUSTOMER),
        "name": name.strip(),
        "email": (email or "").strip() or None,
        "phone": (phone or "").strip() or None,
        "origin_terminal_id": terminal_id,
        "created_at": utc_now(),
    }
    conn.execute(customer.insert(), [row])
    return row


_PHONE = re.compile(r"[0-9 +().-]{3,40}")


def problems(name: str, email: str | None, phone: str | None) -> dict[str, str]:
    """What is wrong with a new customer's details, by field (empty: nothing)."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "a customer needs a name"
    elif len(name.strip()) > 200:
        errors["name"] = "a name is at most 200 characters"
    email = (email or "").strip()
    if email and (len(email) > 200 or " " in email or email.count("@") != 1):
        errors["email"] = f"not an email address: {email!r}"
    phone = (phone or "").strip()
    if phone and not _PHONE.fullmatch(phone):
        errors["phone"] = "a phone number is digits, spaces and + ( ) - (3 to 40)"
    return errors


def find(conn: sa.Connection, text: str, limit: int = 20) -> list[dict[str, Any]]:
    like = f"%{text}%"
    rows = conn.execute(
        sa.select(customer)
        .where(
            sa.or_(
                customer.c.name.ilike(like),
                customer.c.customer_no == text,
                customer.c.phone == text,
                customer.c.email == text,
            )
        )
        .order_by(customer.c.name)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]

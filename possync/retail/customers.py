"""Customers, created on the store or offline on a terminal."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from possync.retail import numbering
from possync.retail.errors import RetailError
from possync.retail.ids import new_id
from possync.retail.schema import customer
from possync.sync import hlc
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
    row = stamped(conn, terminal_id, None, row)
    conn.execute(customer.insert(), [row])
    return row


CONTACT = ("name", "email", "phone")  # what any till of the store may change


def stamped(
    conn: sa.Connection, node: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, Any]:
    """``after`` with the clocks of the contact fields this edit changed, so that
    edits made on several nodes merge field by field (possync.sync.hlc)."""
    return hlc.stamp(conn, node, before, after, CONTACT, "field_clocks")


def change_contact(
    conn: sa.Connection, node: str, customer_no: str, **fields: str | None
) -> dict[str, Any]:
    """Change a customer's contact fields (None: leave as is; "": clear), on any
    node: a till changes customers made anywhere in its store."""
    found = conn.execute(sa.select(customer).where(customer.c.customer_no == customer_no)).first()
    if found is None:
        raise RetailError(f"no customer {customer_no}")
    before = {str(k): v for k, v in found._mapping.items()}
    after = dict(before)
    for name, value in fields.items():
        if name not in CONTACT:
            raise RetailError(f"{name} is not a contact field")
        if value is not None:
            after[name] = value.strip() or None
    if not after["name"]:
        raise RetailError("a customer needs a name")
    errors = problems(after["name"], after["email"], after["phone"])
    if errors:
        raise RetailError("; ".join(errors.values()))
    after = stamped(conn, node, before, after)
    conn.execute(
        customer.update()
        .where(customer.c.customer_id == before["customer_id"])
        .values(**{k: after[k] for k in (*CONTACT, "field_clocks")})
    )
    return after


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

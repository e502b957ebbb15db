"""Customers, created on the store or offline on a terminal."""

from __future__ import annotations

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
    if not name.strip():
        raise RetailError("a customer needs a name")
    row = {
        "customer_id": new_id(),
        "customer_no": numbering.next_number(conn, terminal_id, numbering.CUSTOMER),
        "name": name.strip(),
        "email": email,
        "phone": phone,
        "origin_terminal_id": terminal_id,
        "created_at": utc_now(),
    }
    conn.execute(customer.insert(), [row])
    return row


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

"""Parked sales: a basket set aside, to be taken up again on this till.

A customer who forgot their wallet steps aside; the cashier parks the sale and
serves the next one. Parking moves the cashier's basket (lines, discounts,
customer) into one row of ``pos_parked`` with a label and the time, and empties the
basket; resuming moves it back. Like the basket, parked sales live in the till's own
database only (never replicated: a parked sale is not a document and sells nothing).

Any cashier of the till may resume a parked sale (the next shift takes over a
customer), into an empty basket; who parked it is shown. Discounts come back as
given, with their manager's approval: they were checked when they were given.
Prices do not: a basket line has no price of its own, so a resumed sale sells at
today's price, and resuming names each line whose price changed (or that can no
longer be sold) since it was parked, for the cashier to tell the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import basket as b
from possync.retail.errors import RetailError
from possync.retail.ids import new_id
from possync.sync.clock import utc_now

MAX_LABEL = 60  # pos_parked.label
MAX_PARKED = 50  # per till: more is a queue nobody will serve

parked = b.parked_sale


@dataclass(frozen=True)
class Repriced:
    """A line of a resumed sale whose price is not the one it was parked at."""

    name: str
    was: int
    now: int
    sellable: bool  # False: withdrawn since; the sale cannot be paid with it


@dataclass(frozen=True)
class ParkedSale:
    park_id: str
    label: str
    cashier_id: str
    parked_at: str
    units: int
    total: int


def park(conn: sa.Connection, cashier_id: str, label: str = "") -> ParkedSale:
    """Set the cashier's basket aside; it is emptied. Refuses an empty basket."""
    label = " ".join(label.split())
    if len(label) > MAX_LABEL:
        raise RetailError(f"a label is at most {MAX_LABEL} characters")
    current = b.view(conn, cashier_id)
    if not current.lines:
        raise RetailError("the basket is empty: nothing to park")
    count = conn.execute(sa.select(sa.func.count()).select_from(parked)).scalar() or 0
    if count >= MAX_PARKED:
        raise RetailError(f"{count} sales are parked already: resume or cancel one first")
    content = {
        "customer_id": current.customer["customer_id"] if current.customer else None,
        "lines": [
            {"line_no": ln.line_no, "sku": ln.sku, "qty": ln.qty, "unit_price": ln.unit_price}
            for ln in current.lines
        ],
        "discounts": [
            {"line_no": no, **_discount(d)} for no, d in b.given_discounts(conn, cashier_id).items()
        ],
    }
    sale = ParkedSale(
        new_id(),
        label or (current.customer["name"] if current.customer else current.lines[0].name),
        cashier_id,
        utc_now(),
        current.units,
        current.total,
    )
    conn.execute(parked.insert().values(**sale.__dict__, content=orjson.dumps(content).decode()))
    b.clear(conn, cashier_id)
    return sale


def _discount(d: b.Discount) -> dict[str, Any]:
    return {"kind": d.kind, "value": d.value, "reason": d.reason, "approved_by": d.approved_by}


def listing(conn: sa.Connection) -> list[ParkedSale]:
    """The till's parked sales, oldest first."""
    rows = conn.execute(
        sa.select(*(parked.c[f] for f in ParkedSale.__dataclass_fields__)).order_by(
            parked.c.parked_at, parked.c.park_id
        )
    )
    return [ParkedSale(**r._mapping) for r in rows]


def resume(conn: sa.Connection, cashier_id: str, park_id: str) -> tuple[ParkedSale, list[Repriced]]:
    """Bring a parked sale back into the cashier's basket, which must be empty; with
    the lines whose price changed since it was parked (a sale parked by an older
    release, which kept no prices, names only those withdrawn)."""
    row = conn.execute(sa.select(parked).where(parked.c.park_id == park_id)).first()
    if row is None:
        raise RetailError("that sale is no longer parked (resumed meanwhile?)")
    if b.view(conn, cashier_id).lines:
        raise RetailError("finish, park or cancel the current sale before resuming another")
    content = orjson.loads(row.content)
    b.clear(conn, cashier_id)
    for line in content["lines"]:
        conn.execute(
            b.basket_line.insert().values(
                cashier_id=cashier_id, line_no=line["line_no"], sku=line["sku"], qty=line["qty"]
            )
        )
    for d in content["discounts"]:
        conn.execute(b.basket_discount.insert().values(cashier_id=cashier_id, **d))
    b.attach_customer(conn, cashier_id, content["customer_id"])
    conn.execute(parked.delete().where(parked.c.park_id == park_id))
    sale = ParkedSale(**{f: row._mapping[f] for f in ParkedSale.__dataclass_fields__})
    return sale, _repriced(content["lines"], b.view(conn, cashier_id).lines)


def _repriced(was: list[dict[str, Any]], now: list[b.BasketLine]) -> list[Repriced]:
    parked_at = {line["line_no"]: line.get("unit_price") for line in was}
    return [
        Repriced(ln.name, parked_at[ln.line_no] or 0, ln.unit_price, ln.sellable)
        for ln in now
        if not ln.sellable
        or (parked_at.get(ln.line_no) is not None and parked_at[ln.line_no] != ln.unit_price)
    ]

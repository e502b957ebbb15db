"""The cashier's basket: what is being sold, before it becomes a receipt.

A basket belongs to a cashier on this terminal (one open basket each) and lives in
the terminal's own database, in two tables of its own that never replicate (they
are not in the sync spec, so no capture trigger sees them and no sync sends them).
So a page reload, a second window or a restart of ``pos run`` finds the basket as
it was, and an error (unknown barcode, refused payment) never loses it.

Lines hold the SKU and quantity only: names, prices and tax are read from the
catalog when the basket is shown, so what the cashier sees is what
:func:`possync.retail.sales.record_sale` will charge, even after a price change
arrived by sync in the middle of a sale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from possync.retail import prices
from possync.retail.errors import RetailError
from possync.retail.money import included_tax
from possync.retail.sales import LineRequest, find_item
from possync.retail.schema import CODE, ID, TIMESTAMP, customer, item, store_price, tax_rate
from possync.sync.clock import utc_now

MAX_QTY = 9999  # per line: a barcode typed into the quantity is a typo, not a sale

local_metadata = sa.MetaData()

basket = sa.Table(
    "pos_basket",
    local_metadata,
    sa.Column("cashier_id", sa.String(16), primary_key=True),
    sa.Column("customer_id", ID),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

basket_line = sa.Table(
    "pos_basket_line",
    local_metadata,
    sa.Column("cashier_id", sa.String(16), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("sku", CODE, nullable=False),
    sa.Column("qty", sa.BigInteger, nullable=False),
)


def install(conn: sa.Connection) -> None:
    """Create the basket tables if missing (safe to run at every start)."""
    local_metadata.create_all(conn)


@dataclass(frozen=True)
class BasketLine:
    line_no: int
    sku: str
    name: str
    qty: int
    unit_price: int
    line_total: int
    tax_amount: int
    tax_rate_bp: int
    sellable: bool  # False if the item was withdrawn (or removed) since it was scanned


@dataclass(frozen=True)
class Basket:
    cashier_id: str
    lines: tuple[BasketLine, ...]
    customer: dict[str, Any] | None

    @property
    def total(self) -> int:
        return sum(ln.line_total for ln in self.lines)

    @property
    def tax_total(self) -> int:
        return sum(ln.tax_amount for ln in self.lines)

    @property
    def units(self) -> int:
        return sum(ln.qty for ln in self.lines)

    def sale_lines(self) -> list[LineRequest]:
        return [LineRequest(ln.sku, ln.qty) for ln in self.lines]

    def signature(self) -> list[tuple[str, int]]:
        """What is being sold, to check that a sale took exactly this basket."""
        return [(ln.sku, ln.qty) for ln in self.lines]


def parse_scan(text: str) -> tuple[str, int]:
    """``"5000000000017"`` -> (code, 1); ``"3*5000000000017"`` -> (code, 3): the
    quantity typed before the scan, as on most tills."""
    text = text.strip()
    qty_text, star, code = text.partition("*")
    if not star:
        return text, 1
    if not _QTY.fullmatch(qty_text.strip()):
        raise RetailError(f"expected QTY*CODE, got {text!r}")
    return code.strip(), parse_qty(qty_text)


# ASCII digits only: str.isdigit() also takes "²" or "٣", which int() then refuses
# with a ValueError nobody catches.
_QTY = re.compile(r"[0-9]+", re.ASCII)


def parse_qty(text: str) -> int:
    """A quantity as typed: a whole number from 1 to :data:`MAX_QTY`. Bounded
    before int() so that a pasted page of digits costs nothing."""
    text = text.strip()
    if not _QTY.fullmatch(text):
        raise RetailError(f"not a quantity: {text[:20]!r} (a whole number from 1 to {MAX_QTY})")
    digits = text.lstrip("0")
    if len(digits) > len(str(MAX_QTY)):
        raise RetailError(f"a quantity is 1 to {MAX_QTY}")
    return check_qty(int(digits or "0"))


def check_qty(qty: int) -> int:
    if not 1 <= qty <= MAX_QTY:
        raise RetailError(f"a quantity is 1 to {MAX_QTY}")
    return qty


def view(conn: sa.Connection, cashier_id: str) -> Basket:
    rows = conn.execute(
        sa.select(
            basket_line.c.line_no,
            basket_line.c.sku,
            basket_line.c.qty,
            item.c.name,
            prices.price(),
            item.c.active,
            tax_rate.c.rate_bp,
        )
        .select_from(
            basket_line.outerjoin(item, item.c.sku == basket_line.c.sku)
            .outerjoin(store_price, store_price.c.sku == item.c.sku)
            .outerjoin(tax_rate, tax_rate.c.tax_code == item.c.tax_code)
        )
        .where(basket_line.c.cashier_id == cashier_id)
        .order_by(basket_line.c.line_no)
    )
    lines = []
    for r in rows:
        price = r.price or 0
        rate = r.rate_bp or 0
        total = price * r.qty
        lines.append(
            BasketLine(
                line_no=r.line_no,
                sku=r.sku,
                name=r.name or r.sku,
                qty=r.qty,
                unit_price=price,
                line_total=total,
                tax_amount=included_tax(total, rate),
                tax_rate_bp=rate,
                sellable=bool(r.active) and r.rate_bp is not None,
            )
        )
    return Basket(cashier_id, tuple(lines), _customer(conn, cashier_id))


def _customer(conn: sa.Connection, cashier_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(customer.c.customer_id, customer.c.customer_no, customer.c.name)
        .join(basket, basket.c.customer_id == customer.c.customer_id)
        .where(basket.c.cashier_id == cashier_id)
    ).first()
    return dict(row._mapping) if row else None


def _touch(conn: sa.Connection, cashier_id: str, **values: Any) -> None:
    now = utc_now()
    updated = conn.execute(
        basket.update().where(basket.c.cashier_id == cashier_id).values(updated_at=now, **values)
    )
    if updated.rowcount == 0:
        conn.execute(basket.insert().values(cashier_id=cashier_id, updated_at=now, **values))


def scan(conn: sa.Connection, cashier_id: str, text: str) -> str:
    """Add what a scan (or a typed SKU) names; scanning an item already in the
    basket adds to its line. Returns the SKU. Refuses unknown and unsellable items
    without touching the basket."""
    code, qty = parse_scan(text)
    if not code:
        raise RetailError("scan a barcode or type a SKU")
    found = find_item(conn, code)
    if not found.active:
        raise RetailError(f"{found.name} ({found.sku}) is not sellable")
    add(conn, cashier_id, found.sku, qty)
    return str(found.sku)


def add(conn: sa.Connection, cashier_id: str, sku: str, qty: int = 1) -> None:
    existing = conn.execute(
        sa.select(basket_line.c.line_no, basket_line.c.qty).where(
            basket_line.c.cashier_id == cashier_id, basket_line.c.sku == sku
        )
    ).first()
    if existing is not None:
        _set(conn, cashier_id, existing.line_no, check_qty(existing.qty + qty))
    else:
        last = conn.execute(
            sa.select(sa.func.max(basket_line.c.line_no)).where(
                basket_line.c.cashier_id == cashier_id
            )
        ).scalar()
        conn.execute(
            basket_line.insert().values(
                cashier_id=cashier_id, line_no=(last or 0) + 1, sku=sku, qty=check_qty(qty)
            )
        )
    _touch(conn, cashier_id)


def _set(conn: sa.Connection, cashier_id: str, line_no: int, qty: int) -> None:
    conn.execute(
        basket_line.update()
        .where(basket_line.c.cashier_id == cashier_id, basket_line.c.line_no == line_no)
        .values(qty=qty)
    )


def _line_qty(conn: sa.Connection, cashier_id: str, line_no: int) -> int:
    qty = conn.execute(
        sa.select(basket_line.c.qty).where(
            basket_line.c.cashier_id == cashier_id, basket_line.c.line_no == line_no
        )
    ).scalar()
    if qty is None:
        raise RetailError("that line is no longer in the basket")
    return int(qty)


def set_qty(conn: sa.Connection, cashier_id: str, line_no: int, qty: int) -> None:
    _line_qty(conn, cashier_id, line_no)
    _set(conn, cashier_id, line_no, check_qty(qty))
    _touch(conn, cashier_id)


def change_qty(conn: sa.Connection, cashier_id: str, line_no: int, delta: int) -> None:
    """Add ``delta`` to a line; going to zero removes the line."""
    qty = _line_qty(conn, cashier_id, line_no) + delta
    if qty <= 0:
        remove(conn, cashier_id, line_no)
    else:
        set_qty(conn, cashier_id, line_no, qty)


def remove(conn: sa.Connection, cashier_id: str, line_no: int) -> None:
    conn.execute(
        basket_line.delete().where(
            basket_line.c.cashier_id == cashier_id, basket_line.c.line_no == line_no
        )
    )
    _touch(conn, cashier_id)


def attach_customer(conn: sa.Connection, cashier_id: str, customer_id: str | None) -> None:
    if customer_id is not None:
        known = conn.execute(
            sa.select(customer.c.customer_id).where(customer.c.customer_id == customer_id)
        ).first()
        if known is None:
            raise RetailError("unknown customer")
    _touch(conn, cashier_id, customer_id=customer_id)


def clear(conn: sa.Connection, cashier_id: str) -> None:
    """Empty the basket and detach the customer (a sale done or cancelled)."""
    conn.execute(basket_line.delete().where(basket_line.c.cashier_id == cashier_id))
    conn.execute(basket.delete().where(basket.c.cashier_id == cashier_id))


def take(conn: sa.Connection, cashier_id: str, expected: list[tuple[str, int]]) -> None:
    """Empty the basket in the sale's own transaction, so that it is emptied if and
    only if the sale commits; refuse (rolling the sale back) if the basket changed
    since it was read, e.g. in another window of the same cashier."""
    if view(conn, cashier_id).signature() != expected:
        raise RetailError("the basket changed in another window: check it and pay again")
    clear(conn, cashier_id)

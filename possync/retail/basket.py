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

Discounts given in the basket are kept beside it (``pos_basket_discount``, a line's
or, at line 0, the basket's) and priced with the lines by :mod:`.discounts`. A
discount of an amount was given on what the line (or basket) came to then: a change
of that line's quantity (or of any line, for the basket's) removes it, so that an
amount within the cashier's limit never becomes a larger share of a smaller sale.
Percentages stay. Each line also shows the till's on-hand figure of its item, and
warns (never refuses: the till's figure may lag the shelf) when selling more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from possync.retail import discounts, prices
from possync.retail.basket_tables import (  # the tables, where callers have found them
    BASKET_LINE,
    basket,
    basket_discount,
    basket_line,
    local_metadata,
)
from possync.retail.basket_tables import parked_sale as parked_sale
from possync.retail.discounts import Discount
from possync.retail.errors import RetailError
from possync.retail.money import included_tax
from possync.retail.prepared import Prepared
from possync.retail.sales import LineRequest, find_item
from possync.retail.schema import (
    customer,
    item,
    stock_level,
    store_price,
    tax_rate,
)
from possync.sync.clock import utc_now

MAX_QTY = 9999  # per line: a barcode typed into the quantity is a typo, not a sale


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
    gross: int = 0  # qty x price, before discounts
    discount: int = 0  # the line's own discount and its share of the basket's
    discount_reason: str | None = None
    own_discount: Discount | None = None  # as given on this line
    on_hand: int = 0  # the till's stock figure (0: no movement known)

    @property
    def short(self) -> bool:
        """More in the basket than the till believes is on hand: a warning only."""
        return self.qty > self.on_hand


@dataclass(frozen=True)
class Basket:
    cashier_id: str
    lines: tuple[BasketLine, ...]
    customer: dict[str, Any] | None
    discount: Discount | None = None  # the basket's own

    @property
    def gross(self) -> int:
        return sum(ln.gross for ln in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(ln.discount for ln in self.lines)

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
        """The lines with their discounts as amounts (the basket's spread over them)."""
        return [
            LineRequest(ln.sku, ln.qty, discount=ln.discount, discount_reason=ln.discount_reason)
            for ln in self.lines
        ]

    def signature(self) -> list[tuple[str, int, int]]:
        """What is being sold and at what price, to check that a sale took exactly
        this basket."""
        return [(ln.sku, ln.qty, ln.line_total) for ln in self.lines]

    def after_own_discounts(self, line_no: int | None = None) -> int:
        """What a line (or, None, the basket) comes to after the lines' own discounts:
        the base a discount given on it is measured against."""
        lines = [ln for ln in self.lines if line_no is None or ln.line_no == line_no]
        return sum(
            ln.gross - (ln.own_discount.off(ln.gross) if ln.own_discount else 0) for ln in lines
        )


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


# The basket's lines priced from the catalog (built once: a till runs it at every
# scan and pay). ``on_hand``: the till's own store (a till holds one), a primary-key
# look-up per line.
_ON_HAND = (
    sa.select(stock_level.c.on_hand)
    .where(stock_level.c.store_id == prices.HERE, stock_level.c.sku == basket_line.c.sku)
    .scalar_subquery()
    .label("on_hand")
)
_PRICED_LINES = Prepared(
    sa.select(
        basket_line.c.line_no,
        basket_line.c.sku,
        basket_line.c.qty,
        item.c.name,
        prices.price(),
        item.c.active,
        tax_rate.c.rate_bp,
        _ON_HAND,
    )
    .select_from(
        basket_line.outerjoin(item, item.c.sku == basket_line.c.sku)
        .outerjoin(store_price, prices.STORE_PRICE)
        .outerjoin(tax_rate, tax_rate.c.tax_code == item.c.tax_code)
    )
    .where(basket_line.c.cashier_id == sa.bindparam("cashier_id"))
    .order_by(basket_line.c.line_no)
)
# What the sale's guard compares (Basket.signature): each line's SKU, quantity and
# price, nothing shown only on the screen.
_SIGNED_LINES = Prepared(
    sa.select(basket_line.c.line_no, basket_line.c.sku, basket_line.c.qty, prices.price())
    .select_from(
        basket_line.outerjoin(item, item.c.sku == basket_line.c.sku).outerjoin(
            store_price, prices.STORE_PRICE
        )
    )
    .where(basket_line.c.cashier_id == sa.bindparam("cashier_id"))
    .order_by(basket_line.c.line_no)
)
_GIVEN = Prepared(
    sa.select(
        basket_discount.c.line_no,
        basket_discount.c.kind,
        basket_discount.c.value,
        basket_discount.c.reason,
        basket_discount.c.approved_by,
    ).where(basket_discount.c.cashier_id == sa.bindparam("cashier_id"))
)


class _Line(NamedTuple):
    """A basket line as read, priced from the catalog (None: the item is gone)."""

    line_no: int
    sku: str
    qty: int
    name: str | None
    price: int | None
    active: bool | None
    rate_bp: int | None
    on_hand: int | None


_CUSTOMER_COLUMNS = (customer.c.customer_id, customer.c.customer_no, customer.c.name)
_CUSTOMER = Prepared(
    sa.select(*_CUSTOMER_COLUMNS)
    .join(basket, basket.c.customer_id == customer.c.customer_id)
    .where(basket.c.cashier_id == sa.bindparam("cashier_id"))
)


def view(conn: sa.Connection, cashier_id: str) -> Basket:
    rows = [_Line._make(r) for r in _PRICED_LINES.rows(conn, {"cashier_id": cashier_id})]
    given = given_discounts(conn, cashier_id)
    whole = given.get(BASKET_LINE)
    priced = discounts.apply(
        [(r.price or 0) * r.qty for r in rows], [given.get(r.line_no) for r in rows], whole
    )
    lines = []
    for r, p in zip(rows, priced, strict=True):
        rate = r.rate_bp or 0
        lines.append(
            BasketLine(
                line_no=r.line_no,
                sku=r.sku,
                name=r.name or r.sku,
                qty=r.qty,
                unit_price=r.price or 0,
                line_total=p.line_total,
                tax_amount=included_tax(p.line_total, rate),
                tax_rate_bp=rate,
                sellable=bool(r.active) and r.rate_bp is not None,
                gross=p.gross,
                discount=p.discount,
                discount_reason=p.reason_text,
                own_discount=given.get(r.line_no),
                on_hand=int(r.on_hand or 0),
            )
        )
    return Basket(cashier_id, tuple(lines), _customer(conn, cashier_id), whole)


def signature(conn: sa.Connection, cashier_id: str) -> list[tuple[str, int, int]]:
    """``view(conn, cashier_id).signature()``, read with less: no names, tax, stock
    or customer."""
    rows = _SIGNED_LINES.rows(conn, {"cashier_id": cashier_id})
    if not rows:
        return []
    given = given_discounts(conn, cashier_id)
    priced = discounts.apply(
        [(price or 0) * qty for _, _, qty, price in rows],
        [given.get(line_no) for line_no, *_ in rows],
        given.get(BASKET_LINE),
    )
    return [(sku, qty, p.line_total) for (_, sku, qty, _), p in zip(rows, priced, strict=True)]


def given_discounts(conn: sa.Connection, cashier_id: str) -> dict[int, Discount]:
    """The discounts given in the basket, by line number (0: the basket's)."""
    rows = _GIVEN.rows(conn, {"cashier_id": cashier_id})
    return {line_no: Discount(*given) for line_no, *given in rows}


def set_discount(
    conn: sa.Connection, cashier_id: str, line_no: int, discount: Discount | None
) -> None:
    """Give (or, None, take away) a line's discount, or at :data:`BASKET_LINE` the
    basket's. The limit and its approval are the caller's (:mod:`.discount_rules`)."""
    if line_no != BASKET_LINE:
        _line_qty(conn, cashier_id, line_no)
    elif (
        discount is not None
        and not conn.execute(
            sa.select(basket_line.c.line_no).where(basket_line.c.cashier_id == cashier_id).limit(1)
        ).first()
    ):
        raise RetailError("the basket is empty")
    _drop_discount(conn, cashier_id, line_no)
    if discount is not None:
        conn.execute(
            basket_discount.insert().values(
                cashier_id=cashier_id,
                line_no=line_no,
                kind=discount.kind,
                value=discount.value,
                reason=discount.reason,
                approved_by=discount.approved_by,
            )
        )
    _touch(conn, cashier_id)


def _drop_discount(
    conn: sa.Connection, cashier_id: str, line_no: int, *, kind: str | None = None
) -> None:
    d = basket_discount.c
    where = [d.cashier_id == cashier_id, d.line_no == line_no]
    if kind is not None:
        where.append(d.kind == kind)
    conn.execute(basket_discount.delete().where(*where))


def _changed(conn: sa.Connection, cashier_id: str, line_no: int | None) -> None:
    """A line changed (or, None, was added): amount discounts given on what it came
    to no longer hold (see the module doc)."""
    if line_no is not None:
        _drop_discount(conn, cashier_id, line_no, kind=discounts.AMOUNT)
    _drop_discount(conn, cashier_id, BASKET_LINE, kind=discounts.AMOUNT)


def _customer(conn: sa.Connection, cashier_id: str) -> dict[str, Any] | None:
    row = _CUSTOMER.first(conn, {"cashier_id": cashier_id})
    return dict(zip((c.name for c in _CUSTOMER_COLUMNS), row, strict=True)) if row else None


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
        _changed(conn, cashier_id, existing.line_no)
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
        _changed(conn, cashier_id, None)
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
    if _line_qty(conn, cashier_id, line_no) != check_qty(qty):
        _set(conn, cashier_id, line_no, qty)
        _changed(conn, cashier_id, line_no)
    _touch(conn, cashier_id)


def change_qty(
    conn: sa.Connection, cashier_id: str, line_no: int, delta: int, *, to_zero: bool = True
) -> None:
    """Add ``delta`` to a line; going to zero removes the line, or with ``to_zero``
    False is refused (the screen voids a line with a reason instead)."""
    qty = _line_qty(conn, cashier_id, line_no) + delta
    if qty <= 0 and not to_zero:
        raise RetailError("a quantity is at least 1: void the line to take it out")
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
    _drop_discount(conn, cashier_id, line_no)
    _changed(conn, cashier_id, None)
    if not conn.execute(
        sa.select(basket_line.c.line_no).where(basket_line.c.cashier_id == cashier_id).limit(1)
    ).first():
        _drop_discount(conn, cashier_id, BASKET_LINE)
    _touch(conn, cashier_id)


def attach_customer(conn: sa.Connection, cashier_id: str, customer_id: str | None) -> None:
    if customer_id is not None:
        known = conn.execute(
            sa.select(customer.c.customer_id).where(customer.c.customer_id == customer_id)
        ).first()
        if known is None:
            raise RetailError("unknown customer")
    _touch(conn, cashier_id, customer_id=customer_id)


_CLEAR = [
    Prepared(table.delete().where(table.c.cashier_id == sa.bindparam("cashier_id")))
    for table in (basket_line, basket_discount, basket)
]


def clear(conn: sa.Connection, cashier_id: str) -> None:
    """Empty the basket and detach the customer (a sale done or cancelled)."""
    for statement in _CLEAR:
        statement.run(conn, {"cashier_id": cashier_id})


def take(conn: sa.Connection, cashier_id: str, expected: list[tuple[str, int, int]]) -> None:
    """Empty the basket in the sale's own transaction, so that it is emptied if and
    only if the sale commits; refuse (rolling the sale back) if the basket changed
    since it was read, e.g. in another window of the same cashier, or a price did."""
    if signature(conn, cashier_id) != expected:
        raise RetailError("the basket changed in another window: check it and pay again")
    clear(conn, cashier_id)

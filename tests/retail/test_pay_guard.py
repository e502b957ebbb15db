"""The pay's cheaper reads keep their rules: the basket's guard (``basket.take``)
still refuses a basket changed since it was read (a line, a quantity, a discount, a
price), and the sale still finds each line's item by SKU before barcode, all at
once; on a terminal-like database (tests/retail/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from possync.retail import basket, discounts
from possync.retail.discounts import Discount
from possync.retail.errors import RetailError
from possync.retail.sales import LineRequest, PaymentRequest, Till, record_sale
from possync.retail.schema import item, receipt, receipt_line, store_price
from possync.sync.db import read_tx, write_tx

Db = tuple[sa.Engine, Till]
CASHIER = "ADA"


@pytest.fixture
def db(till_db: Db) -> Db:
    engine, _ = till_db
    with write_tx(engine) as conn:
        basket.install(conn)
        discounts.save_reason(conn, "STAFF", "Staff discount")
        basket.scan(conn, CASHIER, "A")
        basket.scan(conn, CASHIER, "2*222")  # B, by barcode
    return till_db


def _read(engine: sa.Engine) -> basket.Basket:
    with read_tx(engine) as conn:
        return basket.view(conn, CASHIER)


def test_signature_reads_what_the_view_shows(db: Db) -> None:
    engine, _ = db
    shapes: list[Callable[[sa.Connection], None]] = [
        lambda c: None,
        lambda c: basket.set_discount(c, CASHIER, 1, Discount("percent", 1250, "STAFF")),
        lambda c: basket.set_discount(c, CASHIER, 0, Discount("amount", 77, "STAFF")),
        lambda c: c.execute(store_price.insert().values(sku="B", store_id="S01", price=199)),
        lambda c: c.execute(item.update().where(item.c.sku == "A").values(active=False)),
        lambda c: basket.clear(c, CASHIER),
    ]
    for change in shapes:
        with write_tx(engine) as conn:
            change(conn)
            assert basket.signature(conn, CASHIER) == basket.view(conn, CASHIER).signature()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: basket.scan(c, CASHIER, "A"), id="quantity"),
        pytest.param(lambda c: basket.remove(c, CASHIER, 2), id="line removed"),
        pytest.param(
            lambda c: basket.set_discount(c, CASHIER, 2, Discount("percent", 1000, "STAFF")),
            id="discount",
        ),
        pytest.param(
            lambda c: c.execute(item.update().where(item.c.sku == "B").values(price=250)),
            id="catalog price",
        ),
        pytest.param(
            lambda c: c.execute(store_price.insert().values(sku="A", store_id="S01", price=100)),
            id="store price",
        ),
    ],
)
def test_a_basket_changed_since_it_was_read_is_not_sold(
    db: Db, change: Callable[[sa.Connection], None]
) -> None:
    engine, till = db
    seen = _read(engine)
    with write_tx(engine) as conn:
        change(conn)
    with pytest.raises(RetailError, match="basket changed"), write_tx(engine) as conn:
        record_sale(conn, till, seen.sale_lines(), [PaymentRequest("CASH", 10_000)])
        basket.take(conn, CASHIER, seen.signature())
    with read_tx(engine) as conn:  # rolled back: no receipt, the basket kept
        assert conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar() == 0
        assert basket.view(conn, CASHIER).lines


def test_an_unchanged_basket_is_sold_and_emptied(db: Db) -> None:
    engine, till = db
    seen = _read(engine)
    with write_tx(engine) as conn:
        sold = record_sale(conn, till, seen.sale_lines(), [PaymentRequest("CASH", 10_000)])
        basket.take(conn, CASHIER, seen.signature())
    assert sold.total == seen.total == 120 + 2 * 240
    after = _read(engine)
    assert after.lines == () and after.customer is None


def test_a_sale_finds_its_items_by_sku_before_barcode(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:  # an item whose SKU is another item's barcode
        conn.execute(
            item.insert().values(
                sku="222", barcode="999", name="Twos", price=5, tax_code="STD", active=True
            )
        )
        lines = [LineRequest("222", 1), LineRequest("111", 2), LineRequest("B", 1)]
        record_sale(conn, till, lines, [PaymentRequest("CASH")])
        sold = conn.execute(
            sa.select(receipt_line.c.sku, receipt_line.c.qty).order_by(receipt_line.c.line_no)
        ).all()
    assert [tuple(r) for r in sold] == [("222", 1), ("A", 2), ("B", 1)]


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([LineRequest("A", 1), LineRequest("NOPE", 1)], "unknown item 'NOPE'"),
        ([LineRequest("NOPE", 0), LineRequest("A", 1)], "quantity of 'NOPE' must be positive"),
        ([LineRequest("333", 1)], "item 'Z' is not sellable"),
    ],
)
def test_a_sale_refuses_lines_in_their_order(db: Db, lines: list[LineRequest], error: str) -> None:
    engine, till = db
    with pytest.raises(RetailError, match=error), write_tx(engine) as conn:
        record_sale(conn, till, lines, [PaymentRequest("CASH")])


def test_an_item_with_an_unknown_tax_code_is_refused(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        conn.execute(item.update().where(item.c.sku == "A").values(tax_code="GONE"))
    with pytest.raises(RetailError, match="unknown tax code 'GONE'"), write_tx(engine) as conn:
        record_sale(conn, till, [LineRequest("A", 1)], [PaymentRequest("CASH")])

from __future__ import annotations

import pytest
import sqlalchemy as sa

from possync.retail import customers
from possync.retail.errors import RetailError
from possync.retail.sales import LineRequest, PaymentRequest, Till, record_return, record_sale
from possync.retail.schema import receipt, receipt_payment, stock_level
from possync.sync.db import read_tx, write_tx

Db = tuple[sa.Engine, Till]


def sell(db: Db, lines: list[tuple[str, int]], payments: list[PaymentRequest]):  # type: ignore[no-untyped-def]
    engine, till = db
    with write_tx(engine) as conn:
        return record_sale(conn, till, [LineRequest(c, q) for c, q in lines], payments)


def test_sale_totals_tax_change_and_stock(till_db: Db) -> None:
    s = sell(till_db, [("A", 2), ("222", 1)], [PaymentRequest("CASH", 1000)])
    assert (s.receipt_no, s.total, s.change_due) == ("S01-T01-000001", 480, 520)
    assert s.tax_total == 13 + 40  # 2.40 at 5.5 % holds 0.13, 2.40 at 20 % holds 0.40
    engine, _ = till_db
    with read_tx(engine) as conn:
        paid = conn.execute(sa.select(receipt_payment.c.amount)).scalars().all()
        stock = dict(conn.execute(sa.select(stock_level.c.sku, stock_level.c.on_hand)).all())
    assert paid == [480]  # cash is recorded net of the change given back
    assert stock == {"A": -2, "B": -1}


def test_split_payment(till_db: Db) -> None:
    s = sell(till_db, [("B", 2)], [PaymentRequest("CARD", 300, "AUTH1"), PaymentRequest("CASH")])
    assert s.total == 480 and s.change_due == 0
    engine, _ = till_db
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.select(
                receipt_payment.c.method_code, receipt_payment.c.amount, receipt_payment.c.reference
            )
        ).all()
    assert rows == [("CARD", 300, "AUTH1"), ("CASH", 180, None)]


@pytest.mark.parametrize(
    ("lines", "payments", "message"),
    [
        ([("NOPE", 1)], [PaymentRequest("CASH")], "unknown item 'NOPE'"),
        ([("Z", 1)], [PaymentRequest("CASH")], "not sellable"),
        ([("A", 0)], [PaymentRequest("CASH")], "must be positive"),
        ([("A", 1)], [PaymentRequest("CASH", 100)], "insufficient payment: 0.20 still due"),
        ([("A", 1)], [PaymentRequest("CARD", 500)], "only cash can be overpaid"),
        ([("A", 1)], [PaymentRequest("BITCOIN")], "unknown payment method"),
        ([], [PaymentRequest("CASH")], "basket is empty"),
    ],
)
def test_refused_sales_write_nothing_and_use_no_number(
    till_db: Db, lines: list[tuple[str, int]], payments: list[PaymentRequest], message: str
) -> None:
    with pytest.raises(RetailError, match=message):
        sell(till_db, lines, payments)
    assert sell(till_db, [("A", 1)], [PaymentRequest("CASH")]).receipt_no == "S01-T01-000001"


def test_numbers_are_gapless_and_a_rolled_back_sale_gives_its_number_back(till_db: Db) -> None:
    engine, till = till_db
    sell(till_db, [("A", 1)], [PaymentRequest("CASH")])

    class PowerCut(Exception):
        pass

    with pytest.raises(PowerCut), write_tx(engine) as conn:
        record_sale(conn, till, [LineRequest("A", 1)], [PaymentRequest("CASH")])
        raise PowerCut  # the transaction never commits
    third = sell(till_db, [("A", 1)], [PaymentRequest("CASH")])
    assert third.receipt_no == "S01-T01-000002"
    with read_tx(engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar() == 2


def test_returns_are_limited_to_what_was_sold(till_db: Db) -> None:
    engine, till = till_db
    sale = sell(till_db, [("A", 3), ("B", 1)], [PaymentRequest("CASH")])
    with write_tx(engine) as conn:
        first = record_return(conn, till, sale.receipt_no, [LineRequest("111", 2)])
    assert (first.receipt_no, first.total) == ("S01-T01-R000001", -240)
    with (
        pytest.raises(RetailError, match="only 1 of A can still be returned"),
        write_tx(engine) as conn,
    ):
        record_return(conn, till, sale.receipt_no, [LineRequest("A", 2)])
    with pytest.raises(RetailError, match="is not on receipt"), write_tx(engine) as conn:
        record_return(conn, till, sale.receipt_no, [LineRequest("Z", 1)])
    with pytest.raises(RetailError, match="is a return"), write_tx(engine) as conn:
        record_return(conn, till, first.receipt_no, [LineRequest("A", 1)])
    with read_tx(engine) as conn:
        stock = dict(conn.execute(sa.select(stock_level.c.sku, stock_level.c.on_hand)).all())
    assert stock == {"A": -1, "B": -1}


def test_customers_are_numbered_from_the_terminal_series(till_db: Db) -> None:
    engine, _ = till_db
    with write_tx(engine) as conn:
        a = customers.create_on_terminal(conn, "T01", "Ada")
        b = customers.create_on_terminal(conn, "T01", "Bob", phone="555")
    assert (a["customer_no"], b["customer_no"]) == ("S01-T01-C000001", "S01-T01-C000002")
    with read_tx(engine) as conn:
        assert [c["name"] for c in customers.find(conn, "555")] == ["Bob"]

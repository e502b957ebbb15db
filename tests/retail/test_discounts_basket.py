"""Discounts in a basket and on the receipt, a manager's approval above a cashier's
limit, voids and cancellations logged with their reason, returns refunding what was
paid, the stock warning; on a terminal-like database (tests/retail/conftest.py)."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from possync.retail import (
    basket,
    cashiers,
    discount_rules,
    discounts,
    fiscal_chain,
    receipts,
    till_events,
)
from possync.retail.errors import RetailError
from possync.retail.sales import (
    PaymentRequest,
    ReturnRequest,
    Till,
    original_sale,
    record_return_of,
    record_sale,
)
from possync.retail.schema import cashier, receipt_line, till_event
from possync.retail.stock import adjust
from possync.sync.db import read_tx, write_tx

Db = tuple[sa.Engine, Till]


@pytest.fixture
def db(till_db: Db) -> Db:
    engine, _ = till_db
    with write_tx(engine) as conn:
        basket.install(conn)
        discounts.save_reason(conn, "DAMAGED", "Damaged packaging")
        discounts.save_reason(conn, "STAFF", "Staff discount")
        discounts.save_reason(conn, "OLD", "No longer used", active=False)
        for who, limit, manager in [
            ("ADA", 1000, False),
            ("BOB", None, False),
            ("MAY", None, True),
        ]:
            conn.execute(
                cashier.insert().values(
                    cashier_id=who, name=who, active=True, discount_limit_bp=limit, manager=manager
                )
            )
        adjust(conn, "S01", "A", 3, "goods_receipt")
    return till_db


def _events(engine: sa.Engine) -> list[dict[str, object]]:
    with read_tx(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(till_event))]


def test_line_and_basket_discounts_reach_the_receipt_taxed_after_discount(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "ADA", "A", 5)  # 5 x 1.20 at 5.5 %
        basket.add(conn, "ADA", "B", 1)  # 2.40 at 20 %
        discount_rules.give(conn, till, "ADA", 1, "10%", "DAMAGED")
        # With the line's 0.60, 1.10 off 8.40 is above Ada's 10 %: May approves.
        discount_rules.give(
            conn, till, "ADA", basket.BASKET_LINE, "0.50", "STAFF", approved_by="MAY"
        )
        seen = basket.view(conn, "ADA")
    assert [(ln.gross, ln.discount, ln.line_total) for ln in seen.lines] == [
        (600, 60 + 35, 505),  # 0.50 spread over 5.40 and 2.40: 0.35 and 0.15
        (240, 15, 225),
    ]
    assert seen.lines[0].discount_reason == "DAMAGED + STAFF"
    assert seen.total == 730 and seen.discount_total == 110
    # the stock warning: 5 sold, 3 on hand; none known of B
    assert (seen.lines[0].on_hand, seen.lines[0].short) == (3, True)
    assert (seen.lines[1].on_hand, seen.lines[1].short) == (0, True)
    with write_tx(engine) as conn:
        sold = record_sale(conn, till, seen.sale_lines(), [PaymentRequest("CASH")])
        basket.take(conn, "ADA", seen.signature())
        lines = conn.execute(sa.select(receipt_line).order_by(receipt_line.c.line_no)).all()
        assert fiscal_chain.verify(conn, "S01", "T01").problem is None
    assert sold.total == 730
    assert [(ln.discount, ln.line_total, ln.tax_amount, ln.discount_reason) for ln in lines] == [
        (95, 505, 26, "DAMAGED + STAFF"),  # 5.05 at 5.5 % holds 0.26
        (15, 225, 38, "STAFF"),  # 2.25 at 20 % holds 0.375 -> 0.38
    ]
    assert sold.tax_total == 26 + 38
    assert [e["approved_by"] for e in _events(engine)] == ["MAY"]  # the sale's, approved


def test_above_the_limit_a_manager_approves_and_it_is_logged(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "ADA", "B", 2)
        basket.add(conn, "BOB", "B", 2)
    for who, text in [("ADA", "10.01%"), ("ADA", "0.49"), ("BOB", "1%")]:
        needed = pytest.raises(discount_rules.ApprovalNeeded, match="a manager must approve")
        with needed, write_tx(engine) as conn:
            discount_rules.give(conn, till, who, 1, text, "STAFF")
    with write_tx(engine) as conn:  # 0.48 of 4.80 is 10 %: within
        discount_rules.give(conn, till, "ADA", 1, "0.48", "STAFF")
        with pytest.raises(RetailError, match="BOB is not a manager"):
            discount_rules.give(conn, till, "ADA", 1, "50%", "STAFF", approved_by="BOB")
        given = discount_rules.give(conn, till, "ADA", 1, "50%", "STAFF", approved_by="MAY")
        assert given.approved_by == "MAY"
        assert basket.view(conn, "ADA").total == 240
    (event,) = _events(engine)
    assert (event["kind"], event["cashier_id"], event["approved_by"], event["reason"]) == (
        till_events.DISCOUNT_APPROVED,
        "ADA",
        "MAY",
        "STAFF",
    )
    assert orjson.loads(str(event["detail"])) == {
        "line_no": 1,
        "sku": "B",
        "kind": "percent",
        "value": 5000,
        "off": 240,
        "base": 480,
    }
    with write_tx(engine) as conn:  # a manager gives any discount alone
        basket.add(conn, "MAY", "A", 1)
        discount_rules.give(conn, till, "MAY", 0, "100%", "STAFF")
        assert basket.view(conn, "MAY").total == 0


@pytest.mark.parametrize(
    ("line", "text", "reason", "message"),
    [
        (1, "10%", "", "choose a reason"),
        (1, "10%", "OLD", "choose a reason"),  # inactive
        (1, "10%", "NOPE", "choose a reason"),
        (1, "2.41", "STAFF", "more than the line comes to"),
        (0, "2.41", "STAFF", "more than the sale comes to"),
        (7, "1%", "STAFF", "no longer in the basket"),
        (1, "150%", "STAFF", "at most 100"),
        (1, "abc", "STAFF", "not an amount"),
    ],
)
def test_a_refused_discount_changes_nothing(
    db: Db, line: int, text: str, reason: str, message: str
) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "MAY", "B", 1)
    with pytest.raises(RetailError, match=message), write_tx(engine) as conn:
        discount_rules.give(conn, till, "MAY", line, text, reason)
    with read_tx(engine) as conn:
        assert basket.view(conn, "MAY").discount_total == 0


def test_the_limit_holds_for_the_sale_not_each_discount_alone(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "ADA", "A", 5)  # 6.00
        basket.add(conn, "ADA", "B", 1)  # 2.40
        # 10 % of a line whose cents round up is still 10 % (not refused for 10.2 %).
        discount_rules.give(conn, till, "ADA", 1, "10%", "DAMAGED")
        discount_rules.give(conn, till, "ADA", 2, "10%", "DAMAGED")
    # Both lines at 10 %: the sale is at 10 %, so any more needs a manager.
    refused = pytest.raises(discount_rules.ApprovalNeeded, match=r"comes off the sale, above")
    with refused, write_tx(engine) as conn:
        discount_rules.give(conn, till, "ADA", basket.BASKET_LINE, "1%", "STAFF")
    with write_tx(engine) as conn:
        given = discount_rules.give(
            conn, till, "ADA", basket.BASKET_LINE, "1%", "STAFF", approved_by="MAY"
        )
        # Replacing a line's discount by a smaller one counts the new one only.
        discount_rules.give(conn, till, "ADA", 1, "5%", "DAMAGED")
        seen = basket.view(conn, "ADA")
    assert given.approved_by == "MAY" and seen.discount == given
    assert [e["kind"] for e in _events(engine)] == [till_events.DISCOUNT_APPROVED]


def test_an_amount_discount_goes_when_its_line_changes(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "ADA", "B", 10)  # 24.00
        discount_rules.give(conn, till, "ADA", 1, "2.40", "STAFF")  # 10 %
        discount_rules.give(conn, till, "ADA", 0, "5%", "STAFF", approved_by="MAY")
        basket.set_qty(conn, "ADA", 1, 1)  # 2.40 off 2.40 would be 100 %
        seen = basket.view(conn, "ADA")
    assert seen.lines[0].own_discount is None and seen.discount is not None
    assert seen.total == 228  # the basket's 5 % stays


def test_voids_and_cancellations_need_a_reason_and_are_logged(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "ADA", "A", 2)
        basket.add(conn, "ADA", "B", 1)
    for reason in ("", "   ", "x" * 201):
        with pytest.raises(RetailError), write_tx(engine) as conn:
            till_events.void_line(conn, till, "ADA", 1, reason)
    with pytest.raises(RetailError, match="no longer in the basket"), write_tx(engine) as conn:
        till_events.void_line(conn, till, "ADA", 9, "Scanned by mistake")
    assert _events(engine) == []
    with write_tx(engine) as conn:
        till_events.void_line(conn, till, "ADA", 1, "Scanned  by\nmistake")
        assert [ln.sku for ln in basket.view(conn, "ADA").lines] == ["B"]
        till_events.cancel_sale(conn, till, "ADA", "Customer cannot pay")
        assert basket.view(conn, "ADA").lines == ()
        with pytest.raises(RetailError, match="no sale to cancel"):
            till_events.cancel_sale(conn, till, "ADA", "again")
    voided, cancelled = sorted(_events(engine), key=lambda e: str(e["kind"]))
    assert (voided["kind"], voided["reason"]) == ("line_voided", "Scanned by mistake")
    assert orjson.loads(str(voided["detail"]))["sku"] == "A"
    assert (cancelled["kind"], cancelled["terminal_id"], cancelled["store_id"]) == (
        "sale_cancelled",
        "T01",
        "S01",
    )
    assert orjson.loads(str(cancelled["detail"]))["total"] == 240


def test_returns_refund_what_was_paid_to_the_cent(db: Db) -> None:
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "MAY", "A", 3)  # 3.60, 1.00 off: 2.60 paid
        discount_rules.give(conn, till, "MAY", 1, "1.00", "DAMAGED")
        seen = basket.view(conn, "MAY")
        sold = record_sale(conn, till, seen.sale_lines(), [PaymentRequest("CASH")])
    refunds = []
    for _ in range(3):  # one unit at a time: 0.33, 0.33, 0.34 of the discount
        with write_tx(engine) as conn:
            original = original_sale(conn, sold.receipt_no)
            assert original is not None
            back = record_return_of(conn, till, original, [ReturnRequest(1, 1)])
            refunds.append(back.total)
    assert refunds == [-87, -87, -86] and sum(refunds) == -sold.total
    with read_tx(engine) as conn:
        returned = conn.execute(
            sa.select(receipt_line.c.discount).where(receipt_line.c.qty < 0)
        ).scalars()
        assert list(returned) == [-33, -33, -34]


def test_a_sale_refuses_a_discount_beyond_its_line(db: Db) -> None:
    from possync.retail.sales import LineRequest

    engine, till = db
    for line, message in [
        (LineRequest("A", 1, discount=121, discount_reason="STAFF"), "must be from 0"),
        (LineRequest("A", 1, discount=-1, discount_reason="STAFF"), "must be from 0"),
        (LineRequest("A", 1, discount=10), "has no reason"),
    ]:
        with pytest.raises(RetailError, match=message), write_tx(engine) as conn:
            record_sale(conn, till, [line], [PaymentRequest("CASH")])


def test_cashier_limits_are_saved_with_the_cashier(db: Db) -> None:
    engine, _ = db
    with write_tx(engine) as conn:
        cashiers.save(conn, "CY", "Cy", pin="1234", discount_limit_bp=500, manager=True)
        cashiers.save(conn, "CY", "Cy Two")  # keeps both
        row = conn.execute(sa.select(cashier).where(cashier.c.cashier_id == "CY")).one()
    assert (row.name, row.discount_limit_bp, row.manager) == ("Cy Two", 500, True)


def test_a_return_at_another_till_refunds_what_was_paid(db: Db) -> None:
    """The sale as the store sends it to another till (receipts.for_return, then
    original_from_wire there) carries each line's discount: the refund is what was
    paid, as at the till that sold it."""
    engine, till = db
    with write_tx(engine) as conn:
        basket.add(conn, "MAY", "A", 3)  # 3.60, 1.00 off: 2.60 paid
        discount_rules.give(conn, till, "MAY", 1, "1.00", "DAMAGED")
        sold = record_sale(
            conn, till, basket.view(conn, "MAY").sale_lines(), [PaymentRequest("CASH")]
        )
    with read_tx(engine) as conn:
        wire = orjson.loads(orjson.dumps(receipts.for_return(conn, sold.receipt_no, ("S01",))))
    original, _ = receipts.original_from_wire(wire, {})
    with write_tx(engine) as conn:
        back = record_return_of(conn, till, original, [ReturnRequest(1, 3)])
    assert back.total == -sold.total == -260
    # A store's answer with a discount beyond its line is not a receipt.
    wire["lines"][0]["discount"] = 361
    with pytest.raises(RetailError, match="not a receipt"):
        receipts.original_from_wire(wire, {})

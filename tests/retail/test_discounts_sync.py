"""Discounts across the sync: reasons and a cashier's limit go down to the tills,
a discounted sale (with its lines' reasons) and the till's events go up to the
store; the store's guard refuses a till event that is not the sender's own or has
no reason. Store and two tills in process (tests/property/test_customer_merge)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from possync.retail import (
    basket,
    cashiers,
    catalog,
    chain,
    discount_rules,
    discounts,
    integrity,
    till_events,
)
from possync.retail.sales import PaymentRequest, record_sale
from possync.retail.schema import cashier, discount_reason, receipt_line, till_event
from possync.sync.db import read_tx, write_tx
from possync.sync.log import Change
from tests.property.chain_tiers import Chain
from tests.property.retail_pair import CATALOG, SKUS
from tests.property.test_customer_merge import Shop


def test_reasons_and_limits_go_down_sales_and_events_come_up() -> None:
    shop = Shop()
    try:
        with write_tx(shop.store) as conn:
            catalog.import_csv(conn, CATALOG)
            discounts.save_reason(conn, "STAFF", "Staff discount")
            cashiers.save(conn, "ANA", "Ana", pin="2468", discount_limit_bp=500)
            cashiers.save(conn, "MAY", "May", pin="8642", manager=True)
        shop.settle()
        term = shop.tills["T01"]
        with read_tx(term.engine) as conn:
            assert conn.execute(sa.select(discount_reason.c.code)).scalars().all() == ["STAFF"]
            limits = conn.execute(
                sa.select(cashier.c.cashier_id, cashier.c.discount_limit_bp, cashier.c.manager)
                .where(cashier.c.cashier_id.in_(["ANA", "MAY"]))
                .order_by(cashier.c.cashier_id)
            ).all()
        assert [tuple(r) for r in limits] == [("ANA", 500, False), ("MAY", None, True)]
        till = term.till()
        with write_tx(term.engine) as conn:
            basket.install(conn)
            basket.add(conn, "ANA", SKUS[0], 2)
            basket.add(conn, "ANA", SKUS[1], 1)
            discount_rules.give(conn, till, "ANA", 1, "50%", "STAFF", approved_by="MAY")
            till_events.void_line(conn, till, "ANA", 2, "Scanned by mistake")
            seen = basket.view(conn, "ANA")
            record_sale(conn, till, seen.sale_lines(), [PaymentRequest("CASH")], cashier_id="ANA")
        shop.settle()
        with read_tx(shop.store) as conn:
            line = conn.execute(sa.select(receipt_line)).one()
            events = conn.execute(sa.select(till_event.c.kind, till_event.c.approved_by)).all()
        assert (line.discount, line.discount_reason) == (seen.lines[0].discount, "STAFF")
        assert line.line_total == line.qty * line.unit_price - line.discount
        assert sorted(tuple(e) for e in events) == [
            ("discount_approved", "MAY"),
            ("line_voided", None),
        ]
    finally:
        shop.close()


def test_the_guard_refuses_a_till_event_not_the_senders_or_without_a_reason() -> None:
    shop = Shop()
    try:
        good = {
            "event_id": "e1",
            "store_id": "S01",
            "terminal_id": "T01",
            "cashier_id": None,
            "kind": "line_voided",
            "reason": "Scanned by mistake",
            "detail": "{}",
            "approved_by": None,
            "created_at": "2026-12-01T10:00:00.000Z",
        }
        rows = [
            good,
            {**good, "event_id": "e2", "terminal_id": "T02"},
            {**good, "event_id": "e3", "reason": "  "},
            {**good, "event_id": "e4", "kind": "price_override"},
        ]
        changes = [Change(i, "till_event", "I", row) for i, row in enumerate(rows, start=1)]
        keys = integrity.documents(changes)
        assert keys == ["till_event:e1", "till_event:e2", "till_event:e3", "till_event:e4"]
        with write_tx(shop.store) as conn:
            refused = integrity.guard(conn, "T01", changes, keys)
        assert {k: r.message for k, r in refused.items()} == {
            "till_event:e2": "till event 'e2' names another store or terminal",
            "till_event:e3": "till event 'e3' has no reason",
            "till_event:e4": "till event 'e4': unknown kind 'price_override'",
        }
    finally:
        shop.close()


def test_head_office_sets_a_cashiers_limit_and_sees_the_tills_events(tmp_path: Path) -> None:
    """Three tiers: head office's reason and limit reach a till of S01; a void there
    reaches head office, relayed by the store."""
    shops = Chain(tmp_path / "chain")
    try:
        with write_tx(shops.ho) as conn:
            discounts.save_reason(conn, "STAFF", "Staff discount")
        chain.save_cashier(shops.ho, "ANA", "Ana", "4821", "S01", discount_limit_bp=1000)
        shops.settle()
        term = shops.tills[("S01", "T01")]
        with read_tx(term.engine) as conn:
            row = conn.execute(sa.select(cashier).where(cashier.c.cashier_id == "ANA")).one()
            assert discounts.reasons(conn)[0]["code"] == "STAFF"
        assert (row.discount_limit_bp, row.manager) == (1000, False)
        with write_tx(term.engine) as conn:
            basket.install(conn)
            basket.add(conn, "ANA", "SKU1", 1)
            till_events.cancel_sale(conn, term.till(), "ANA", "Customer cannot pay")
        shops.settle()
        with read_tx(shops.ho) as conn:
            found = conn.execute(sa.select(till_event.c.store_id, till_event.c.reason)).all()
        assert [tuple(f) for f in found] == [("S01", "Customer cannot pay")]
    finally:
        shops.close()

"""Cash-up on a till database (no network): a drawer session with a float, paid in
and out, an X report that stores nothing, and a Z report that counts the drawer,
is numbered from the till's Z series, takes its place in the fiscal chain and
prints the head it follows; refusals change nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from possync.retail import cashup, cashup_integrity, fiscal_chain, sales
from possync.retail.errors import RetailError
from possync.retail.money import included_tax
from possync.retail.sales import LineRequest, PaymentRequest, Till
from possync.retail.schema import cash_movement, drawer_session, z_report
from possync.sync.db import read_tx, write_tx

Db = tuple[sa.Engine, Till]


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _refused(engine: sa.Engine, message: str, action: object) -> None:
    before = [_count(engine, t) for t in (drawer_session, cash_movement, z_report)]
    with pytest.raises(RetailError, match=message), write_tx(engine) as conn:
        action(conn)  # type: ignore[operator]
    assert [_count(engine, t) for t in (drawer_session, cash_movement, z_report)] == before


def test_a_day_at_the_drawer_ends_in_a_chained_z_report(till_db: Db) -> None:
    engine, till = till_db
    with write_tx(engine) as conn:
        cashup.open_session(conn, till, 10000, "C1")
        sale = sales.record_sale(
            conn, till, [LineRequest("A", 5)], [PaymentRequest("CASH", 1000)]
        )  # 6.00 due, 10.00 given: 4.00 change, 6.00 kept
        sales.record_sale(conn, till, [LineRequest("B", 1)], [PaymentRequest("CARD", None, "A1")])
        sales.record_return(conn, till, sale.receipt_no, [LineRequest("A", 1)])  # 1.20 back
        cashup.move_cash(conn, till, "in", 2000, "change from the bank", "C1")
        cashup.move_cash(conn, till, "out", 550, "window cleaner", "C1")
    with read_tx(engine) as conn:
        x = cashup.x_report(conn, till).totals
    assert (x.sales_count, x.sales_total, x.returns_count, x.returns_total) == (2, 840, 1, -120)
    assert (x.cash_taken, x.cash_refunded, x.paid_in, x.paid_out) == (600, 120, 2000, 550)
    assert x.expected_cash == 10000 + 600 - 120 + 2000 - 550 == 11930
    assert [(p["method_code"], p["taken"], p["refunded"]) for p in x.payments] == [
        ("CARD", 240, 0),
        ("CASH", 600, 120),
    ]
    assert {t["tax_code"]: t["gross"] for t in x.tax} == {"RED": 480, "STD": 240}
    assert all(t["tax"] == included_tax(t["gross"], t["rate_bp"]) for t in x.tax)
    assert _count(engine, z_report) == 0  # an X report stores nothing

    with read_tx(engine) as conn:
        head_before = fiscal_chain.head_of(conn, "T01")
    assert head_before is not None and head_before[0] == 3  # two sales and a return
    with write_tx(engine) as conn:
        # 11930 expected; counted 100 + 10 + 5 + 2 + 0.20 + 0.10 = 117.30: 2.00 short
        z = cashup.close_session(conn, till, {10000: 1, 1000: 1, 500: 1, 200: 1, 20: 1, 10: 1})
    assert (z["z_no"], z["expected_cash"], z["counted_cash"], z["over_short"]) == (
        "S01-T01-Z000001",
        11930,
        11730,
        -200,
    )
    assert (z["chain_seq"], z["chain_previous"]) == (4, head_before[1])
    with write_tx(engine) as conn:
        assert cashup.current(conn, "T01") is None
        status = fiscal_chain.verify(conn, "S01", "T01")  # the store's check, here
        stored = cashup.z_of(conn, "S01-T01-Z000001")
        after = cashup.x_report(conn, till).totals
    assert (status.state, status.head_seq, status.head_hash) == ("ok", 4, z["chain_hash"])
    assert stored is not None and stored["figures"]["counted"] == {
        "10": 1, "20": 1, "200": 1, "500": 1, "1000": 1, "10000": 1
    }  # fmt: skip
    assert stored["figures"]["expected_cash"] == 11930
    # The next report starts after this one: nothing yet, no session, no float.
    assert (after.after_seq, after.sales_count, after.expected_cash) == (4, 0, 0)


def test_a_sale_with_no_drawer_open_counts_in_the_next_z_report(till_db: Db) -> None:
    engine, till = till_db
    with write_tx(engine) as conn:
        sales.record_sale(conn, till, [LineRequest("B", 1)], [PaymentRequest("CASH")])
        cashup.open_session(conn, till, 0)
        z = cashup.close_session(conn, till, {200: 1, 20: 2})
    assert (z["expected_cash"], z["counted_cash"], z["over_short"]) == (240, 240, 0)


def test_refusals_change_nothing(till_db: Db) -> None:
    engine, till = till_db
    _refused(engine, "no drawer session is open", lambda c: cashup.move_cash(c, till, "in", 1, "x"))
    _refused(engine, "no drawer session is open", lambda c: cashup.close_session(c, till, {}))
    _refused(engine, "the float is an amount", lambda c: cashup.open_session(c, till, -1))
    with write_tx(engine) as conn:
        cashup.open_session(conn, till, 1000)
    _refused(engine, "already open", lambda c: cashup.open_session(c, till, 0))
    _refused(engine, "more than zero", lambda c: cashup.move_cash(c, till, "in", 0, "x"))
    _refused(engine, "give a reason", lambda c: cashup.move_cash(c, till, "out", 5, "  "))
    _refused(engine, "give a reason", lambda c: cashup.move_cash(c, till, "in", 5, "x" * 201))
    _refused(engine, "paid in", lambda c: cashup.move_cash(c, till, "sideways", 5, "x"))
    _refused(engine, "does not hold", lambda c: cashup.move_cash(c, till, "out", 1001, "x"))
    _refused(engine, "no note or coin of 300", lambda c: cashup.close_session(c, till, {300: 1}))
    _refused(engine, "count 0 to", lambda c: cashup.close_session(c, till, {100: -1}))
    with read_tx(engine) as conn:
        assert cashup.current(conn, "T01") is not None  # still open


def test_the_store_rules_for_cash_up_rows(till_db: Db) -> None:
    """What the store's guard refuses of a till's cash-up rows (cashup_integrity),
    on rows a till really wrote, each altered in one way."""
    engine, till = till_db
    with write_tx(engine) as conn:
        cashup.open_session(conn, till, 1000)
        moved = cashup.move_cash(conn, till, "in", 500, "change")
        z = cashup.close_session(conn, till, {1000: 1, 500: 1})

    def numbered(number: object, kind: str) -> bool:
        return kind == "z_report" and str(number).startswith("S01-T01-Z")

    def problem(table: str, row: dict[str, object]) -> str | None:
        return cashup_integrity.problem(table, row, "S01", "EUR", numbered)

    assert z["over_short"] == 0
    assert problem("z_report", z) is None and problem("cash_movement", moved) is None
    refusals = {
        "is not counted less expected": ("z_report", {**z, "over_short": 1}),
        "not a number of the till's Z report": ("z_report", {**z, "z_no": "S01-T02-Z000001"}),
        "is in 'USD', not EUR": ("z_report", {**z, "currency": "USD"}),
        "names store 'S02'": ("z_report", {**z, "store_id": "S02"}),
        "counted_cash is -1": ("z_report", {**z, "counted_cash": -1}),
        "a business day of": ("z_report", {**z, "business_day": "yesterday"}),
        "not a JSON object": ("z_report", {**z, "totals": "[1]"}),
        "not a SHA-256": ("z_report", {**z, "chain_previous": "x"}),
        "needs a reason": ("cash_movement", {**moved, "reason": ""}),
        "neither in nor out": ("cash_movement", {**moved, "kind": "both"}),
        "amount is 0": ("cash_movement", {**moved, "amount": 0}),
        "float is -5": ("drawer_session", {"store_id": "S01", "opening_float": -5}),
    }  # fmt: skip
    for expected, (table, row) in refusals.items():
        found = problem(table, row)
        assert found is not None and expected in found, (expected, found)

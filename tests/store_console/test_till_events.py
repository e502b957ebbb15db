"""The console's discount reasons, a cashier's discount limit and manager flag, and
the Till events page (Transactions), in process on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import till_events
from possync.retail.sales import Till
from possync.retail.schema import cashier, discount_reason
from possync.sync.db import read_tx, write_tx
from tests.store_console.conftest import field_errors


def test_discount_reasons_and_a_cashiers_limit(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    added = client.post(
        "/console/discount-reasons/new",
        data={"csrf_token": csrf, "code": "STAFF", "name": "Staff discount", "active": "1"},
    )
    assert added.status_code == 200 and "Discount reason Staff discount saved" in added.text
    again = client.post(
        "/console/discount-reasons/new",
        data={"csrf_token": csrf, "code": "STAFF", "name": "Other", "active": "1"},
    )
    assert field_errors(again.text) == ["reason STAFF already exists"]
    bad = client.post("/console/discount-reasons/new", data={"csrf_token": csrf, "code": "A B"})
    assert again.status_code == bad.status_code == 422
    assert sorted(field_errors(bad.text)) == [
        "a reason code is 1 to 16 letters, digits, - or _",
        "a reason&#39;s name is 1 to 100 characters",  # escaped in the page
    ]
    client.post(
        "/console/discount-reasons/STAFF",
        data={"csrf_token": csrf, "name": "Staff discount"},  # unticked: withdrawn
    )
    made = client.post(
        "/console/cashiers/new",
        data={
            "csrf_token": csrf,
            "cashier_id": "C01",
            "name": "Ana",
            "pin": "2468",
            "active": "1",
            "discount_limit": "12.5",
            "manager": "1",
        },
    )
    assert made.status_code == 200
    form = client.get("/console/cashiers/C01").text
    assert 'value="12.5"' in form
    too_much = client.post(
        "/console/cashiers/C01",
        data={"csrf_token": csrf, "name": "Ana", "active": "1", "discount_limit": "120"},
    )
    assert field_errors(too_much.text) == ["a percentage from 0 to 100, at most 2 decimals"]
    with read_tx(store) as conn:
        assert conn.execute(sa.select(discount_reason.c.active)).scalars().all() == [False]
        row = conn.execute(sa.select(cashier).where(cashier.c.cashier_id == "C01")).one()
    assert (row.discount_limit_bp, row.manager) == (1250, True)


def test_the_till_events_page_lists_and_filters(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, _ = signed_in
    with write_tx(store) as conn:  # as they arrive from the tills
        for terminal, kind, reason, detail in [
            ("T01", "line_voided", "Scanned by mistake",
             {"qty": 2, "name": "Soap", "line_total": 398}),
            ("T02", "sale_cancelled", "Customer cannot pay", {"total": 1234, "lines": [{}, {}]}),
            ("T01", "discount_approved", "STAFF", {"sku": "SKU1", "off": 100, "base": 201}),
        ]:  # fmt: skip
            till_events.record(
                conn, Till("S01", terminal, "EUR"), "ADA", kind, reason, detail,
                approved_by="MAY" if kind == "discount_approved" else None,
            )  # fmt: skip
    page = client.get("/console/till-events").text
    assert "Till events" in page and page.count("<tr data-kind=") == 3
    assert "2 \u00d7 Soap (3.98)" in page and "2 line(s), 12.34" in page
    assert "SKU1: 1.00 off 2.01" in page and ">MAY<" in page
    only = client.get("/console/till-events", params={"terminal": "T01", "kind": "line_voided"})
    assert only.text.count("<tr data-kind=") == 1 and "Scanned by mistake" in only.text
    assert "No till events." in client.get("/console/till-events?terminal=T09").text

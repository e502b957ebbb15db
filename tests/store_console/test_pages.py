"""Console pages in-process: searching and paging a large catalog, CSV import with
line errors, master-data forms with errors beside their fields, receipts search."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import cashiers, catalog, store_admin
from possync.retail.schema import cashier, customer, doc_series, item, payment_method, tax_rate
from possync.sync.db import read_tx, write_tx
from tests.e2e.helpers import catalog_csv
from tests.store_console.conftest import field_errors


def skus_on(html: str) -> list[str]:
    return re.findall(r'<tr data-sku="([^"]+)"', html)


def test_items_search_and_page_through_fifty_thousand(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, _ = signed_in
    with write_tx(store) as conn:
        catalog.import_csv(conn, catalog_csv(50_000))
    first = client.get("/console/items")
    assert "50000 found · page 1 of 1000" in first.text
    second = client.get("/console/items", params={"page": 2})
    assert len(skus_on(first.text)) == len(skus_on(second.text)) == 50
    assert max(skus_on(first.text)) < min(skus_on(second.text))  # ordered, no overlap
    by_name = client.get("/console/items", params={"q": "item 4999"})
    assert "11 found" in by_name.text  # Item 4999 and Item 49990..49999
    by_barcode = client.get("/console/items", params={"q": "5000000012345"})
    assert skus_on(by_barcode.text) == ["SKU12345"]
    # htmx asks for the results only, as the admin types.
    fragment = client.get("/console/items", params={"q": "SKU4999"}, headers={"HX-Request": "1"})
    assert "<html" not in fragment.text and "SKU49990" in fragment.text
    wildcard = client.get("/console/items", params={"q": "%"})
    assert "0 found" in wildcard.text  # LIKE wildcards are searched for literally


def test_a_bad_csv_is_refused_line_by_line_and_imports_nothing(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    bad = "sku,barcode,name,price,tax_code\nNEW1,,Fine,1.00,STD\nNEW2,,Bad,1.234,STD\nNEW3,,,2,XX\n"
    answer = client.post(
        "/console/items-import",
        data={"csrf_token": csrf},
        files={"file": ("items.csv", bad.encode(), "text/csv")},
    )
    assert answer.status_code == 422
    assert "line 3: price:" in answer.text and "line 4: name must be" in answer.text
    with read_tx(store) as conn:
        assert conn.execute(sa.select(item).where(item.c.sku.like("NEW%"))).first() is None
    good = client.post(
        "/console/items-import",
        data={"csrf_token": csrf},
        files={"file": ("items.csv", b"sku,barcode,name,price,tax_code\nNEW1,,Fine,1.00,STD\n")},
    )
    assert "Imported 1 items" in good.text


def test_master_data_forms_show_errors_beside_fields_and_save(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    refused = client.post(
        "/console/tax-rates/new",
        data={"csrf_token": csrf, "tax_code": "SUPER", "name": "", "rate": "120"},
    )
    assert refused.status_code == 422
    assert field_errors(refused.text) == [
        "required",
        "a percentage from 0 to 100, at most 2 decimals",
    ]
    client.post(
        "/console/tax-rates/new",
        data={"csrf_token": csrf, "tax_code": "SUPER", "name": "Super reduced", "rate": "2.1"},
    )
    client.post(
        "/console/payment-methods/new",
        data={
            "csrf_token": csrf,
            "method_code": "VOUCHER",
            "name": "Gift voucher",
            "kind": "other",
            "active": "1",
        },
    )
    client.post(
        "/console/cashiers/new",
        data={"csrf_token": csrf, "cashier_id": "C01", "name": "Ana", "pin": "2468", "active": "1"},
    )
    kept_pin = client.post(
        "/console/cashiers/C01",
        data={"csrf_token": csrf, "name": "Ana S.", "pin": "", "active": "1"},
    )
    assert kept_pin.status_code == 200
    client.post(
        "/console/customers/new",
        data={"csrf_token": csrf, "name": "Bea Shop", "email": "bea@example.org", "phone": ""},
    )
    bad_mail = client.post(
        "/console/customers/new", data={"csrf_token": csrf, "name": "X", "email": "nope"}
    )
    assert field_errors(bad_mail.text) == ["not an e-mail address"]
    with read_tx(store) as conn:
        assert (
            conn.execute(
                sa.select(tax_rate.c.rate_bp).where(tax_rate.c.tax_code == "SUPER")
            ).scalar()
            == 210
        )
        assert (
            conn.execute(
                sa.select(payment_method.c.kind).where(payment_method.c.method_code == "VOUCHER")
            ).scalar()
            == "other"
        )
        assert cashiers.verify(conn, "C01", "2468")["name"] == "Ana S."
        assert conn.execute(sa.select(cashier.c.pin_hash)).scalar().startswith("$argon2id$")
        assert conn.execute(sa.select(customer.c.customer_no)).scalars().all() == ["S01-SC000001"]


def test_custom_series_refusals_change_nothing(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    store_admin.add_terminal(store, "T01")
    store_admin.add_terminal(store, "T02")
    answer = client.post(
        "/console/terminals/T02/series",
        data={
            "csrf_token": csrf,
            "receipt_prefix": "NEW-",
            "return_prefix": "S01-T01-",
            "customer_padding": "40",
        },
    )
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert any("could issue the same numbers" in e for e in errors)
    assert any("padding must be 1 to 12" in e for e in errors)
    # ...each beside the field it is about
    assert 'id="e-return_prefix"' in answer.text and 'id="e-customer_padding"' in answer.text
    page = client.get("/console/terminals/T02").text
    assert "NEW-" not in page  # the receipt series, valid on its own, was not saved either


def test_the_z_report_series_is_changed_like_the_others(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    store_admin.add_terminal(store, "T01")
    page = client.get("/console/terminals/T01").text
    assert "Z reports" in page and 'value="S01-T01-Z' in page
    answer = client.post(
        "/console/terminals/T01/series",
        data={"csrf_token": csrf, "z_report_prefix": "LYON-Z-", "z_report_next": "40"},
    )
    assert answer.status_code == 200, field_errors(answer.text)
    with read_tx(store) as conn:
        zed = conn.execute(
            sa.select(doc_series).where(
                doc_series.c.terminal_id == "T01", doc_series.c.kind == "z_report"
            )
        ).one()
    assert (zed.prefix, zed.start_no) == ("LYON-Z-", 40)


def test_suspended_terminals_are_told_when_to_come_back(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    code = store_admin.add_terminal(store, "T01").registration_code
    secret = client.post("/api/v1/register", json={"node": "T01", "code": code}).json()["secret"]
    client.post("/console/dashboard/T01/suspend", data={"csrf_token": csrf, "minutes": "10"})
    pulled = client.get("/api/v1/sync/pull", params={"after": 0}, auth=("T01", secret))
    assert pulled.status_code == 503
    assert pulled.json()["error"]["code"] == "sync_suspended"
    assert 590 <= int(pulled.headers["Retry-After"]) <= 600
    dashboard = client.get("/console/dashboard/rows").text
    assert "suspended until" in dashboard and "sync_suspended" in dashboard
    client.post("/console/dashboard/T01/resume", data={"csrf_token": csrf})
    assert client.get("/api/v1/sync/pull", params={"after": 0}, auth=("T01", secret)).is_success
    refused = client.post(
        "/console/dashboard/T01/suspend", data={"csrf_token": csrf, "minutes": "0"}
    )
    assert "Not suspended: suspend for 1 to 10080 minutes" in refused.text

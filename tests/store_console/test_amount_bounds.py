"""Amounts out of bounds in the console (issue 11): a price in exponent form or
beyond the maximum is refused beside its field, and nothing changes."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail.schema import item
from possync.sync.db import read_tx
from tests.store_console.conftest import field_errors


def _price(store: sa.Engine, sku: str) -> int | None:
    with read_tx(store) as conn:
        return conn.execute(sa.select(item.c.price).where(item.c.sku == sku)).scalar()


def test_a_price_in_exponent_form_is_refused_beside_its_field(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    before = _price(store, "SKU1")
    form = {"csrf_token": csrf, "name": "Item 1", "barcode": "", "tax_code": "STD", "active": "1"}
    for price, message in [
        ("1e5000", "not an amount: &#39;1e5000&#39;"),
        ("1000000000.01", "more than the largest amount allowed, 1000000000.00"),
        ("-1", "must not be negative"),
    ]:
        refused = client.post("/console/items/SKU1", data={**form, "price": price})
        assert refused.status_code == 422, price
        [error] = field_errors(refused.text)
        assert message in error
        assert 'id="e-price"' in refused.text  # beside the price field
        created = client.post("/console/items/new", data={**form, "sku": "BIG", "price": price})
        assert created.status_code == 422
    assert _price(store, "SKU1") == before
    assert _price(store, "BIG") is None


def test_a_csv_with_an_absurd_price_imports_nothing(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    bad = "sku,barcode,name,price,tax_code\nNEW1,,Fine,1.00,STD\nNEW2,,Bad,1e5000,STD\n"
    answer = client.post(
        "/console/items-import",
        data={"csrf_token": csrf},
        files={"file": ("items.csv", bad.encode(), "text/csv")},
    )
    assert answer.status_code == 422
    assert "line 3: price: not an amount: &#39;1e5000&#39;" in answer.text
    assert _price(store, "NEW1") is None


def test_a_stock_quantity_in_other_digits_is_a_field_error(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    for qty in ("\u00b2", "--5", "1e3"):
        refused = client.post(
            "/console/stock",
            data={"csrf_token": csrf, "sku": "SKU1", "qty": qty, "reason": "adjustment"},
        )
        assert refused.status_code == 422, qty
        assert field_errors(refused.text) == ["a whole number"]
    received = client.post(
        "/console/stock",
        data={"csrf_token": csrf, "sku": "SKU1", "qty": "+10", "reason": "goods_receipt"},
    )
    assert received.status_code == 200 and "SKU1: +10 recorded." in received.text

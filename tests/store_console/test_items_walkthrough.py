"""The console's items, as the walk-through used them (issue 14): a spreadsheet's
Latin-1 export with semicolons imported and reported change by change, a barcode
another item has refused beside its field, a search without accents."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail.schema import item
from possync.sync.db import read_tx
from tests.store_console.conftest import field_errors


def _upload(client: TestClient, csrf: str, data: bytes) -> str:
    answer = client.post(
        "/console/items-import",
        data={"csrf_token": csrf},
        files={"file": ("items.csv", data, "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    return " ".join(re.sub(r"<[^>]+>", " ", answer.text).split())


def test_import_report_barcodes_and_search(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    form = {"csrf_token": csrf, "name": "Item 1", "barcode": "5000000000001", "tax_code": "STD"}
    form["active"] = "1"
    assert client.post("/console/items/SKU1", data={**form, "price": "2.50"}).status_code == 200

    # A French spreadsheet's export: Windows-1252, semicolons, decimal commas. It puts
    # SKU1 back to 2.01, which the report says rather than "nothing else changed".
    export = "sku;barcode;name;price;tax_code\r\nSKU1;5000000000001;Item 1;2,01;STD\r\n"
    export += "NEW1;;Crème brûlée;3,50;RED\r\n"
    said = _upload(client, csrf, export.encode("cp1252"))
    assert (
        "Imported 2 items (read as Windows-1252 (Latin-1), separated by semicolons): "
        "1 added, 1 changed, 0 unchanged; 59 items not in the file left as they were" in said
    )
    assert "changed SKU1 (Item 1): price 2.50 -&gt; 2.01" in said and "added NEW1" in said
    with read_tx(store) as conn:
        rows = conn.execute(sa.select(item.c.sku, item.c.name, item.c.price).order_by(item.c.sku))
        assert {r.sku: (r.name, r.price) for r in rows if r.sku in ("SKU1", "NEW1")} == {
            "NEW1": ("Crème brûlée", 350),
            "SKU1": ("Item 1", 201),
        }
    again = _upload(client, csrf, export.encode("cp1252"))
    assert "0 added, 0 changed, 2 unchanged" in again and "Nothing changed" in again

    # SKU2's barcode for a new item: refused beside the field, naming SKU2
    taken = client.post(
        "/console/items/new",
        data={**form, "sku": "NEW2", "name": "Copy", "barcode": "5000000000002", "price": "1"},
    )
    assert taken.status_code == 422
    assert field_errors(taken.text) == ["barcode 5000000000002 is already item SKU2&#39;s (Item 2)"]
    assert 'id="e-barcode"' in taken.text
    refused = _refused_import(
        client, csrf, b"sku,barcode,name,price,tax_code\nNEW3,5000000000003,X,1,STD\n"
    )
    assert "line 2: barcode 5000000000003 is already item SKU3&#39;s (Item 3)" in refused

    # "creme" finds "Crème brûlée", as does "CRÈME"
    for text in ("creme", "CRÈME", "brulee"):
        found = client.get("/console/items", params={"q": text})
        assert re.findall(r'<tr data-sku="([^"]+)"', found.text) == ["NEW1"], text


def _refused_import(client: TestClient, csrf: str, data: bytes) -> str:
    answer = client.post(
        "/console/items-import",
        data={"csrf_token": csrf},
        files={"file": ("items.csv", data, "text/csv")},
    )
    assert answer.status_code == 422
    return answer.text

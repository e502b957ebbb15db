"""The payment typed the store's way (in process): a decimal comma where the store's
locale has one, the currency written once, a refusal that shows how to write it."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient

from tests.terminal_web.screen import post, signed_in
from tests.terminal_web.test_receipt import receipt_row, run_sql


def test_a_cashier_in_paris_types_a_decimal_comma(client: TestClient, terminal_dir: Path) -> None:
    run_sql(terminal_dir, "UPDATE store SET locale = 'fr_FR', time_zone = 'Europe/Paris'")
    token = signed_in(client)
    sale = post(client, token, "/basket/scan", code="SKU1")
    shown = html.unescape(sale.text)
    assert "Total EUR" not in shown  # the amount carries the symbol: "Total 12,50 €"
    assert "€" in shown

    refused = post(client, token, "/basket/pay", amount_CASH="12,5,0")
    assert refused.status_code == 422
    assert "like 12,50" in html.unescape(refused.text)

    paid = post(client, token, "/basket/pay", amount_CASH="1000,00")
    assert paid.status_code == 204, paid.text
    number = paid.headers["hx-redirect"].removeprefix("/receipts/")
    receipt = client.get(f"/receipts/{number}").text
    assert "1000,00" in html.unescape(receipt).replace("\u202f", "").replace(" ", "")
    assert receipt_row(terminal_dir, number)["total"] > 0

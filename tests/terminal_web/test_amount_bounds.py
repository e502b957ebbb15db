"""Amounts and quantities out of bounds on the till and on ``pos sell`` (issue 11):
refused with a message, nothing recorded, the basket untouched."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from possync.retail.schema import receipt, receipt_payment
from tests.e2e.helpers import cli
from tests.terminal_web.screen import basket_skus, post, signed_in
from tests.terminal_web.test_selling import alerts, rows

B1 = "5000000000001"  # SKU1, 2.01


def test_the_pay_screen_refuses_an_amount_in_exponent_form(
    client: TestClient, terminal_dir: Path
) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    for absurd in ("1e5000", "1e999990", "1000000000.01", "-5"):
        started = time.perf_counter()
        refused = post(client, token, "/basket/pay", amount_CASH=absurd)
        assert time.perf_counter() - started < 1  # it froze the till for 30 s
        assert refused.status_code == 422, absurd
        assert "the sale is not done: see the payment" in alerts(refused.text)
        assert basket_skus(refused.text) == [("SKU1", 1)]
    assert (
        "not an amount: &#39;1e5000&#39;"
        in post(client, token, "/basket/pay", amount_CASH="1e5000").text
    )
    assert rows(terminal_dir, receipt) == [] and rows(terminal_dir, receipt_payment) == []
    assert basket_skus(client.get("/").text) == [("SKU1", 1)]
    # the largest amount allowed is still a payment (the change comes back in cash)
    paid = post(client, token, "/basket/pay", amount_CASH="1000000000.00")
    assert paid.status_code == 204
    [sale] = rows(terminal_dir, receipt)
    assert sale["total"] == 201
    assert client.get(paid.headers["hx-redirect"]).status_code == 200


def test_quantities_are_bounded_and_only_plain_digits(
    client: TestClient, terminal_dir: Path
) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    for scan in ("10000*SKU2", "\u00b2*SKU2", "9" * 90 + "*SKU2", "1e3*SKU2"):
        refused = post(client, token, "/basket/scan", code=scan)
        assert refused.status_code == 422, scan
        assert basket_skus(refused.text) == [("SKU1", 1)]
    for qty in ("\u00b2", "10000", "9" * 5000, "-1", "1.5"):
        refused = post(client, token, "/basket/lines/1", qty=qty)
        assert refused.status_code == 422, qty
        assert basket_skus(refused.text) == [("SKU1", 1)]
    assert basket_skus(post(client, token, "/basket/lines/1", qty="9999").text) == [("SKU1", 9999)]


def test_pos_sell_refuses_an_absurd_payment_and_records_nothing(terminal_dir: Path) -> None:
    data = str(terminal_dir)
    refused = cli("pos", "sell", "--data", data, "SKU1", "--pay", "cash:1e5000", expect=1)
    assert "not an amount: '1e5000'" in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr
    too_many = cli("pos", "sell", "--data", data, "SKU1:100000", "--pay", "cash", expect=1)
    assert "a quantity is 1 to 9999" in too_many.stderr + too_many.stdout
    assert "Traceback" not in too_many.stderr
    assert rows(terminal_dir, receipt) == []
    sold = cli("pos", "sell", "--data", data, "SKU1:2", "--pay", "cash:5")
    assert "change 0.98" in sold.stdout
    assert len(rows(terminal_dir, receipt)) == 1

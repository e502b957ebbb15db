"""The sell screen over HTTP: scanning, errors that keep the basket, quantities,
search, payment (split, insufficient), the receipt, customers and returns."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail.schema import customer, receipt, receipt_line, receipt_payment, stock_level
from possync.sync.db import open_engine, read_tx
from possync.terminal import modes
from possync.terminal.local import Terminal
from possync.terminal.web.app import create_app
from tests.terminal_web.screen import HTMX, basket_skus, post, signed_in

B1, B2, B3 = "5000000000001", "5000000000002", "5000000000003"  # SKU1..3: 2.01, 3.02, 4.03


def alerts(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip() for m in re.findall(r'role="alert"[^>]*>(.*?)</', html, re.S)
    ]


def rows(data: Path, table: sa.Table) -> list[dict[str, object]]:
    engine = open_engine(f"sqlite:///{data / 'terminal.db'}")
    try:
        with read_tx(engine) as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(table))]
    finally:
        engine.dispose()


def test_errors_never_lose_the_basket(client: TestClient, terminal_dir: Path) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    post(client, token, "/basket/scan", code=B1)  # the same item again: one line, qty 2
    ok = post(client, token, "/basket/scan", code="3*SKU2")
    assert ok.status_code == 200 and basket_skus(ok.text) == [("SKU1", 2), ("SKU2", 3)]

    unknown = post(client, token, "/basket/scan", code="4006381333931")
    assert unknown.status_code == 422
    assert alerts(unknown.text) == ["unknown item &#39;4006381333931&#39;"]
    assert basket_skus(unknown.text) == [("SKU1", 2), ("SKU2", 3)]

    withdrawn = post(client, token, "/basket/scan", code="SKU50")
    assert withdrawn.status_code == 422
    assert alerts(withdrawn.text) == ["Item 50 (SKU50) is not sellable"]
    assert post(client, token, "/basket/scan", code="0*SKU1").status_code == 422

    # a reload, and another session of the same cashier, find the basket as it was
    assert basket_skus(client.get("/").text) == [("SKU1", 2), ("SKU2", 3)]
    with TestClient(create_app(terminal_dir)) as again:
        signed_in(again)
        assert basket_skus(again.get("/").text) == [("SKU1", 2), ("SKU2", 3)]
    with TestClient(client.app) as bob:  # another cashier has a basket of their own
        signed_in(bob, "BOB")
        assert basket_skus(bob.get("/").text) == []


def test_quantities_change_and_lines_go(client: TestClient) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    post(client, token, "/basket/scan", code=B2)
    assert basket_skus(post(client, token, "/basket/lines/1", delta="1").text)[0] == ("SKU1", 2)
    assert basket_skus(post(client, token, "/basket/lines/1", qty="5").text)[0] == ("SKU1", 5)
    bad = post(client, token, "/basket/lines/1", qty="lots")
    assert bad.status_code == 422 and basket_skus(bad.text)[0] == ("SKU1", 5)
    assert post(client, token, "/basket/lines/1", qty="10000").status_code == 422
    after = post(client, token, "/basket/lines/2/remove", reason="Scanned by mistake")
    assert basket_skus(after.text) == [("SKU1", 5)]
    assert re.search(r'id="total">10.05<', after.text)  # 5 x 2.01
    assert re.search(r'id="tax-total">1.68<', after.text)  # 20 % included
    kept = post(client, token, "/basket/lines/1", delta="-5")  # never to zero: a void has a reason
    assert kept.status_code == 422 and basket_skus(kept.text) == [("SKU1", 5)]


def test_search_by_name_prefix_contains_and_code(client: TestClient) -> None:
    signed_in(client)

    def names(q: str) -> list[str]:
        answer = client.get("/items/search", params={"q": q}, headers=HTMX)
        assert answer.status_code == 200
        return re.findall(r'data-sku="([^"]+)"', answer.text)

    assert names("item 4") == [
        "SKU4",
        "SKU40",
        "SKU41",
        "SKU42",
        "SKU43",
        "SKU44",
        "SKU45",
        "SKU46",
        "SKU47",
        "SKU48",
        "SKU49",
    ]  # SKU50 is not sellable
    assert names("m 1")[:3] == ["SKU1", "SKU10", "SKU11"]  # contained, not a prefix
    assert names("5000000000007") == ["SKU7"]
    assert names("nothing like it") == []


def test_a_split_payment_after_an_insufficient_one(client: TestClient, terminal_dir: Path) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    post(client, token, "/basket/scan", code=B3)  # total 6.04

    short = post(client, token, "/basket/pay", amount_CASH="1.00")
    assert short.status_code == 422
    assert "insufficient payment: 5.04 still due" in alerts(short.text)
    assert basket_skus(short.text) == [("SKU1", 1), ("SKU3", 1)]
    no_ref = post(client, token, "/basket/pay", amount_CARD="6.04")
    assert no_ref.status_code == 422 and "enter the card reference" in alerts(no_ref.text)
    over = post(client, token, "/basket/pay", amount_CARD="7.00", ref_CARD="X1")
    assert "only cash can be overpaid; card payments must be exact" in alerts(over.text)
    typo = post(client, token, "/basket/pay", amount_CASH="1.234")
    assert "&#39;1.234&#39; has more than 2 decimals" in alerts(typo.text)
    assert rows(terminal_dir, receipt) == []  # nothing recorded so far

    paid = post(
        client, token, "/basket/pay", amount_CARD="4.00", ref_CARD="AUTH-77", amount_CASH="5"
    )
    assert paid.status_code == 204
    assert paid.headers["hx-redirect"] == "/receipts/S01-T01-000001"
    [sale] = rows(terminal_dir, receipt)
    assert (sale["receipt_no"], sale["total"], sale["cashier_id"]) == ("S01-T01-000001", 604, "ADA")
    payments = sorted(
        (p["method_code"], p["amount"], p["reference"]) for p in rows(terminal_dir, receipt_payment)
    )
    assert payments == [("CARD", 400, "AUTH-77"), ("CASH", 204, None)]  # cash net of change

    page = client.get("/receipts/S01-T01-000001")
    assert "Change due: 2.96" in page.text
    assert re.search(r"<dt>Cash</dt><dd>5.00</dd>", page.text)  # as tendered
    assert re.search(r"<dt>Card \(ref AUTH-77\)</dt><dd>4.00</dd>", page.text)
    assert basket_skus(client.get("/").text) == []  # the sale took the basket
    again = post(client, token, "/basket/pay", amount_CASH="5")  # a second click
    assert again.status_code == 422 and "the basket is empty" in alerts(again.text)
    assert len(rows(terminal_dir, receipt)) == 1


def test_a_customer_created_offline_is_attached_to_the_sale(
    client: TestClient, terminal_dir: Path
) -> None:
    token = signed_in(client)
    bad = client.post("/customers", data={"csrf_token": token, "name": " ", "email": "x"})
    assert bad.status_code == 422
    assert "a customer needs a name" in bad.text and "not an email address" in bad.text
    made = client.post(
        "/customers",
        data={"csrf_token": token, "name": "Grace Hopper", "phone": "+1 555 0100"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    [row] = rows(terminal_dir, customer)
    assert (row["customer_no"], row["origin_terminal_id"]) == ("S01-T01-C000001", "T01")
    sell = client.get("/")
    assert "Customer S01-T01-C000001 Grace Hopper created and attached" in sell.text
    assert 'id="sale-customer">Grace Hopper<' in sell.text

    found = client.get("/customers", params={"q": "grace"}, headers=HTMX)
    assert "S01-T01-C000001" in found.text
    post(client, token, "/basket/scan", code=B2)
    post(client, token, "/basket/pay", amount_CASH="3.02")
    [sale] = rows(terminal_dir, receipt)
    assert sale["customer_id"] == row["customer_id"]
    assert "Customer S01-T01-C000001 Grace Hopper" in client.get("/receipts/S01-T01-000001").text


def test_a_line_of_a_local_sale_is_taken_back(client: TestClient, terminal_dir: Path) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code="3*" + B1)
    post(client, token, "/basket/scan", code=B2)
    post(client, token, "/basket/pay", amount_CASH="20")

    missing = client.get("/returns", params={"receipt_no": "S01-T01-000099"}, headers=HTMX)
    assert missing.status_code == 422
    assert "not on this terminal, and the store cannot be reached" in missing.text
    found = client.get("/returns", params={"receipt_no": "S01-T01-000001"}, headers=HTMX)
    assert found.status_code == 200 and "found on this terminal" in found.text

    too_many = post(client, token, "/returns", receipt_no="S01-T01-000001", qty_1="4")
    assert too_many.status_code == 422 and "at most 3" in alerts(too_many.text)
    nothing = post(client, token, "/returns", receipt_no="S01-T01-000001")
    assert "enter how many of which item come back" in alerts(nothing.text)
    done = post(
        client, token, "/returns", receipt_no="S01-T01-000001", qty_1="2", refund_method="CASH"
    )
    assert done.status_code == 204 and done.headers["hx-redirect"] == "/receipts/S01-T01-R000001"
    page = client.get("/receipts/S01-T01-R000001")
    assert "Return of sale S01-T01-000001" in page.text and "-4.02" in page.text
    lines = [
        (r["sku"], r["qty"], r["original_line_no"])
        for r in rows(terminal_dir, receipt_line)
        if r["qty"] < 0
    ]
    assert lines == [("SKU1", -2, 1)]
    stock = {r["sku"]: r["on_hand"] for r in rows(terminal_dir, stock_level)}
    assert stock["SKU1"] == 1000 - 3 + 2
    left = client.get("/returns", params={"receipt_no": "S01-T01-000001"}, headers=HTMX)
    assert 'max="1"' in left.text  # one SKU1 can still come back


def test_an_online_sale_the_store_cannot_confirm_is_refused_and_the_basket_kept(
    client: TestClient, terminal_dir: Path
) -> None:
    Terminal.open(terminal_dir).put_state(modes.MODE, modes.ONLINE)  # store: nothing listens
    token = signed_in(client)
    assert ">Online mode<" in client.get("/").text
    post(client, token, "/basket/scan", code=B1)
    refused = post(client, token, "/basket/pay", amount_CASH="5")
    assert refused.status_code == 422
    why = " ".join(alerts(refused.text))
    assert "sale refused: the store cannot confirm sales now" in why
    assert basket_skus(refused.text) == [("SKU1", 1)]
    assert rows(terminal_dir, receipt) == []  # nothing recorded, no number used

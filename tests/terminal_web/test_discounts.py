"""The sell screen's discounts (with a manager's PIN above the cashier's limit),
voids and cancellations with a reason, park and resume, and the stock warning, in
process (FastAPI TestClient) on a till set up from a store by offline backup."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import cashiers, discounts
from possync.retail.schema import till_event
from possync.retail.stock import adjust
from possync.sync.db import open_engine, read_tx, write_tx
from possync.terminal.lockout import PinLockout
from tests.e2e.helpers import make_store
from tests.terminal_web.conftest import PINS, add_cashiers, provision_by_backup
from tests.terminal_web.screen import HTMX, basket_skus, post, sign_in, signed_in

MANAGER_PIN = "8642"
B1, B2 = "5000000000001", "5000000000002"  # SKU1 2.01, SKU2 3.02 (20 % tax)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """T01 of a store whose cashier ADA may give 10 %, BOB nothing, MAY is a manager."""
    tmp = tmp_path_factory.mktemp("pos-discounts")
    store = make_store(f"sqlite:///{tmp / 'store.db'}", items=5, stock=0)
    add_cashiers(store)
    with write_tx(store) as conn:
        cashiers.save(conn, "ADA", "Ada Lovelace", discount_limit_bp=1000)
        cashiers.save(conn, "MAY", "May Manager", pin=MANAGER_PIN, manager=True)
        discounts.save_reason(conn, "DAMAGED", "Damaged packaging")
        discounts.save_reason(conn, "STAFF", "Staff discount")
        adjust(conn, "S01", "SKU1", 2, "goods_receipt")
    provision_by_backup(store, "T01", tmp / "T01", "http://127.0.0.1:9", tmp)
    store.dispose()
    return tmp / "T01"


@pytest.fixture
def client(template: Path, tmp_path: Path) -> Iterator[TestClient]:
    from possync.terminal.web.app import create_app

    data = tmp_path / "T01"
    shutil.copytree(template, data)
    lockout = PinLockout(max_failures=3)
    with TestClient(create_app(data, lockout=lockout), base_url="http://127.0.0.1:8700") as c:
        c.data_dir = data  # type: ignore[attr-defined]
        yield c


def events(client: TestClient) -> list[sa.Row[tuple[object, ...]]]:
    engine = open_engine(f"sqlite:///{client.data_dir / 'terminal.db'}")  # type: ignore[attr-defined]
    try:
        with read_tx(engine) as conn:
            return list(conn.execute(sa.select(till_event).order_by(till_event.c.created_at)))
    finally:
        engine.dispose()


def total(html: str) -> str:
    found = re.search(r'id="total">([^<]+)<', html)
    assert found
    return found.group(1)


def test_a_discount_within_the_limit_shows_on_the_line_and_the_receipt(
    client: TestClient,
) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=f"5*{B2}")  # 15.10
    page = client.get("/").text
    assert 'id="f-discount-reason"' in page and "Staff discount" in page
    given = post(client, token, "/basket/discount", line_no="1", value="9%", reason="DAMAGED")
    assert given.status_code == 200
    assert total(given.text) == "13.74"
    assert re.search(r'id="discount-1">\u22121.36 \(9 %\) · DAMAGED', given.text)
    # 1.45 off 15.10 in all: within Ada's 10 % for the sale as a whole.
    given = post(client, token, "/basket/discount", line_no="0", value="0.09", reason="STAFF")
    assert total(given.text) == "13.65" and 'id="discount-total">\u22121.45<' in given.text
    paid = post(client, token, "/basket/pay", due="1365", amount_CASH="15")
    assert paid.status_code == 204
    receipt = client.get(paid.headers["hx-redirect"]).text
    assert "13.65" in receipt
    assert events(client) == []  # nothing above a limit: nothing to log


def test_above_the_limit_the_dialog_asks_a_managers_pin(client: TestClient) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    asked = post(client, token, "/basket/discount", line_no="1", value="50%", reason="STAFF")
    assert asked.status_code == 200 and total(asked.text) == "2.01"  # not given yet
    assert 'id="discount-dialog"' in asked.text and 'data-open="1"' in asked.text
    assert 'id="f-manager-pin"' in asked.text and "above your limit (10 %)" in asked.text
    wrong = post(
        client, token, "/basket/discount", line_no="1", value="50%", reason="STAFF",
        manager_id="may", manager_pin="0000",
    )  # fmt: skip
    assert wrong.status_code == 422 and "unknown cashier or wrong PIN" in wrong.text
    not_a_manager = post(
        client, token, "/basket/discount", line_no="1", value="50%", reason="STAFF",
        manager_id="BOB", manager_pin=PINS["BOB"],
    )  # fmt: skip
    assert "BOB is not a manager" in not_a_manager.text
    approved = post(
        client, token, "/basket/discount", line_no="1", value="50%", reason="STAFF",
        manager_id="may", manager_pin=MANAGER_PIN,
    )  # fmt: skip
    assert approved.status_code == 200 and total(approved.text) == "1.01"  # 1.005 off: 1.00
    assert "approved by MAY" in approved.text
    (event,) = events(client)
    assert (event.kind, event.cashier_id, event.approved_by) == ("discount_approved", "ADA", "MAY")


def test_wrong_manager_pins_lock_the_manager_out(client: TestClient) -> None:
    token = signed_in(client, "BOB")
    post(client, token, "/basket/scan", code=B1)
    form = {"line_no": "1", "value": "1%", "reason": "STAFF", "manager_id": "MAY"}
    for _ in range(3):
        assert "wrong PIN" in post(client, token, "/basket/discount", **form, manager_pin="1").text
    locked = post(client, token, "/basket/discount", **form, manager_pin=MANAGER_PIN)
    assert "too many wrong PINs" in locked.text and total(locked.text) == "2.01"
    with TestClient(client.app, base_url="http://127.0.0.1:8700") as may:
        assert sign_in(may, "MAY", MANAGER_PIN).status_code == 429  # the same lock-out


def test_voids_and_cancellations_need_a_reason(client: TestClient) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    post(client, token, "/basket/scan", code=B2)
    refused = post(client, token, "/basket/void", line_no="1")
    assert refused.status_code == 422 and "give a reason" in refused.text
    assert basket_skus(refused.text) == [("SKU1", 1), ("SKU2", 1)]
    assert 'id="void-dialog"' in refused.text and 'data-open="1"' in refused.text
    other = post(client, token, "/basket/void", line_no="1", reason="other", other="dropped it")
    assert basket_skus(other.text) == [("SKU2", 1)]
    gone = post(client, token, "/basket/void", line_no="0", reason="Customer cannot pay")
    assert basket_skus(gone.text) == []
    assert [(e.kind, e.reason) for e in events(client)] == [
        ("line_voided", "dropped it"),
        ("sale_cancelled", "Customer cannot pay"),
    ]


def test_park_and_resume_by_another_cashier(client: TestClient) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=f"3*{B1}")
    post(client, token, "/basket/discount", line_no="1", value="10%", reason="STAFF")
    parked = post(client, token, "/basket/park", label="Lady in red")
    assert basket_skus(parked.text) == [] and "Sale parked: Lady in red" in parked.text
    assert "Parked sales (1)" in parked.text
    with TestClient(client.app, base_url="http://127.0.0.1:8700") as bob:
        bob_token = signed_in(bob, "BOB")
        listing = bob.get("/parked").text
        assert "Lady in red" in listing and "Ada Lovelace" in listing and "5.43" in listing
        park_id = re.search(r'action="/parked/([^/]+)/resume"', listing)
        assert park_id
        post(bob, bob_token, "/basket/scan", code=B2)
        busy = post(bob, bob_token, f"/parked/{park_id.group(1)}/resume")
        assert busy.status_code == 422 and "before resuming another" in busy.text
        post(bob, bob_token, "/basket/void", line_no="1", reason="Scanned by mistake")
        resumed = post(bob, bob_token, f"/parked/{park_id.group(1)}/resume")
        assert resumed.headers["hx-redirect"] == "/"
        page = bob.get("/").text
        assert basket_skus(page) == [("SKU1", 3)] and total(page) == "5.43"  # 10 % kept
        assert "Sale resumed: Lady in red" in page
        again = post(bob, bob_token, f"/parked/{park_id.group(1)}/resume")
        assert "no longer parked" in again.text
    assert "No sale is parked" in client.get("/parked").text
    empty = post(client, token, "/basket/park")
    assert empty.status_code == 422 and "nothing to park" in empty.text


def test_resuming_names_the_prices_changed_since_parking(client: TestClient) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=f"2*{B1}")
    post(client, token, "/basket/scan", code=B2)
    post(client, token, "/basket/park", label="Back in five")
    engine = open_engine(f"sqlite:///{client.data_dir / 'terminal.db'}")  # type: ignore[attr-defined]
    try:  # a price change pulled from the store while the sale waited
        with write_tx(engine) as conn:
            conn.exec_driver_sql("UPDATE item SET price = 199 WHERE sku = 'SKU1'")
    finally:
        engine.dispose()
    park_id = re.search(r'action="/parked/([^/]+)/resume"', client.get("/parked").text)
    assert park_id
    resumed = post(client, token, f"/parked/{park_id.group(1)}/resume")
    assert resumed.headers["hx-redirect"] == "/"
    page = client.get("/").text
    assert basket_skus(page) == [("SKU1", 2), ("SKU2", 1)]
    assert "Changed since it was parked: Item 1 2.01 -&gt; 1.99" in page
    assert "SKU2" not in page.split("Changed since it was parked")[1].split("<")[0]


def test_the_basket_warns_when_selling_more_than_on_hand(client: TestClient) -> None:
    token = signed_in(client)
    two = post(client, token, "/basket/scan", code=f"2*{B1}")
    assert re.search(r'id="on-hand-1">2 on hand<', two.text)
    three = post(client, token, "/basket/lines/1", delta="1")
    assert "Only 2 on hand: check the shelf (the sale is not refused)" in three.text
    assert post(client, token, "/basket/pay", due="603", amount_CASH="6.03").status_code == 204


def test_the_minus_button_never_voids(client: TestClient) -> None:
    token = signed_in(client)
    post(client, token, "/basket/scan", code=B1)
    kept = post(client, token, "/basket/lines/1", delta="-1")
    assert kept.status_code == 422 and basket_skus(kept.text) == [("SKU1", 1)]
    assert "void the line to take it out" in kept.text
    assert client.get("/items/search", params={"q": "x"}, headers=HTMX).status_code == 200

"""The cashier's screen in real headless Chromium, served by a real ``possync pos
run`` process next to a real store server process: sign in with the PIN, scan,
split payment, print view, a return, a customer created offline, Synchronize Data
from Store, Enable Online POS; and the same sale flow with the store server down.
Screenshots of the main screens go to artifacts/screenshots/pos-*.png."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from possync.retail.schema import customer, receipt
from possync.store.process import StoreProcess, free_port
from possync.sync.db import open_engine, read_tx
from tests.browser import shot
from tests.e2e.helpers import make_store, pos_init, receipt_numbers
from tests.terminal_web.conftest import PIN, add_cashiers

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

B1, B2, B3 = "5000000000001", "5000000000002", "5000000000003"  # 2.01, 3.02, 4.03


@dataclass
class Shop:
    store: sa.Engine
    server: StoreProcess
    pos: subprocess.Popen[bytes]
    url: str  # the cashier's screen
    log: Path


def start_pos_run(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "possync", "pos", "run", "--data", str(data)),
                *("--ui-port", str(port), "--interval", "3600", "--max-backoff", "3600"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/signin", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("pos run did not serve the screen in time")


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    """A store (server running) and terminal T01 with its screen served by pos run."""
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    store = make_store(db_url, items=20)
    add_cashiers(store)
    server = StoreProcess(db_url).start()
    pos_init(store, server.url, tmp_path / "T01", "T01")
    proc, url = start_pos_run(tmp_path / "T01", tmp_path / "pos-run.log")
    try:
        yield Shop(store, server, proc, url, tmp_path / "pos-run.log")
    finally:
        if proc.poll() is None:
            proc.kill()
        server.kill()
        store.dispose()


def stop_cleanly(shop: Shop) -> None:
    shop.pos.send_signal(signal.SIGTERM)
    assert shop.pos.wait(20) == 0, shop.log.read_text()
    assert "stopped" in shop.log.read_text()


def sign_in(page: Any, url: str, name: str | None = None) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#signin-form")  # redirected: not signed in
    if name:
        shot(page, name)
    page.fill("#f-cashier_id", "ADA")
    page.click("#f-pin")
    for digit in PIN:  # the on-screen keypad, as on a touch screen
        page.click(f'.keypad [data-key="{digit}"]')
    page.click('.keypad [data-key="OK"]')
    page.wait_for_selector("#scan:focus")


def scan(page: Any, code: str, line: str) -> None:
    """Type like a scanner: the code, then Enter, into the field that has the focus."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_selector(line)


def pay_split(page: Any, card: str, reference: str, cash: str) -> None:
    page.keyboard.press("F4")
    page.wait_for_selector("#pay-dialog[open]")
    page.fill("#f-amount_CARD", card)
    page.fill("#f-ref_CARD", reference)
    page.fill("#f-amount_CASH", cash)
    page.wait_for_selector("#pay-balance:has-text('Change')")


OPERATIONS = {"#op-sync": "Synchronize Data from Store", "#op-online": "Enable Online POS"}


def store_operation(page: Any, button: str) -> str:
    """Run a Store Operation and wait for *its* outcome (the previous operation's
    result may still be on the page when the next one starts)."""
    page.keyboard.press("F10")
    page.click(button)
    finished = re.compile(rf"{re.escape(OPERATIONS[button])} (done|failed)")
    page.locator("#op-result").filter(has_text=finished).wait_for()
    return " ".join(str(page.inner_text("#op-result")).split())


def test_sell_pay_print_return_customer_sync_and_go_online(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "pos-signin")
    assert page.inner_text("#mode") == "Offline mode"

    scan(page, B1, "#line-1")
    scan(page, B2, "#line-2")
    scan(page, B1, "#line-1 input[value='2']")  # the same item again: its line grows
    page.click("#line-2 button[value='1']")  # + on the second line
    page.wait_for_selector("#line-2 input[value='2']")
    page.keyboard.press("F2")
    page.keyboard.type("item 7")
    page.wait_for_selector("#search-results [data-q='item 7'] .result[data-sku='SKU7']")
    shot(page, "pos-search")
    page.keyboard.press("Enter")  # takes the first result
    page.wait_for_selector("#line-3[data-sku='SKU7']")
    assert page.evaluate("document.activeElement.id") == "scan"
    assert page.inner_text("#total") == "18.13"  # 2 x 2.01 + 2 x 3.02 + 8.07
    shot(page, "pos-sell")

    pay_split(page, "10.00", "AUTH-4711", "20")
    shot(page, "pos-payment")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt")
    assert page.inner_text("#receipt-no") == "S01-T01-000001"
    assert page.inner_text("#receipt-change") == "11.87"
    assert "Card (ref AUTH-4711)" in page.inner_text("#receipt-payments")
    shot(page, "pos-receipt")
    page.emulate_media(media="print")
    assert page.is_hidden(".topbar") and page.is_hidden("#statusbar")
    assert page.is_hidden("#print") and page.is_visible("#receipt")
    shot(page, "pos-receipt-print")
    page.emulate_media(media="screen")

    page.keyboard.press("F7")
    page.wait_for_selector("#receipt-no:focus")
    page.keyboard.type("S01-T01-000001")
    page.keyboard.press("Enter")
    page.wait_for_selector("#return-form")
    page.fill("#f-qty_1", "1")
    page.click("#take-back")
    page.wait_for_selector("#return-done")
    assert "refund 2.01" in page.inner_text("#return-done")
    shot(page, "pos-return")

    page.keyboard.press("F3")
    page.wait_for_selector("#new-customer")
    page.fill("#f-name", "Grace Hopper")
    page.fill("#f-email", "grace@example.org")
    page.click("#new-customer button[type=submit]")
    page.wait_for_selector("#sale-customer")
    assert "S01-T01-C000001 Grace Hopper created" in page.inner_text("#notice")

    page.keyboard.press("F10")
    page.wait_for_selector("#op-sync:visible")
    shot(page, "pos-store-operations")
    page.keyboard.press("F10")
    result = store_operation(page, "#op-sync")
    assert "Synchronize Data from Store done: pushed" in result
    page.wait_for_selector("#pending:text-is('0')")
    assert receipt_numbers(shop.store) == ["S01-T01-000001", "S01-T01-R000001"]
    with read_tx(shop.store) as conn:
        assert conn.execute(sa.select(customer.c.customer_no)).scalars().all() == [
            "S01-T01-C000001"
        ]

    result = store_operation(page, "#op-online")
    assert "Enable Online POS done: ONLINE" in result
    page.wait_for_selector("#statusbar.is-online #mode:text-is('Online mode')")
    scan(page, B3, "#line-1")
    page.keyboard.press("F4")
    page.click("[data-fill='amount_CASH']")  # exact cash
    page.keyboard.press("Enter")
    page.wait_for_selector("#sale-done")
    assert "confirmed by the store" in page.inner_text("#sale-done")
    assert "S01-T01-000002" in receipt_numbers(shop.store)  # there at once
    shot(page, "pos-online")
    stop_cleanly(shop)


def test_the_same_sale_flow_with_the_store_server_stopped(page: Any, shop: Shop) -> None:
    shop.server.stop()
    sign_in(page, shop.url)
    assert page.is_visible("#statusbar.is-offline #mode:text-is('Offline mode')")
    scan(page, B1, "#line-1")
    scan(page, "2*" + B2, "#line-2")
    page.reload()  # the basket is kept by the terminal, not the page
    page.wait_for_selector("#line-2 input[value='2']")
    scan(page, "0000000000000", "#sale-error .notice")
    assert "unknown item" in page.inner_text("#sale-error")
    assert page.locator("#basket tbody tr").count() == 2

    page.keyboard.press("F4")
    page.fill("#f-amount_CASH", "1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#pay-error")
    assert "insufficient payment: 7.05 still due" in page.inner_text("#pay-error")
    page.fill("#f-amount_CARD", "5.00")
    page.fill("#f-ref_CARD", "OFF-1")
    page.fill("#f-amount_CASH", "5")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt")
    assert page.inner_text("#receipt-no") == "S01-T01-000001"
    assert "OFFLINE: sent at the next sync" in page.inner_text("#sale-done")
    with read_tx(open_engine(f"sqlite:///{shop.log.parent / 'T01' / 'terminal.db'}")) as conn:
        assert conn.execute(sa.select(receipt.c.total)).scalars().all() == [805]

    page.goto(shop.url + "/")
    result = store_operation(page, "#op-sync")
    assert "Synchronize Data from Store failed: cannot reach" in result
    result = store_operation(page, "#op-online")
    assert "Enable Online POS failed: still OFFLINE: cannot reach" in result
    page.wait_for_selector("#statusbar .sync-error")
    assert page.inner_text("#mode") == "Offline mode"
    shot(page, "pos-offline")
    stop_cleanly(shop)
    assert receipt_numbers(shop.store) == []

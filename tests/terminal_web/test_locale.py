"""The store's locale on the till and the console: 'store details --locale fr_FR'
reaches a running till at its next sync (not before), which then writes
``12,50 €``; the console writes the store's amounts and times the same way. One
real store server process, one till set up by offline backup."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import catalog, sales, store_admin
from possync.store.app import create_app as store_app
from possync.store.console import accounts
from possync.store.process import StoreProcess
from possync.sync.db import write_tx
from possync.terminal import syncer
from possync.terminal.local import Terminal
from possync.terminal.web.app import create_app as pos_app
from tests.e2e.helpers import cli, make_store
from tests.retail.test_barcode import bars_of, decode
from tests.store_console.conftest import PASSWORD, sign_in
from tests.terminal_web.conftest import add_cashiers, provision_by_backup
from tests.terminal_web.screen import HTMX, post, signed_in


def plain(page: str) -> str:
    """The page's text with the no-break spaces CLDR puts before '€' made plain."""
    return html.unescape(page).replace("\u00a0", " ").replace("\u202f", " ")


def sync(data: Path) -> None:
    term = Terminal.open(data)
    try:
        syncer.sync(term)
    finally:
        term.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, sa.Engine, Path]]:
    tmp = tmp_path_factory.mktemp("locale")
    url = f"sqlite:///{tmp / 'store.db'}"
    store = make_store(url, items=5)
    add_cashiers(store)
    with write_tx(store) as conn:
        catalog.import_csv(conn, "sku,barcode,name,price,tax_code\nLOC1,,Locale test,12.50,STD\n")
        accounts.add_admin(conn, "admin", PASSWORD)
    server = StoreProcess(url).start()
    try:
        provision_by_backup(store, "T01", tmp / "T01", server.url, tmp)
        yield url, store, tmp / "T01"
    finally:
        server.kill()
        store.dispose()


def test_a_locale_set_on_the_store_reaches_the_till_at_its_next_sync(
    shop: tuple[str, sa.Engine, Path],
) -> None:
    url, _, till = shop
    with TestClient(pos_app(till), base_url="http://127.0.0.1:8700") as client:
        token = signed_in(client)

        def search() -> str:
            return plain(client.get("/items/search", params={"q": "Locale"}, headers=HTMX).text)

        assert '<span class="price">12.50</span>' in search()  # no locale: the plain look
        cli("store", "details", "--db", url, "--locale", "fr_FR", "--time-zone", "Europe/Paris")
        assert '<span class="price">12.50</span>' in search()  # not synced yet
        sync(till)
        assert '<span class="price">12,50 €</span>' in search()  # the running till, no restart

        post(client, token, "/basket/scan", code="LOC1")
        assert re.search(r'id="total">12,50 €<', plain(client.get("/").text))
        paid = post(client, token, "/basket/pay", amount_CASH="20")
        number = paid.headers["hx-redirect"].removeprefix("/receipts/")
        receipt = plain(client.get(f"/receipts/{number}").text)
        assert 'id="receipt-total">12,50 €<' in receipt
        assert 'id="taxes-tax">2,08 €<' in receipt  # 20 % included in 12.50
        assert 'id="receipt-change">7,50 €<' in receipt
        assert re.search(r"<p>\d\d/\d\d/\d{4} \d\d:\d\d · terminal T01", receipt)  # fr_FR
    sync(till)  # the sale goes up to the store


def test_the_console_writes_the_stores_amounts_and_times(
    shop: tuple[str, sa.Engine, Path],
) -> None:
    """On its own (tests may run on separate workers): a receipt as a till's sync
    leaves it on the store, and the store's locale set."""
    _, store, _ = shop
    store_admin.add_terminal(store, "T09")  # its series, on the store only
    with write_tx(store) as conn:
        conn.exec_driver_sql("UPDATE store SET locale = 'fr_FR', time_zone = 'Europe/Paris'")
        number = sales.record_sale(
            conn,
            sales.Till("S01", "T09", "EUR"),
            [sales.LineRequest("LOC1", 1)],
            [sales.PaymentRequest("CASH")],
        ).receipt_no
    client = TestClient(store_app(store), follow_redirects=True)
    sign_in(client)
    listing = plain(client.get("/console/receipts", params={"terminal": "T09"}).text)
    assert re.findall(r'data-receipt="([^"]+)"', listing) == [number]
    assert re.search(r'<td class="num">12,50 €</td><td class="num">2,08 €</td>', listing)
    assert re.search(r'<td title="[^"]+Z \(UTC\)">\d\d/\d\d/\d{4} \d\d:\d\d</td>', listing)
    page = plain(client.get(f"/console/receipts/{number}").text)
    assert re.search(r'<tr data-rate="2000"><td>20 %</td><td class="num">10,42 €</td>', page)
    svg = re.search(r'<svg [^>]*class="barcode".*?</svg>', page, re.S)
    assert svg and decode(bars_of(svg[0])) == number
    assert "12,50 €" in plain(client.get("/console/items", params={"q": "LOC1"}).text)

"""The printed receipt (in process): the store's address and VAT number, net and tax
per rate adding up to the receipt's totals, line discounts, a barcode the Returns
screen takes, COPY on reprints; today's receipts by the store's business day; the
stock shown in search."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from possync.retail.store_locale import StoreLocale
from possync.sync.clock import utc_now
from possync.sync.db import open_engine, read_tx, write_tx
from tests.retail.test_barcode import bars_of, decode
from tests.terminal_web.screen import HTMX, post, signed_in


def run_sql(data: Path, *statements: str) -> None:
    engine = open_engine(f"sqlite:///{data / 'terminal.db'}")
    with write_tx(engine) as conn:
        for sql in statements:
            conn.exec_driver_sql(sql)
    engine.dispose()


def receipt_row(data: Path, receipt_no: str) -> dict[str, object]:
    engine = open_engine(f"sqlite:///{data / 'terminal.db'}")
    with read_tx(engine) as conn:
        row = conn.exec_driver_sql(
            "SELECT total, tax_total FROM receipt WHERE receipt_no = ?", (receipt_no,)
        ).one()
    engine.dispose()
    return dict(row._mapping)


def cents(shown: str) -> int:
    return round(float(shown) * 100)


def sell(client: TestClient, token: str, *codes: str, cash: str = "1000") -> str:
    for code in codes:
        post(client, token, "/basket/scan", code=code)
    paid = post(client, token, "/basket/pay", amount_CASH=cash)
    assert paid.status_code == 204, paid.text
    return paid.headers["hx-redirect"].removeprefix("/receipts/")


def test_the_receipt_adds_up_per_rate_and_its_barcode_is_the_number(
    client: TestClient, terminal_dir: Path
) -> None:
    # three rates; prices whose per-line tax rounds differently from a per-rate sum
    run_sql(
        terminal_dir,
        "UPDATE item SET tax_code = 'RED' WHERE sku IN ('SKU2', 'SKU4')",
        "UPDATE item SET tax_code = 'ZERO' WHERE sku = 'SKU3'",
        "UPDATE store SET address = '1 Main Street, Lyon', vat_number = 'FR40303265045'",
    )
    token = signed_in(client)
    number = sell(client, token, *["SKU1"] * 3, "SKU2", "SKU4", "SKU4", "SKU3", "SKU7")
    page = client.get(f"/receipts/{number}")
    assert page.status_code == 200
    text = page.text
    assert "1 Main Street, Lyon" in text and "VAT FR40303265045" in text
    assert 'id="copy-mark"' not in text  # the original, just made

    table = text[text.index('id="receipt-taxes"') :]
    rates = re.findall(
        r'<tr data-rate="(\d+)"><td>[^<]*</td><td class="num">([-\d.]+)</td>'
        r'<td class="num">([-\d.]+)</td><td class="num">([-\d.]+)</td></tr>',
        table,
    )
    assert [int(r[0]) for r in rates] == [2000, 550, 0]  # highest rate first
    for _, net, tax, gross in rates:
        assert cents(net) + cents(tax) == cents(gross)
    stored = receipt_row(terminal_dir, number)
    assert sum(cents(r[3]) for r in rates) == stored["total"]
    assert sum(cents(r[2]) for r in rates) == stored["tax_total"]
    footer = dict(re.findall(r'id="taxes-(net|tax|gross)">([-\d.]+)<', table))
    assert cents(footer["gross"]) == stored["total"]
    assert cents(footer["tax"]) == stored["tax_total"]
    assert cents(footer["net"]) == stored["total"] - stored["tax_total"]

    svg = re.search(r"<svg [^>]*class=\"barcode\".*?</svg>", text, re.S)
    assert svg, "no barcode on the receipt"
    scanned = decode(bars_of(svg[0]))
    assert scanned == number
    # The scanner types it, then Enter, into the Returns screen's field
    found = client.get("/returns", params={"receipt_no": scanned}, headers=HTMX)
    assert found.status_code == 200 and f"<h2>Sale {number}</h2>" in found.text


def test_discounts_are_printed_and_a_reprint_says_copy(
    client: TestClient, terminal_dir: Path
) -> None:
    token = signed_in(client)
    first = sell(client, token, "SKU1", "SKU2")
    # A discount of the line (as the discount rules store it: line_total after it)
    run_sql(
        terminal_dir,
        "UPDATE receipt_line SET discount = 50, line_total = line_total - 50 "
        f"WHERE line_no = 1 AND receipt_id = (SELECT receipt_id FROM receipt "
        f"WHERE receipt_no = '{first}')",
    )
    original = client.get(f"/receipts/{first}").text
    assert re.search(
        r'<tr class="discount"><td colspan="3">Discount</td><td class="num">-0.50<', original
    )
    assert 'id="copy-mark"' not in original

    second = sell(client, token, "SKU5")
    later = client.get(f"/receipts/{first}").text  # no longer the document just made
    assert 'id="copy-mark">COPY · Duplicate<' in later
    reprint = client.get(f"/today/reprint/{first}")
    assert reprint.status_code == 200 and 'id="copy-mark"' in reprint.text
    assert 'aria-label="Receipt ' + first + ' (copy)"' in reprint.text
    assert client.get("/today/reprint/S01-T01-999999").status_code == 404

    today = client.get("/today").text
    listed = re.findall(r'<tr data-receipt="([^"]+)">', today)
    assert listed == [second, first]  # newest first
    assert f'href="/today/reprint/{first}"' in today
    assert "2 sales" in html.unescape(today)


def test_today_is_the_stores_business_day(client: TestClient, terminal_dir: Path) -> None:
    """A sale at 00:57 in Paris is on that day's list (in UTC it is still the day
    before); one at 23:59 the evening before is not. Times and amounts the store's
    way once it has a locale."""
    token = signed_in(client)
    late, early = sell(client, token, "SKU1"), sell(client, token, "SKU2")
    run_sql(terminal_dir, "UPDATE store SET locale = 'fr_FR', time_zone = 'Europe/Paris'")
    paris = StoreLocale("fr_FR", "EUR", "Europe/Paris")
    midnight = datetime.fromisoformat(paris.day_bounds(paris.business_day(utc_now()))[0])
    at = {
        early: midnight + timedelta(minutes=57),
        late: midnight - timedelta(minutes=1),  # the evening before, in Paris
    }
    stored = {
        no: m.isoformat(timespec="milliseconds").replace("+00:00", "Z") for no, m in at.items()
    }
    run_sql(
        terminal_dir,
        *(
            f"UPDATE receipt SET created_at = '{t}' WHERE receipt_no = '{no}'"
            for no, t in stored.items()
        ),
    )
    page = html.unescape(client.get("/today").text).replace("\u202f", " ").replace("\xa0", " ")
    assert re.findall(r'<tr data-receipt="([^"]+)">', page) == [early]
    assert "<td>00:57</td>" in page
    assert "<strong>3,02 €</strong>" in page  # SKU2's price, the sales of the day


def test_search_shows_the_stock_of_the_store(client: TestClient, terminal_dir: Path) -> None:
    run_sql(terminal_dir, "UPDATE stock_level SET on_hand = -2 WHERE sku = 'SKU3'")
    signed_in(client)
    found = client.get("/items/search", params={"q": "Item 1"}, headers=HTMX).text
    stock = dict(
        re.findall(
            r'data-sku="(SKU\d+)".*?<span class="stock[^"]*" data-on-hand="(-?\d+)"', found, re.S
        )
    )
    assert stock["SKU1"] == "1000"  # the fixture's store received 1000 of SKU1..SKU5
    assert stock["SKU10"] == "0"  # never received
    assert "1000 in stock" in found and "out of stock" in found
    negative = client.get("/items/search", params={"q": "SKU3"}, headers=HTMX).text
    assert "out of stock (-2)" in negative

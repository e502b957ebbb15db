"""The receipt in real headless Chromium (a real ``pos run`` beside a real store
server): its barcode drawn under the screen's CSP, read back and typed as a
scanner does into the Returns screen; Today's receipts and a reprint marked COPY
on paper; the stock in search. Screenshots: pos-receipt-barcode, pos-today."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import shot
from tests.retail.test_barcode import bars_of, decode
from tests.terminal_web.test_browser import B1, Shop, scan, shop, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
__all__ = ["shop"]  # the fixture: a store server and pos run serving T01


def test_scan_the_receipts_barcode_into_returns_and_reprint_a_copy(page: Any, shop: Shop) -> None:
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    sign_in(page, shop.url)
    page.keyboard.press("F2")
    page.keyboard.type("item 1")
    page.wait_for_selector("#search-results .result[data-sku='SKU1'] .stock")
    assert page.inner_text(".result[data-sku='SKU1'] .stock") == "1000 in stock"
    assert page.inner_text(".result[data-sku='SKU10'] .stock") == "out of stock"
    page.click("#scan")

    scan(page, B1, "#line-1")
    page.keyboard.press("F4")
    page.wait_for_selector("#pay-dialog[open]")
    page.fill("#f-amount_CASH", "5")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt")
    number = page.inner_text("#receipt-no")
    assert page.locator("#copy-mark").count() == 0  # the original
    box = page.locator("#receipt-barcode svg").bounding_box()
    assert box and box["width"] > 150 and box["height"] > 30  # drawn, not blocked
    scanned = decode(bars_of(page.inner_html("#receipt-barcode")))
    assert scanned == number
    shot(page, "pos-receipt-barcode")

    page.keyboard.press("F7")
    page.wait_for_selector("#receipt-no:focus")
    page.keyboard.type(scanned)  # what a scanner sends: the bars' text, then Enter
    page.keyboard.press("Enter")
    page.wait_for_selector("#return-form")
    assert page.inner_text("#return-form h2") == f"Sale {number}"

    page.click("#nav-today")
    page.wait_for_selector(f"#today-receipts tr[data-receipt='{number}']")
    shot(page, "pos-today")
    page.click(f"#today-receipts tr[data-receipt='{number}'] a.reprint")
    page.wait_for_selector("#copy-mark")
    page.emulate_media(media="print")
    assert page.is_visible("#copy-mark") and page.is_visible("#receipt-barcode svg")
    page.emulate_media(media="screen")
    assert refused == []

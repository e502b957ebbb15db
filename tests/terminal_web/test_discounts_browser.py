"""Discounts, a manager's approval, a void, park and resume and the stock warning,
by keyboard in real headless Chromium, on the cashier's screen served by uvicorn
(in a thread of the test: the flow is the screen's, no store is needed). Nothing
on the way breaks the Content Security Policy or raises in the page. Screenshots:
artifacts/screenshots/pos-discount-*.png, pos-parked.png."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from possync.store.process import free_port
from tests.browser import shot
from tests.terminal_web.conftest import PIN
from tests.terminal_web.test_csp_browser import watch
from tests.terminal_web.test_discounts import B1, B2, MANAGER_PIN, template  # noqa: F401

pytestmark = [pytest.mark.browser]


@pytest.fixture
def screen(template: Path, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    from possync.terminal.web.app import create_app

    data = tmp_path / "T01"
    shutil.copytree(template, data)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(data), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the screen did not start"
        time.sleep(0.02)
    assert httpx.get(url + "/signin").status_code == 200
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def test_discount_approval_void_park_and_resume_by_keyboard(page: Any, screen: str) -> None:
    messages = watch(page)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(screen + "/")
    page.fill("#f-cashier_id", "ADA")
    page.fill("#f-pin", PIN)
    page.keyboard.press("Enter")
    page.wait_for_selector("#scan:focus")
    for code, line in [(f"3*{B1}", "#line-1"), (B2, "#line-2")]:
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        page.wait_for_selector(line)
    assert "Only 2 on hand" in page.inner_text("#on-hand-1")  # 3 sold, 2 on hand: a warning

    # 50 % on line 1 (6.03) is above Ada's 10 %: the dialog asks for a manager.
    page.click("#line-1 button.discount")
    page.wait_for_selector("#discount-dialog[open] #f-discount-value:focus")
    assert page.inner_text("#discount-title") == "Discount on Item 1"
    page.keyboard.type("50%")
    page.keyboard.press("Tab")
    page.select_option("#f-discount-reason", "STAFF")
    page.keyboard.press("Enter")
    page.wait_for_selector("#discount-dialog[open] #f-manager-id:focus")
    assert "above your limit (10 %)" in page.inner_text("#discount-approval")
    shot(page, "pos-discount-manager-pin")
    page.keyboard.type("MAY")
    page.keyboard.press("Tab")
    page.keyboard.type(MANAGER_PIN)
    page.keyboard.press("Enter")
    page.wait_for_selector("#discount-1")
    assert page.inner_text("#line-1 .line-total") == "3.01"  # 6.03 less 3.015: 3.02 off
    assert "approved by MAY" in page.inner_text("#discount-1")

    # F6: 10 % off the sale, within Ada's limit.
    page.keyboard.press("F6")
    page.wait_for_selector("#discount-dialog[open] #f-discount-value:focus")
    assert page.inner_text("#discount-title") == "Discount on the sale"
    page.keyboard.type("10%")
    page.keyboard.press("Tab")
    page.select_option("#f-discount-reason", "DAMAGED")
    page.keyboard.press("Enter")
    page.wait_for_selector("#remove-basket-discount")
    assert page.inner_text("#total") == "5.43"  # (3.01 + 3.02) less 0.60
    shot(page, "pos-discount-basket")

    # Void line 2: Enter without a reason is refused; then a reason by keyboard.
    page.click("#line-2 button.remove")
    page.wait_for_selector("#void-dialog[open]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#void-error")
    page.wait_for_selector("#void-dialog[open] input[type=radio]:focus")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_selector("#line-2", state="detached")
    page.wait_for_selector("#scan:focus")  # back to scanning

    # Park it (F8), then resume it from the list (Shift+F8, Enter).
    page.keyboard.press("F8")
    page.wait_for_selector("#sale-notice")
    page.wait_for_selector("#basket tr.empty")
    page.keyboard.press("Shift+F8")
    page.wait_for_selector("#parked-sales button.resume:focus")
    shot(page, "pos-parked")
    page.keyboard.press("Enter")
    page.wait_for_selector("#line-1")
    assert page.inner_text("#total") == "2.71"  # 3.01 less 10 % of the sale: resumed whole

    page.keyboard.press("F4")
    page.wait_for_selector("#pay-dialog[open]")
    page.click("button[data-fill='amount_CASH']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-sale")
    assert "Discount (STAFF + DAMAGED)" in page.inner_text("main")
    errors = [m for m in messages if "Content Security Policy" in m or m.startswith("pageerror")]
    assert errors == [], errors

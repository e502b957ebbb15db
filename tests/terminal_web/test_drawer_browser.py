"""The cash drawer in real headless Chromium, served by a real ``possync pos run``
next to a real store server: a cash sale made before the drawer is opened, open
with a float, a paid out, the X report, count and close, the printable Z report;
then Synchronize Data from Store brings the Z report to the store, where it
extends the till's verified fiscal chain. Screenshots: artifacts/screenshots/pos-drawer*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from possync.retail import fiscal_chain
from possync.retail.schema import z_report
from possync.store.process import StoreProcess
from possync.sync.db import read_tx
from tests.browser import shot
from tests.e2e.helpers import make_store, pos_init
from tests.terminal_web.conftest import add_cashiers
from tests.terminal_web.test_browser import (
    B1,
    Shop,
    scan,
    sign_in,
    start_pos_run,
    stop_cleanly,
    store_operation,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    tmp = tmp_path_factory.mktemp("drawer")
    db_url = f"sqlite:///{tmp / 'store.db'}"
    store = make_store(db_url, items=5)
    add_cashiers(store)
    server = StoreProcess(db_url).start()
    pos_init(store, server.url, tmp / "T01", "T01")
    proc, url = start_pos_run(tmp / "T01", tmp / "pos-run.log")
    try:
        yield Shop(store, server, proc, url, tmp / "pos-run.log")
    finally:
        if proc.poll() is None:
            proc.kill()
        server.kill()
        store.dispose()


def test_sell_open_pay_out_close_print_and_sync_the_z_report(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url)
    scan(page, B1, "#line-1")  # 2.01, paid in cash before any drawer is open
    page.keyboard.press("F4")
    page.wait_for_selector("#pay-dialog[open]")
    page.fill("#f-amount_CASH", "5")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt")

    page.click("#nav-drawer")
    page.wait_for_selector("#drawer-open")
    page.fill("#f-opening_float", "100")
    page.click("#drawer-open button[type=submit]")
    page.wait_for_selector("#drawer-state")
    page.select_option("#f-kind", "out")
    page.fill("#f-amount", "2")
    page.fill("#f-reason", "stamps")
    page.click("#drawer-move button[type=submit]")
    page.wait_for_selector("#drawer-moves:has-text('stamps')")
    assert page.inner_text("#x-expected") == "100.01"  # 100 + 2.01 - 2.00
    assert page.inner_text("#x-sales") == "2.01"
    shot(page, "pos-drawer")

    page.fill("#count_10000", "1")
    page.fill("#count_1", "1")
    page.click("#close-drawer")
    page.wait_for_selector("#z-report")
    assert page.inner_text("#z-no") == "S01-T01-Z000001"
    assert page.inner_text("#z-over-short") == "0.00"
    chain_head = page.inner_text("#z-chain-head")
    shot(page, "pos-drawer-z")
    page.emulate_media(media="print")
    assert page.is_hidden(".topbar") and page.is_hidden("#print") and page.is_visible("#z-report")
    page.emulate_media(media="screen")

    assert "done" in store_operation(page, "#op-sync")
    with read_tx(shop.store) as conn:
        held = conn.execute(sa.select(z_report)).one()
        status = fiscal_chain.status_by_terminal(conn)["T01"]
    assert (held.z_no, held.over_short, held.chain_previous) == ("S01-T01-Z000001", 0, chain_head)
    assert (status.state, status.head_seq, status.head_hash) == ("ok", 2, held.chain_hash)
    stop_cleanly(shop)

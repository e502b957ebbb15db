"""The console in real headless Chromium against a real store server process:
sign in, enable the offline store, add an offline-enabled terminal with custom
series, download its offline backup and import it with the CLI, sell on it, sync,
and see the receipt, the new stock figure and the terminal's row on the dashboard.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import catalog, store_admin
from possync.retail import stock as stock_rules
from possync.retail.schema import item
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, read_tx, write_tx
from tests.browser import shot
from tests.e2e.helpers import catalog_csv, cli, terminal_engine

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = "shop-admin-2026"


def add_admin(db_url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "possync",
            "store",
            "admin",
            "add",
            "manager",
            "--db",
            db_url,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StoreProcess]:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_engine(db_url)
    store_admin.init_store(engine, "S01", "Main Street", offline_enabled=False)
    with write_tx(engine) as conn:
        catalog.import_csv(conn, catalog_csv(120))
        stock_rules.adjust(conn, "S01", "SKU1", 40, "goods_receipt")
    add_admin(db_url)
    process = StoreProcess(
        db_url, extra_args=["--backup-dir", str(tmp_path / "backups"), "--stale-after", "5"]
    )
    with process:  # started here, stopped at the end of the test
        yield process


def test_from_sign_in_to_a_synced_sale(server: StoreProcess, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = server.url
    page.goto(f"{base}/console/")
    assert "/console/login" in page.url
    page.get_by_label("User name").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "console-sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/")

    # Administration > IT Administration > Enable Offline Store, confirmed.
    page.get_by_text("Administration", exact=True).click()
    page.get_by_role("link", name="IT Administration > Enable Offline Store").click()
    assert page.locator("#offline-state").inner_text() == "disabled"
    page.get_by_role("button", name="Enable offline mode…").click()
    page.get_by_role("button", name="Yes, enable offline mode").click()
    assert page.locator("#offline-state").inner_text() == "enabled"
    shot(page, "console-enable-offline-store")

    # Retail Configuration > POS: a terminal with custom series; an overlap is refused first.
    page.goto(f"{base}/console/terminals/new")
    page.get_by_label("Terminal id").fill("T07")
    page.get_by_label("Name").fill("Till 7")
    page.get_by_label("Off-line Enabled").check()
    page.get_by_text("Custom Series").click()
    page.locator("#f-receipt_prefix").fill("MS7-")
    page.locator("#f-receipt_next").fill("500")
    page.locator("#f-return_prefix").fill("MS7-")
    page.get_by_role("button", name="Add terminal").click()
    assert "could issue the same numbers" in page.locator(".error").first.inner_text()
    page.locator("#f-return_prefix").fill("MS7-R")
    page.locator("#f-customer_prefix").fill("MS7-C")
    page.get_by_role("button", name="Add terminal").click()
    assert re.fullmatch(r"[A-Z0-9-]{10,}", page.locator("#registration-code").inner_text())
    shot(page, "console-registration-code")

    # Create Offline Backup, downloaded through the browser.
    page.get_by_role("link", name="Done").click()
    assert (
        page.locator("#series tr[data-kind=receipt]").inner_text().split("\t")[-1] == "MS7-000500"
    )
    page.get_by_role("button", name="Create Offline Backup…").click()
    page.get_by_role("button", name="Yes, create the backup").click()
    import_code = page.locator("#import-code").inner_text()
    shot(page, "console-offline-backup")
    with page.expect_download() as download:
        page.locator("#download-backup").click()
    backup_file = tmp_path / "T07.possync"
    download.value.save_as(backup_file)

    # On the terminal: import, sell offline, sync.
    data = tmp_path / "till7"
    cli(
        "pos",
        "import",
        str(backup_file),
        "--data",
        str(data),
        "--terminal",
        "T07",
        "--code",
        import_code,
    )
    sale = cli("pos", "sell", "--data", str(data), "SKU1:3", "SKU2", "--pay", "CASH", "--json")
    assert '"receipt_no": "MS7-000500"' in sale.stdout
    cli("pos", "sync", "--data", str(data))

    # A price edited in the console reaches the terminal at its next sync.
    page.goto(f"{base}/console/items")
    page.get_by_label("Search SKU, barcode or name").fill("Item 77")
    page.locator("#items tr[data-sku=SKU77]").wait_for()
    page.get_by_role("link", name="SKU77", exact=True).click()
    page.get_by_label("Price (tax included)").fill("abc")
    page.get_by_role("button", name="Save").click()
    assert "not an amount" in page.locator(".field.invalid .error").inner_text()
    page.get_by_label("Price (tax included)").fill("9.99")
    page.get_by_role("button", name="Save").click()
    assert "saved" in page.locator(".notice.ok").inner_text()
    cli("pos", "sync", "--data", str(data))
    with read_tx(terminal_engine(data)) as conn:
        assert conn.execute(sa.select(item.c.price).where(item.c.sku == "SKU77")).scalar() == 999

    # Transactions: the receipt and the stock figure.
    page.goto(f"{base}/console/receipts?number=MS7-")
    page.get_by_role("link", name="MS7-000500").click()
    assert page.locator("#receipt-total").inner_text() == "9.05 EUR"  # 3 x 2.01 + 3.02
    shot(page, "console-receipt")
    page.goto(f"{base}/console/stock?q=SKU1")
    assert page.locator("#stock tr[data-sku=SKU1] [data-col=on-hand]").inner_text() == "37"
    shot(page, "console-stock")

    # The dashboard: the terminal's row, refreshed by itself.
    page.goto(f"{base}/console/")
    row = page.locator("#row-T07")
    assert row.locator("[data-col=mode]").inner_text() == "offline"
    assert row.locator("[data-col=connected]").inner_text() == "connected"
    assert row.locator("[data-col=unsent]").inner_text().split()[:3] == ["0", "as", "of"]
    assert row.locator("[data-col=last-sync]").inner_text() != "never"
    shot(page, "console-dashboard")

    # Suspend its sync for a while: the terminal is told; resume, and it syncs again.
    row.get_by_role("button", name="Suspend").click()
    assert "suspended until" in page.locator("#row-T07 [data-col=sync]").inner_text()
    refused = cli("pos", "sync", "--data", str(data), check=False)
    assert refused.returncode != 0 and "suspended by an administrator" in refused.stderr
    page.locator("#row-T07").get_by_role("button", name="Resume").click()
    cli("pos", "sync", "--data", str(data))
    # (a locator wait: wait_for_function evaluates a string, which the console's
    # Content-Security-Policy refuses)
    from playwright.sync_api import expect

    expect(page.locator("#row-T07 [data-col=error]")).to_have_text("", timeout=15_000)

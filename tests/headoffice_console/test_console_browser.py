"""Head office's enterprise console in real headless Chromium, against a real head
office process on PostgreSQL with one real store server (SQLite) joined and a
real till under it: sign in, see the store connected with its receipts and its
till as the store relays it, suspend the store (its next sync refused, saying so),
resume it (it syncs again), read the stock per store, add a store from the console
(its join code). The dashboard takes a sale the store sent after its resumption
by its own refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from possync.retail import catalog, chain, store_admin
from possync.store import upstream
from possync.store.process import HeadOfficeProcess, StoreProcess
from possync.sync.db import open_engine, write_tx
from possync.webui import accounts
from tests.browser import shot
from tests.e2e.helpers import catalog_csv, cli, cli_json, pos_init

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.postgres]
PASSWORD = "chain-admin-2026"


@pytest.fixture
def chain_of_one(pg_url: str, tmp_path: Path) -> tuple[str, str, str]:
    """Head office (PostgreSQL) with an administrator, and store S01 (SQLite) about
    to join: (head office's URL, S01's join code, S01's URL)."""
    ho = open_engine(pg_url)
    chain.init_head_office(ho, "Acme Retail")
    with write_tx(ho) as conn:
        catalog.import_csv(conn, catalog_csv(5))
        accounts.add_admin(conn, "chief", PASSWORD)
    code = chain.add_store(ho, "S01", name="Main Street").registration_code
    ho.dispose()
    store_url = f"sqlite:///{tmp_path / 's01.db'}"
    store = open_engine(store_url)
    store_admin.init_store(store, "S01", "Main Street")
    store.dispose()
    return pg_url, code, store_url


def test_the_chain_from_head_offices_console(  # type: ignore[no-untyped-def]
    chain_of_one: tuple[str, str, str], page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    ho_url, code, store_url = chain_of_one
    store = open_engine(store_url)
    with HeadOfficeProcess(ho_url, log_path=tmp_path / "ho.log") as ho:
        upstream.join(store, ho.url, code)
        ho_engine = open_engine(ho_url)
        chain.adjust(ho_engine, "S01", "SKU1", 40, "goods_receipt")
        # The store serves its till; it syncs with head office only when told here.
        with StoreProcess(
            store_url, log_path=tmp_path / "s01.log", extra_args=["--ho-sync-interval", "0"]
        ) as server:
            till = tmp_path / "t01"
            upstream.sync(store)  # the goods received, before the till's first load
            pos_init(store, server.url, till, "T01")
            cli_json("pos", "sell", "--data", str(till), "SKU1:3", "--pay", "cash")
            cli("pos", "sync", "--data", str(till))
            upstream.sync(store)  # the sale goes up; the store reports T01

            base = ho.url
            page.goto(f"{base}/console/")
            assert "/console/login" in page.url
            page.get_by_label("User name").fill("chief")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/console/")

            row = page.locator("#store-S01")
            assert row.locator("[data-col=connection]").inner_text() == "connected"
            assert row.locator("[data-col=last-sync]").inner_text() != "never"
            assert row.locator("[data-col=receipts]").inner_text() == "1"
            assert row.locator("[data-col=unsent]").inner_text() == "0"
            assert row.locator("[data-col=lag]").inner_text() == "0"
            assert row.locator("[data-col=quarantine]").inner_text() == "0"
            till_row = page.locator("#till-S01-T01")
            assert till_row.locator("[data-col=mode]").inner_text() in ("online", "offline")
            assert till_row.locator("[data-col=last-sync]").inner_text() != "never"
            assert till_row.locator("[data-col=unsent]").inner_text() == "0"
            shot(page, "ho-dashboard")

            # Suspend S01: its next sync is refused with the reason, while the till
            # and the store go on; resumed, what the store held goes up.
            row.get_by_role("button", name="Suspend").click()
            expect(page.get_by_role("status")).to_contain_text("Sync of store S01 suspended")
            assert "suspended until" in row.locator("[data-col=sync]").inner_text()
            cli_json("pos", "sell", "--data", str(till), "SKU1:1", "--pay", "cash")
            cli("pos", "sync", "--data", str(till))
            refused = cli("store", "sync", "--db", store_url, check=False)
            assert refused.returncode == 1, refused.stdout
            assert "suspended by an administrator until" in refused.stderr
            assert "suspended" in (upstream.status(store) or {})["last_error"]
            row.get_by_role("button", name="Resume").click()
            expect(page.get_by_role("status")).to_contain_text("Sync of store S01 resumed")
            cli("store", "sync", "--db", store_url)
            assert (upstream.status(store) or {})["last_error"] is None
            # The dashboard takes the new receipt by its own refresh.
            expect(row.locator("[data-col=receipts]")).to_have_text("2", timeout=15_000)

        # Stock: S01's SKU1 as head office holds it, 40 received less 3 + 1 sold.
        page.locator("nav summary", has_text="Stock").click()
        page.get_by_role("link", name="On hand per store").click()
        cell = page.locator("#stock tr[data-sku=SKU1] td[data-store=S01]")
        assert cell.inner_text() == "36"
        page.get_by_label("Search SKU, barcode or name").fill("SKU2")
        page.get_by_role("button", name="Show").click()
        assert page.locator("#stock tbody tr").count() == 1
        shot(page, "ho-stock")

        # Add S02 from the console: its one-time join code, then the dashboard.
        page.locator("nav summary", has_text="Stores").click()
        page.get_by_role("link", name="Add store").click()
        page.get_by_label("Store id").fill("S02")
        page.get_by_label("Name", exact=True).fill("Harbour Road")
        page.get_by_role("button", name="Add store").click()
        join_code = page.locator("#join-code").inner_text()
        assert join_code and join_code in page.locator("#join-command").inner_text()
        page.get_by_role("link", name="Done").click()
        assert page.locator("#store-S02 [data-col=connection]").inner_text() == "never joined"
        ho_engine.dispose()
    store.dispose()

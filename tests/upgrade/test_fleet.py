"""A chain upgrades its store first and its tills over weeks: release 0.1.0's real
code (see release.py) against this release, in either order, on real processes.

Done means: a 0.1.0 store database with history and a 0.1.0 till with unsynced
sales, upgraded in either order, end with every receipt exactly once and the same
stock on both sides; a 0.1.0 till syncs with a 0.2.0 store on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from possync.retail import store_admin
from possync.retail.schema import receipt, receipt_line
from possync.retail.schema_version import HEAD, RELEASES, SINCE_0_1_0
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, read_tx
from tests.e2e.helpers import catalog_csv, cli, cli_json, make_store
from tests.upgrade import release
from tests.upgrade.checks import assert_in_step, documents, revision, till_engine
from tests.upgrade.conftest import Shop

pytestmark = pytest.mark.e2e
COPY = f"pre-{RELEASES[HEAD]}"  # the safety copies' suffix


def old(rel: Path, *args: str, expect: int | None = 0) -> str:
    return release.run(rel, *args, expect=expect).stdout


def old_status(rel: Path, till: Path) -> dict[str, object]:
    return orjson.loads(old(rel, "pos", "status", "--data", str(till), "--json"))


def store_row(till: Path) -> dict[str, object]:
    engine = till_engine(till)
    with read_tx(engine) as conn:
        row = dict(conn.execute(sa.text("SELECT * FROM store")).one()._mapping)
    engine.dispose()
    return row


def reprice(tmp_path: Path, url: str, price: str) -> None:
    """The store changes the price of SKU1 (a catalog import of one line)."""
    csv = f"sku,barcode,name,price,tax_code\nSKU1,4000000000001,Item 1,{price},STD\n"
    (tmp_path / "reprice.csv").write_text(csv)
    cli("store", "items", "import", str(tmp_path / "reprice.csv"), "--db", url)


def item_price(till: Path, sku: str) -> int:
    engine = till_engine(till)
    with read_tx(engine) as conn:
        price = conn.execute(sa.text("SELECT price FROM item WHERE sku = :s"), {"s": sku}).scalar()
    engine.dispose()
    return int(price)


def test_store_first_then_the_till_weeks_later(
    old_release: Path, shop_0_1_0: Shop, tmp_path: Path
) -> None:
    shop = shop_0_1_0
    till = str(shop.till)
    assert old_status(old_release, shop.till)["pending_changes"] == 27  # 6 sales, a return...
    upgraded = cli_json("store", "upgrade", "--db", shop.store_url)
    assert upgraded["applied"] == SINCE_0_1_0 and upgraded["to"]["release"] == RELEASES[HEAD]
    assert Path(upgraded["copy"]).name == f"store.db.{COPY}" and Path(upgraded["copy"]).exists()

    with StoreProcess(shop.store_url) as server:
        # The till still runs 0.1.0: it sends its unsynced sales to the upgraded store,
        # which completes their rows (a discount of 0 on every line).
        old(old_release, "pos", "sync", "--data", till, "--store-url", server.url)
        assert old_status(old_release, shop.till)["pending_changes"] == 0
        engine = open_engine(shop.store_url)
        assert_in_step(engine, shop.till)
        with read_tx(engine) as conn:
            discounts = conn.execute(sa.select(receipt_line.c.discount).distinct()).scalars()
            assert list(discounts) == [0]

        # The store changes a price and its address: the old till takes what it knows.
        reprice(tmp_path, shop.store_url, "9.99")
        cli(
            "store",
            "details",
            "--db",
            shop.store_url,
            "--address",
            "1 Main St",
            "--vat-number",
            "FR12",
        )
        old(old_release, "pos", "sync", "--data", till, "--store-url", server.url)
        assert item_price(shop.till, "SKU1") == 999
        assert set(store_row(shop.till)) == {"store_id", "name", "currency", "offline_enabled"}

        # Weeks later the till is upgraded (pos upgrade: what pos run does at start).
        cli("pos", "upgrade", "--data", till)
        assert (shop.till / f"terminal.db.{COPY}").exists()
        assert revision(till_engine(shop.till)) == HEAD
        sale = cli_json("pos", "sell", "--data", till, "SKU2:1", "--pay", "cash")
        cli("pos", "sync", "--data", till, "--store-url", server.url)
        # The store row, cut to 0.1.0's columns when it was pulled, was loaded again.
        row = store_row(shop.till)
        assert (row["address"], row["vat_number"]) == ("1 Main St", "FR12")
        assert not (shop.till / f"terminal.db.{COPY}").exists()  # dropped after the sync

    held = assert_in_step(engine, shop.till)
    assert sale["receipt_no"] in {r[1] for r in held["receipt"]}
    assert len(held["receipt"]) == 3 + 5 + 1 + 1  # synced, unsynced, the return, the new sale


def test_till_first_waits_for_its_store_and_keeps_selling(
    old_release: Path, shop_0_1_0: Shop
) -> None:
    shop = shop_0_1_0
    till = str(shop.till)
    cli("pos", "upgrade", "--data", till)
    store_engine = open_engine(shop.store_url)
    before = documents(store_engine, "T01")

    with release.OldStoreProcess(old_release, shop.store_url) as old_server:
        refused = cli("pos", "sync", "--data", till, "--store-url", old_server.url, expect=1)
        assert "must be upgraded first" in refused.stderr, refused.stderr
        assert "keeps working offline" in refused.stderr
        assert documents(store_engine, "T01") == before  # nothing reached the old store
        # The till keeps selling offline meanwhile.
        cli_json("pos", "sell", "--data", till, "SKU1:1", "--pay", "cash")
        status = cli_json("pos", "status", "--data", till)
        assert status["pending_changes"] > 27 and "upgraded first" in status["last_error"]

    cli("store", "upgrade", "--db", shop.store_url)
    with StoreProcess(shop.store_url) as server:
        cli("pos", "sync", "--data", till, "--store-url", server.url)
    held = assert_in_step(store_engine, shop.till)
    assert len(held["receipt"]) == 3 + 5 + 1 + 1
    assert cli_json("pos", "status", "--data", till)["pending_changes"] == 0


def test_a_0_1_0_till_is_provisioned_by_and_syncs_with_a_0_2_0_store(
    old_release: Path, db_url: str, tmp_path: Path
) -> None:
    engine = make_store(db_url)
    store_admin.set_details(engine, address="2 High St", vat_number="DE99")
    code = store_admin.add_terminal(engine, "T05").registration_code
    till = tmp_path / "T05"
    with StoreProcess(db_url) as server:
        # Synchronize with Store, by release 0.1.0: its initial load in its own shape.
        old(old_release, "pos", "init", "--data", str(till), "--store-url", server.url,
            "--terminal", "T05", "--code", code)  # fmt: skip
        for lines in (["SKU1:2"], ["SKU2:1", "SKU3:1"]):
            old(old_release, "pos", "sell", "--data", str(till), *lines, "--pay", "cash")
        old(old_release, "pos", "customer", "add", "--data", str(till), "Ada")
        old(old_release, "pos", "sync", "--data", str(till))
        store_admin.set_details(engine, address="3 High St")  # pulled, cut to its shape
        old(old_release, "pos", "return", "--data", str(till), "S01-T05-000001", "SKU1:1")
        old(old_release, "pos", "sync", "--data", str(till))
        assert old_status(old_release, till)["pending_changes"] == 0
        assert store_row(till)["name"] == "Main Street"
    held = assert_in_step(engine, till, "T05")
    assert len(held["receipt"]) == 3
    with read_tx(engine) as conn:
        kinds = conn.execute(sa.select(receipt.c.kind).where(receipt.c.terminal_id == "T05"))
        assert sorted(kinds.scalars()) == ["return", "sale", "sale"]


@pytest.mark.postgres
def test_a_0_1_0_store_on_postgres_is_upgraded_and_serves_its_old_till(
    old_release: Path, pg_url: str, tmp_path: Path
) -> None:
    till = tmp_path / "T01"
    old(old_release, "store", "init", "--db", pg_url, "--store", "S01", "--name", "Main Street")
    (tmp_path / "catalog.csv").write_text(catalog_csv(10))
    old(old_release, "store", "items", "import", str(tmp_path / "catalog.csv"), "--db", pg_url)
    old(old_release, "store", "stock", "adjust", "SKU1", "40", "--db", pg_url)
    code = orjson.loads(
        old(old_release, "store", "terminal", "add", "T01", "--db", pg_url, "--json")
    )
    with release.OldStoreProcess(old_release, pg_url) as server:
        old(old_release, "pos", "init", "--data", str(till), "--store-url", server.url,
            "--terminal", "T01", "--code", code["registration_code"])  # fmt: skip
        old(old_release, "pos", "sell", "--data", str(till), "SKU1:2", "--pay", "cash")
        old(old_release, "pos", "sync", "--data", str(till))
    for lines in (["SKU1:1"], ["SKU2:3", "SKU1:1"]):  # the store is down: unsynced
        old(old_release, "pos", "sell", "--data", str(till), *lines, "--pay", "card")

    refused = cli("store", "status", "--db", pg_url, expect=1)
    assert "run 'possync store upgrade --db" in refused.stderr
    upgraded = cli_json("store", "upgrade", "--db", pg_url)
    assert upgraded["applied"] == SINCE_0_1_0 and upgraded["copy"] is None
    engine = open_engine(pg_url)
    assert revision(engine) == HEAD

    with StoreProcess(pg_url) as server:
        old(old_release, "pos", "sync", "--data", str(till), "--store-url", server.url)
        cli("store", "details", "--db", pg_url, "--address", "4 Dock Rd")
        old(old_release, "pos", "sync", "--data", str(till), "--store-url", server.url)
        assert_in_step(engine, till)
        cli("pos", "upgrade", "--data", str(till))
        cli("pos", "sell", "--data", str(till), "SKU3:1", "--pay", "cash")
        cli("pos", "sync", "--data", str(till), "--store-url", server.url)
    assert store_row(till)["address"] == "4 Dock Rd"
    held = assert_in_step(engine, till)
    assert len(held["receipt"]) == 4


def test_pos_run_upgrades_its_till_at_start_then_syncs(shop_0_1_0: Shop, tmp_path: Path) -> None:
    shop = shop_0_1_0
    till = str(shop.till)
    cli("store", "upgrade", "--db", shop.store_url)
    log = tmp_path / "run.log"
    with StoreProcess(shop.store_url) as server, open(log, "wb") as out:
        agent = subprocess.Popen(
            [sys.executable, "-m", "possync", "pos", "run", "--data", till,
             "--interval", "0.3", "--max-backoff", "1", "--no-ui"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while revision(till_engine(shop.till)) != HEAD:
                assert agent.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert (shop.till / f"terminal.db.{COPY}").exists()
            # The fixture's store address is stale: point the running till at this one.
            cli("pos", "config", "--data", till, "--store-url", server.url)
            while cli_json("pos", "status", "--data", till)["pending_changes"]:
                assert agent.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            while (shop.till / f"terminal.db.{COPY}").exists():
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(30) == 0, log.read_text()
    assert f"upgraded to schema {HEAD}" in log.read_text()
    assert_in_step(open_engine(shop.store_url), shop.till)

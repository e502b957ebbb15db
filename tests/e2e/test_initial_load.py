"""Synchronize with Store: an initial load killed mid-way resumes from the last
committed chunk and ends identical to an uninterrupted one."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import catalog, store_admin
from possync.retail.schema import item, stock_level
from possync.store.process import StoreProcess
from possync.sync.db import read_tx, write_tx
from possync.sync.schema import sync_load_progress
from tests.e2e.helpers import catalog_csv, cli, make_store, terminal_engine

pytestmark = pytest.mark.e2e


def items_loaded(data: Path) -> int:
    try:
        with read_tx(terminal_engine(data)) as conn:
            return int(
                conn.execute(
                    sa.select(sync_load_progress.c.rows_loaded).where(
                        sync_load_progress.c.table_name == "item"
                    )
                ).scalar()
                or 0
            )
    except sa.exc.OperationalError:  # not created yet
        return 0


def table(data: Path, t: sa.Table) -> list[tuple[object, ...]]:
    with read_tx(terminal_engine(data)) as conn:
        return [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]


def test_killed_initial_load_resumes_and_matches_a_clean_one(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    with write_tx(store) as conn:
        catalog.import_csv(conn, catalog_csv(20_000))
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    with StoreProcess(db_url) as server:
        code = store_admin.add_terminal(store, "T01").registration_code
        args = [
            "pos",
            "init",
            "--data",
            str(killed),
            "--store-url",
            server.url,
            "--terminal",
            "T01",
            "--code",
            code,
            "--chunk-rows",
            "500",
        ]
        loading = subprocess.Popen(
            [sys.executable, "-m", "possync", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while items_loaded(killed) < 2_000 and time.monotonic() < deadline:
            time.sleep(0.01)
        loading.kill()  # SIGKILL in the middle of the item table
        loading.wait()
        at_kill = items_loaded(killed)
        assert 0 < at_kill < 20_000

        with store.begin() as conn:  # the store changes while the terminal is down
            conn.exec_driver_sql("UPDATE item SET price = 1 WHERE sku IN ('SKU7', 'SKU19999')")
        cli(*args)  # the same command again: resumes, does not register again
        assert items_loaded(killed) == 20_000  # nothing loaded twice

        clean_code = store_admin.add_terminal(store, "T02").registration_code
        cli(
            "pos",
            "init",
            "--data",
            str(clean),
            "--store-url",
            server.url,
            "--terminal",
            "T02",
            "--code",
            clean_code,
        )
        cli("pos", "sync", "--data", str(killed))
    assert table(killed, item) == table(clean, item)
    assert len(table(killed, item)) == 20_000
    assert table(killed, stock_level) == table(clean, stock_level)
    prices = {r[0]: r[3] for r in table(killed, item)}
    assert prices["SKU7"] == prices["SKU19999"] == 1

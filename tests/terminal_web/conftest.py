"""Fixtures of the cashier's screen tests: a store database, and a terminal set up
from it by offline backup (the real Create Offline Backup and Import Database, no
server needed), copied for each test so that tests never share a basket."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import cashiers, offline_backup, store_admin
from possync.sync.db import write_tx
from possync.terminal import restore
from tests.e2e.helpers import make_store

PIN = "2468"  # Ada's
PINS = {"ADA": PIN, "BOB": "1357"}
ITEMS = 50  # SKU1..SKU50, barcodes 5000000000001..; see tests.e2e.helpers.catalog_csv


def add_cashiers(store: sa.Engine) -> None:
    with write_tx(store) as conn:
        cashiers.save(conn, "ADA", "Ada Lovelace", pin=PINS["ADA"])
        cashiers.save(conn, "BOB", "Bob Page", pin=PINS["BOB"])


def provision_by_backup(
    store: sa.Engine, terminal: str, data: Path, store_url: str, tmp: Path
) -> None:
    """Add ``terminal`` on the store and set it up in ``data`` from a backup file."""
    store_admin.add_terminal(store, terminal)
    file = tmp / f"{terminal}.possync-backup"
    made = offline_backup.create(store, terminal, file, store_url=store_url)
    restore.import_backup(file, data, terminal, made.import_code)


@pytest.fixture(scope="module")
def template_terminal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store database and terminal T01 set up from it (store url: nothing listens)."""
    tmp = tmp_path_factory.mktemp("pos")
    store = make_store(f"sqlite:///{tmp / 'store.db'}", items=ITEMS)
    add_cashiers(store)
    with write_tx(store) as conn:  # an item withdrawn from sale
        conn.exec_driver_sql("UPDATE item SET active = 0 WHERE sku = 'SKU50'")
    provision_by_backup(store, "T01", tmp / "T01", "http://127.0.0.1:9", tmp)
    store.dispose()
    return tmp / "store.db", tmp / "T01"


@pytest.fixture
def terminal_dir(template_terminal: tuple[Path, Path], tmp_path: Path) -> Path:
    data = tmp_path / "T01"
    shutil.copytree(template_terminal[1], data)
    return data


@pytest.fixture
def client(terminal_dir: Path) -> Iterator[TestClient]:
    from possync.terminal.web.app import create_app

    with TestClient(create_app(terminal_dir), base_url="http://127.0.0.1:8700") as c:
        yield c  # leaving the context runs the app's shutdown, which closes the database

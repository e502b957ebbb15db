"""The till's first-start screen in real headless Chromium (issue 14): a real
``possync pos run`` on an empty directory next to a real store server process.
Synchronize with Store (a wrong code first: said, nothing made), the progress bar to
100 %, then the cashier's screen in the same process signs in and sells; Import
Database from a backup made by ``possync store terminal backup`` (a wrong code
first); a load cut by a crash continues where it stopped; once set up, the
first-start paths are gone. Screenshots: artifacts/screenshots/pos-first-start-*.png."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from possync.retail import store_admin
from possync.store.process import StoreProcess, free_port
from possync.sync import failpoints
from tests.browser import shot
from tests.e2e.helpers import cli_json, make_store, receipt_numbers
from tests.terminal_web.conftest import add_cashiers
from tests.terminal_web.test_browser import B1, scan, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@dataclass
class Store:
    engine: sa.Engine
    db_url: str
    server: StoreProcess


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store server for the module: each test sets up a till of its own."""
    tmp = tmp_path_factory.mktemp("first-start-store")
    db_url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_store(db_url, items=20)
    add_cashiers(engine)
    server = StoreProcess(db_url, log_path=tmp / "store.log").start()
    try:
        yield Store(engine, db_url, server)
    finally:
        server.kill()
        engine.dispose()


@dataclass
class Till:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def start_till(data: Path, log: Path, port: int | None = None, **env: str) -> Till:
    """``pos run`` on ``data`` (not set up): waits for the first-start screen."""
    port = port or free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "possync", "pos", "run", "--data", str(data)),
                *("--ui-port", str(port), "--interval", "3600", "--max-backoff", "3600"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/first-start", timeout=1).status_code == 200:
                return Till(proc, url, log)
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("pos run did not serve the first-start screen in time")


@pytest.fixture
def tills() -> Iterator[list[Till]]:
    started: list[Till] = []
    yield started
    for till in started:
        if till.proc.poll() is None:
            till.proc.kill()
            till.proc.wait()


def choose_mode(page: Any, url: str, offline: bool, name: str | None = None) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#mode-form")
    if name:
        shot(page, name)
    page.click("#offline-yes" if offline else "#offline-no")


def register(page: Any, url: str, terminal: str, code: str) -> None:
    page.wait_for_selector("#sync-form")
    page.fill("#f-store_url", url)
    page.fill("#f-terminal_id", terminal)
    page.fill("#f-code", code)
    page.click("#sync-submit")


def wait_set_up(page: Any) -> None:
    page.wait_for_selector("#setup-done", timeout=30_000)
    assert page.inner_text("#load-percent") == "100 %"
    assert page.get_attribute("#load-bar", "value") == "100"


def assert_first_start_gone(url: str) -> None:
    for method, path in (("GET", "/first-start"), ("POST", "/first-start/sync")):
        answer = httpx.request(method, url + path, timeout=5, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/"), path


def test_synchronize_with_store_then_sell(page: Any, store: Store, tmp_path: Path, tills) -> None:
    code = store_admin.add_terminal(store.engine, "T11").registration_code
    data = tmp_path / "T11"
    till = start_till(data, tmp_path / "run.log")
    tills.append(till)
    choose_mode(page, till.url, offline=True, name="pos-first-start")
    register(page, store.server.url, "T11", "WRONG-WRONG-WRONG")
    page.wait_for_selector("#e-code")
    assert "Check the terminal id (T11)" in page.inner_text("#e-code")
    assert page.input_value("#f-store_url") == store.server.url  # kept for the next try
    shot(page, "pos-first-start-sync-refused")
    assert not data.exists()  # a refused registration leaves nothing behind

    page.fill("#f-code", code)
    page.click("#sync-submit")
    wait_set_up(page)
    assert "Offline mode" in page.inner_text("#setup-done")
    assert "rows" in page.inner_text("#load-rows")
    shot(page, "pos-first-start-done")
    page.click("#open-screen")
    sign_in(page, till.url)  # the cashier's screen, in the same process
    assert page.inner_text("#mode") == "Offline mode"
    scan(page, B1, "#line-1")
    page.keyboard.press("F4")
    page.click("[data-fill='amount_CASH']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#receipt")
    assert page.inner_text("#receipt-no") == "S01-T11-000001"
    assert_first_start_gone(till.url)
    # the sync agent started with the cashier's screen: the sale reaches the store
    page.keyboard.press("F10")
    page.click("#op-sync")
    page.wait_for_selector("#op-result")
    assert "S01-T11-000001" in receipt_numbers(store.engine)
    assert "the cashier's screen replaces the first-start screen" in till.log.read_text()


def test_import_database_from_a_backup_file(page: Any, store: Store, tmp_path: Path, tills) -> None:
    store_admin.add_terminal(store.engine, "T12")
    file = tmp_path / "T12.possync-backup"
    made = cli_json(
        "store", "terminal", "backup", "T12", "--db", store.db_url, "--out", str(file),
        "--store-url", store.server.url,
    )  # fmt: skip
    code = made["import_code"]
    data = tmp_path / "T12"
    till = start_till(data, tmp_path / "run.log")
    tills.append(till)
    choose_mode(page, till.url, offline=False)
    page.wait_for_selector("#import-form")
    page.set_input_files("#f-backup", str(file))
    page.fill("#f-import_terminal_id", "T12")
    page.fill("#f-import_code", ("A" if code[0] != "A" else "B") + code[1:])
    page.click("#import-submit")
    page.wait_for_selector("#import-error")
    assert "the import code does not match T12.possync-backup" in page.inner_text("#import-error")
    shot(page, "pos-first-start-import-refused")
    assert not data.exists()

    page.set_input_files("#f-backup", str(file))
    page.fill("#f-import_code", code)
    page.click("#import-submit")
    wait_set_up(page)
    assert "Online mode" in page.inner_text("#setup-done")  # No: online, the store answers
    page.click("#open-screen")
    sign_in(page, till.url)
    assert page.inner_text("#mode") == "Online mode"
    assert_first_start_gone(till.url)


def test_an_interrupted_load_continues_where_it_stopped(
    page: Any, store: Store, tmp_path: Path, tills
) -> None:
    code = store_admin.add_terminal(store.engine, "T13").registration_code
    data, port = tmp_path / "T13", free_port()
    # A power cut just after the first chunk of the load is committed.
    crashing = start_till(data, tmp_path / "run.log", port, **{failpoints.ENV: "load-after-chunk"})
    tills.append(crashing)
    choose_mode(page, crashing.url, offline=True)
    register(page, store.server.url, "T13", code)
    assert crashing.proc.wait(20) == -9

    till = start_till(data, tmp_path / "run.log", port)
    tills.append(till)
    choose_mode(page, till.url, offline=True)
    page.wait_for_selector("#continue-loading")
    said = page.inner_text("#continue")
    assert "registered with the store as T13" in said and "rows)" in said
    shot(page, "pos-first-start-continue")
    page.click("#continue-loading")
    wait_set_up(page)
    page.click("#open-screen")
    sign_in(page, till.url)
    assert_first_start_gone(till.url)

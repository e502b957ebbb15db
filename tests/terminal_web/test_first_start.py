"""The till's first-start screen in process (issue 14): the first screen's question,
Import Database from a backup file sent as a form (a wrong code and a forged form
change nothing), bounded bodies, a store that cannot be reached said in words,
and the hand-over to the cashier's screen, after which no first-start path is left.
The set-up over the network, end to end with a real store, is in
test_first_start_browser.py."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import offline_backup, store_admin
from possync.store.process import free_port
from possync.sync.db import open_engine
from possync.terminal import modes
from possync.terminal.local import Terminal
from possync.terminal.web.app import SIGN_IN_LIMIT, create_app
from possync.terminal.web.first_start import (
    COOKIE,
    MAX_BACKUP_BYTES,
    TillScreen,
    create_first_start_app,
)
from possync.terminal.web.first_start_jobs import DONE, NEW, READY, SetupJob, inspect
from tests.e2e.helpers import make_store
from tests.terminal_web.conftest import add_cashiers
from tests.terminal_web.test_pos_run import pos_run, wait_for

BASE = "http://127.0.0.1:8700"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    engine = make_store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}", items=20)
    add_cashiers(engine)
    yield engine
    engine.dispose()


def backup_of(store: sa.Engine, terminal: str, tmp: Path) -> tuple[Path, str]:
    """A fresh offline backup of ``terminal`` (added on the store if need be)."""
    store_admin.add_terminal(store, terminal)
    file = tmp / f"{terminal}.possync-backup"
    made = offline_backup.create(store, terminal, file, store_url="http://127.0.0.1:9")
    return file, made.import_code


def mistyped(code: str) -> str:
    """``code`` with its first character wrong (well formed: it names the right key)."""
    return ("A" if code[0] != "A" else "B") + code[1:]


def token(client: TestClient) -> str:
    """The form token, as the first page sets it (cookie) and writes it (field)."""
    page = client.get("/first-start/setup?offline=yes")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found and client.cookies.get(COOKIE) == found[1]
    return found[1]


def send_backup(
    client: TestClient, file: Path, terminal: str, code: str, csrf: str, offline: str = "yes"
) -> object:
    return client.post(
        "/first-start/import",
        data={
            "csrf_token": csrf,
            "offline": offline,
            "import_terminal_id": terminal,
            "import_code": code,
        },
        files={"backup": (file.name, file.read_bytes(), "application/octet-stream")},
        follow_redirects=False,
    )


def wait_done(job: SetupJob, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while job.snapshot().state != DONE:
        assert time.monotonic() < deadline, job.snapshot()
        assert job.snapshot().state != "failed", job.snapshot()
        time.sleep(0.05)


def test_the_first_screen_asks_for_the_mode_under_the_screens_rules(tmp_path: Path) -> None:
    with TestClient(create_first_start_app(tmp_path / "T01"), base_url=BASE) as client:
        first = client.get("/")
        assert first.url.path == "/first-start"
        assert "Run this till in offline mode?" in first.text
        assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
        setup = client.get("/first-start/setup?offline=no")
        assert "Synchronize with Store" in setup.text and "Import Database" in setup.text
        assert 'id="mode-chosen">online' in setup.text
        assert client.get("/first-start/setup").url.path == "/first-start"  # no answer yet
        assert client.get("/signin").status_code == 404  # no cashier's screen yet
    assert not (tmp_path / "T01").exists()  # asking changes nothing


def test_import_database_refuses_a_wrong_code_and_a_forged_form_then_imports(
    store: sa.Engine, tmp_path: Path
) -> None:
    file, code = backup_of(store, "T05", tmp_path)
    data = tmp_path / "till"
    job = SetupJob(data)
    with TestClient(create_first_start_app(data, job), base_url=BASE) as client:
        csrf = token(client)
        wrong = send_backup(client, file, "T05", mistyped(code), csrf)
        assert wrong.status_code == 422 and 'id="import-error"' in wrong.text
        assert "the import code does not match T05.possync-backup" in wrong.text
        assert "possync-upload" not in wrong.text  # the upload's temporary place is not shown
        other = send_backup(client, file, "T09", code, csrf)
        assert other.status_code == 422 and "T09" in other.text
        forged = send_backup(client, file, "T05", code, "not-the-token")
        assert forged.status_code == 403 and "Nothing was changed" in forged.text
        assert not data.exists() and inspect(data).state == NEW

        done = send_backup(client, file, "T05", code, csrf)
        assert done.status_code == 303 and done.headers["location"] == "/first-start/progress"
        wait_done(job)
        page = client.get("/first-start/progress")
        assert 'id="setup-done"' in page.text and "100 %" in page.text
        assert "Offline mode" in page.text
        assert job.seen.is_set() and job.ready.is_set()
        again = send_backup(client, file, "T05", code, csrf)  # a set-up is done: not again
        assert again.status_code == 303
    assert inspect(data).state == READY
    term = Terminal.open(data)
    try:
        assert term.terminal_id == "T05"
        assert modes.current(term) == modes.OFFLINE
    finally:
        term.close()


def test_bodies_are_bounded_and_a_store_that_does_not_answer_is_said_in_words(
    tmp_path: Path,
) -> None:
    data = tmp_path / "till"
    with TestClient(create_first_start_app(data), base_url=BASE) as client:
        csrf = token(client)
        form = {"content-type": "application/x-www-form-urlencoded"}
        big = client.post(
            "/first-start/sync", content=b"code=" + b"1" * SIGN_IN_LIMIT, headers=form
        )
        assert big.status_code == 413
        declared = {"content-type": "multipart/form-data; boundary=x"}
        declared["content-length"] = str(MAX_BACKUP_BYTES + 2 * 1024 * 1024)
        assert client.post("/first-start/import", headers=declared).status_code == 413

        missing = client.post(
            "/first-start/sync", data={"csrf_token": csrf, "offline": "yes", "store_url": ""}
        )
        assert missing.status_code == 422
        assert "enter the store&#39;s address" in missing.text
        assert "enter the registration code" in missing.text
        down = client.post(
            "/first-start/sync",
            data={
                "csrf_token": csrf,
                "offline": "yes",
                "store_url": "http://127.0.0.1:9",
                "terminal_id": "T01",
                "code": "ABCD-EFGH",
            },
        )
        assert down.status_code == 422
        assert "cannot reach the store: nothing answers at 127.0.0.1:9" in down.text
        assert "Errno" not in down.text
    assert not data.exists()  # a registration that fails leaves nothing behind


def test_the_cashiers_screen_takes_over_and_the_first_start_paths_are_gone(
    store: sa.Engine, tmp_path: Path
) -> None:
    file, code = backup_of(store, "T06", tmp_path)
    data = tmp_path / "till"
    ready: list[str] = []
    screen = TillScreen(data, lambda: create_app(data), lambda: ready.append("agent"))
    with TestClient(screen, base_url=BASE) as client:
        csrf = token(client)
        assert send_backup(client, file, "T06", code, csrf, offline="no").status_code == 303
        wait_done(screen.job)
        outcome = client.get("/first-start/status").text  # shown once: the hand-over follows
        assert 'id="setup-done"' in outcome
        # The store of the backup does not answer: online mode waits for it, and says so.
        assert "Offline mode" in outcome and "Enable Online POS" in outcome
        deadline = time.monotonic() + 10
        while not ready:
            assert time.monotonic() < deadline, "no hand-over"
            time.sleep(0.05)
        assert ready == ["agent"]
        assert client.get("/").url.path == "/signin"
        assert "Cashier sign-in" in client.get("/signin").text
        for path in ("/first-start", "/first-start/setup?offline=yes", "/first-start/progress"):
            gone = client.get(path, follow_redirects=False)
            assert (gone.status_code, gone.headers["location"]) == (303, "/"), path
        replay = send_backup(client, file, "T06", code, csrf)
        assert (replay.status_code, replay.headers["location"]) == (303, "/")
        polled = client.get("/first-start/status", headers={"hx-request": "true"})
        assert polled.headers["hx-redirect"] == "/"
    # the cashier's screen's own shutdown ran (it closed its database): the till opens
    assert open_engine(f"sqlite:///{data / 'terminal.db'}").dispose() is None


def test_pos_run_on_an_empty_directory_serves_the_first_start_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    data, port = tmp_path / "empty", free_port()
    data.mkdir()
    refused = subprocess.run(  # sync only: nothing to show the first start on, as before
        [sys.executable, "-m", "possync", "pos", "run", "--data", str(data), "--no-ui"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "no terminal database" in refused.stderr
    proc = pos_run(data, tmp_path / "run.log", "--ui-port", str(port))
    try:
        wait_for(tmp_path / "run.log", f"the first-start screen is on http://127.0.0.1:{port}")
        page = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True, timeout=5)
        assert "Run this till in offline mode?" in page.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "run.log").read_text()
    assert "stopped" in log and "sync" not in log.split("first-start screen is on")[1]
    assert list(data.iterdir()) == []  # nothing made until a set-up is asked for

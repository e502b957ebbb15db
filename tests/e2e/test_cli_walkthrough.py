"""The command line as the walk-through used it (issue 14): a spreadsheet's catalog,
a store server that says where it serves, and a till set up with the wrong address,
the wrong code, then the right ones, each failure in one line that says what to do,
leaving nothing half made. The servers are real processes; the commands under test
run in this process (the installed command's code, without an interpreter start
for each: as processes they took 50 s on the busy test machine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from possync.cli import main
from possync.retail import store_admin
from possync.store.process import StoreProcess, free_port
from possync.sync.db import open_engine

pytestmark = pytest.mark.e2e


def possync(*args: str, expect: int = 0) -> str:
    """Run ``possync ARGS``: what it printed, wrapped lines joined, checked to be an
    answer (no traceback, no raw HTML) with the exit code expected."""
    result = CliRunner().invoke(main.app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    out = result.stdout + result.stderr
    assert result.exit_code == expect, (result.exit_code, out, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), out
    assert "Traceback" not in out and "<html" not in out.lower(), out
    return " ".join(out.split())


def pos_init(data: Path, url: str, terminal: str, code: str, expect: int = 0) -> str:
    args = ("--data", str(data), "--store-url", url, "--terminal", terminal, "--code", code)
    return possync("pos", "init", *args, expect=expect)


def test_a_spreadsheets_catalog_is_imported_and_reported(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    possync("store", "init", "--db", db, "--store", "S01", "--name", "Main")
    export = tmp_path / "catalogue.csv"
    _french_export(export, "3,50")
    said = possync("store", "items", "import", str(export), "--db", db)
    assert "Imported 2 items (read as Windows-1252 (Latin-1), separated by semicolons)" in said
    assert "2 added" in said and "added A1, A2" in said
    _french_export(export, "3,20")
    said = possync("store", "items", "import", str(export), "--db", db)
    assert "1 changed, 1 unchanged" in said
    assert "changed A1 (Crème brûlée): price 3.50 -> 3.20" in said
    clash = tmp_path / "clash.csv"
    clash.write_text("sku,barcode,name,price,tax_code\nA3,222,Tea,1.00,STD\n")
    refused = possync("store", "items", "import", str(clash), "--db", db, expect=1)
    assert "catalog not imported, nothing changed: line 2: barcode 222 is already item A2's" in (
        refused
    )


def _french_export(path: Path, price: str) -> None:
    """A spreadsheet's export in France: Windows-1252, semicolons, decimal commas."""
    lines = ["sku;barcode;name;price;tax_code", f"A1;111;Crème brûlée;{price};RED"]
    path.write_bytes("\r\n".join([*lines, "A2;222;Thé;1,20;STD", ""]).encode("cp1252"))


def test_serving_and_setting_up_a_till_say_what_to_do(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_engine(db)
    store_admin.init_store(engine, "S01", "Main")
    code = store_admin.add_terminal(engine, "T01").registration_code
    log = tmp_path / "serve.log"
    with StoreProcess(db, log_path=log) as server:
        url = server.url
        assert (
            f"store server on {url}: sync API {url}/api/v1/ (tills' --store-url {url}), "
            f"web console {url}/console/" in " ".join(log.read_text().split())
        )
        # a wrong code: the store refuses, the till says what to do, nothing is left
        data = tmp_path / "t01"
        refused = pos_init(data, url, "T01", "WRONG-CODE", expect=1)
        assert "no pending registration for T01 with that code" in refused
        assert "ask the store for a new code ('possync store terminal add T01'" in refused
        assert not data.exists()
        data.mkdir()  # a directory made beforehand stays, empty
        pos_init(data, url, "T01", "WRONG-CODE", expect=1)
        assert list(data.iterdir()) == []
        # the right code: set up, and the store's address cannot be made a wrong one
        assert "terminal T01 ready" in pos_init(data, url, "T01", code)
        bad = possync("pos", "config", "--data", str(data), "--store-url", "htp:/wrong", expect=1)
        assert "the store address must be http(s)://HOST[:PORT], got 'htp:/wrong'" in bad
        assert f"store url: {url}" in possync("pos", "config", "--data", str(data))

        # another till pointed at T01's own screen instead of the store: one line
        port = free_port()
        other = tmp_path / "t02"
        code2 = store_admin.add_terminal(engine, "T02").registration_code
        with _pos_run(data, tmp_path / "run.log", port):
            assert pos_init(other, f"http://127.0.0.1:{port}", "T02", code2, expect=1) == (
                f"error: http://127.0.0.1:{port} answers, but it is not a possync store "
                "server: give the store's address as 'possync store serve' prints it (e.g. "
                "http://store:8600; a till's own screen, port 8700, is not one)"
            )
            assert not other.exists()
        # and the code was not spent: the right address takes it
        assert "terminal T02 ready" in pos_init(other, url, "T02", code2)


class _pos_run:
    """``possync pos run`` serving the cashier's screen on ``port``, until left."""

    def __init__(self, data: Path, log: Path, port: int) -> None:
        self.args = [sys.executable, "-m", "possync", "pos", "run", "--data", str(data)]
        self.args += ["--ui-port", str(port), "--interval", "3600"]
        self.log, self.url = log, f"http://127.0.0.1:{port}/signin"

    def __enter__(self) -> None:
        with open(self.log, "wb") as out:
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"the till's screen did not start:\n{self.log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

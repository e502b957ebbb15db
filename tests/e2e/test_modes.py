"""Online and offline modes, Enable Online POS, and the scheduled sync agent,
against a real store server process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail.schema import receipt
from possync.store.process import StoreProcess
from possync.sync.db import open_engine
from tests.e2e.helpers import (
    ON_POSTGRES,
    ON_SQLITE,
    cli,
    cli_json,
    count,
    make_store,
    pos_init,
    terminal_engine,
)

pytestmark = pytest.mark.e2e


def provision(db_url: str, tmp_path: Path, server: StoreProcess, terminal: str = "T01") -> str:
    pos_init(open_engine(db_url), server.url, tmp_path / terminal, terminal)
    return str(tmp_path / terminal)


def test_online_sales_are_confirmed_or_refused(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    server = StoreProcess(db_url).start()
    data = provision(db_url, tmp_path, server)
    assert cli_json("pos", "status", "--data", data)["mode"] == "offline"
    assert cli_json("pos", "online", "--data", data)["mode"] == "online"

    sale = cli_json("pos", "sell", "--data", data, "SKU1", "--pay", "cash")
    assert sale["confirmed"] is True and sale["mode"] == "online"
    assert count(store, receipt) == 1  # on the store as soon as the sale is done

    server.stop()
    refused = cli("pos", "sell", "--data", data, "SKU1", "--pay", "cash", expect=1)
    assert "sale refused: the store cannot confirm sales now" in refused.stderr
    with terminal_engine(Path(data)).connect() as conn:  # nothing recorded, no number used
        assert conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar() == 1

    cli("pos", "config", "--data", data, "--fallback")
    fell_back = cli_json("pos", "sell", "--data", data, "SKU1", "--pay", "cash")
    assert fell_back["mode"] == "offline" and fell_back["confirmed"] is False
    assert "switched to OFFLINE" in fell_back["note"]
    assert fell_back["receipt_no"] == "S01-T01-000002"
    assert cli_json("pos", "status", "--data", data)["mode"] == "offline"


@ON_POSTGRES
def test_enable_online_pos_drains_pending_work_first(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        data = provision(db_url, tmp_path, server)
    for _ in range(3):
        cli_json("pos", "sell", "--data", data, "SKU2", "--pay", "cash")
    failed = cli("pos", "online", "--data", data, expect=3)
    assert "still OFFLINE" in failed.stderr
    assert cli_json("pos", "status", "--data", data)["mode"] == "offline"

    with StoreProcess(db_url, port=server.port):
        switched = cli_json("pos", "online", "--data", data)
        assert switched["mode"] == "online" and switched["pushed"] > 0
        assert count(store, receipt) == 3
        status = cli_json("pos", "status", "--data", data)
        assert status["pending_changes"] == 0 and status["mode"] == "online"
        assert cli("pos", "offline", "--data", data).returncode == 0
        assert cli_json("pos", "status", "--data", data)["mode"] == "offline"


def backoff_waits(log_text: str) -> list[float]:
    return [float(w) for w in re.findall(r"retrying in ([0-9.]+)s", log_text)]


def backed_off_twice(log_text: str) -> bool:
    """Two failed syncs and two different waits: enough to see the jitter."""
    return log_text.count("sync failed") >= 2 and len(set(backoff_waits(log_text))) > 1


def until(log: Path, condition: Callable[[str], bool], timeout: float = 30) -> str:
    """The log's text as soon as it meets ``condition``; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition(text := log.read_text()):
        assert time.monotonic() < deadline, f"not seen within {timeout} s:\n{text}"
        time.sleep(0.05)
    return text


@ON_SQLITE
def test_agent_backs_off_while_the_store_is_down_and_catches_up(
    db_url: str, tmp_path: Path
) -> None:
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        data = provision(db_url, tmp_path, server)
    log = open(tmp_path / "agent.log", "w")  # noqa: SIM115
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "possync",
            "pos",
            "run",
            "--data",
            data,
            "--interval",
            "0.3",
            "--max-backoff",
            "1.5",
            "--no-ui",  # the cashier's screen has its own tests
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(4):  # sales never wait on the agent
            cli_json("pos", "sell", "--data", data, "SKU3", "--pay", "cash")
        # Wait for the failures themselves, not for a guessed time: a busy machine
        # only makes this take longer, never makes it fail.
        text = until(tmp_path / "agent.log", backed_off_twice)
        assert text.count("sync failed") >= 2
        waits = backoff_waits(text)
        assert max(waits) <= 1.5  # capped by --max-backoff, jittered below it
        assert len(set(waits)) > 1
        with StoreProcess(db_url, port=server.port):
            deadline = time.monotonic() + 20
            while count(store, receipt) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert count(store, receipt) == 4
            # a manual sync while the agent runs is safe: they take turns
            for _ in range(3):
                cli("pos", "sync", "--data", data)
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(15) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
        log.close()
    assert "stopping after the current batch" in (tmp_path / "agent.log").read_text()
    assert cli_json("pos", "status", "--data", data)["pending_changes"] == 0

"""``possync pos run`` serves the cashier's screen beside the sync agent; a taken
port does not stop the syncing, and SIGTERM stops everything cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from possync.store.process import free_port


def pos_run(data: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "possync", "pos", "run", "--data", str(data), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(log: Path, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text()
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the log:\n{log.read_text()}")


def test_a_taken_port_leaves_the_sync_running(terminal_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = pos_run(terminal_dir, tmp_path / "run.log", "--ui-port", str(port))
        try:
            wait_for(tmp_path / "run.log", "the cashier's screen could not start")
            wait_for(tmp_path / "run.log", "sync failed")  # the agent carries on
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_no_ui_serves_nothing(terminal_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = pos_run(terminal_dir, tmp_path / "run.log", "--no-ui", "--ui-port", str(port))
    try:
        log = wait_for(tmp_path / "run.log", "sync failed")
        assert "cashier's screen" not in log
        with pytest.raises(httpx.TransportError):  # nothing listens on the screen's port
            httpx.get(f"http://127.0.0.1:{port}/signin", timeout=1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()

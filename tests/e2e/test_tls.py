"""TLS with real processes on loopback (issue 11): ``store serve`` over HTTPS with a
certificate made here; a till that trusts the store's CA (``--ca-file``) registers,
sells and syncs through it, and without that CA is refused with a clear message,
having changed nothing; the cashier's screen over HTTPS, and never in clear beyond
this machine without saying so."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import trustme

from possync.retail import store_admin
from possync.retail.schema import receipt
from possync.store.process import StoreProcess, free_port
from possync.sync.db import read_tx
from possync.sync.schema import sync_peer
from tests.e2e.helpers import cli, cli_json, count, make_store

pytestmark = pytest.mark.e2e


class Pki:
    def __init__(self, tmp: Path) -> None:
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        self.ca, self.cert, self.key = tmp / "ca.pem", tmp / "store.pem", tmp / "store.key"
        ca.cert_pem.write_to_path(str(self.ca))
        leaf.private_key_pem.write_to_path(str(self.key))
        self.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        # another CA, that did not sign the store's certificate
        self.other_ca = tmp / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(self.other_ca))


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def store(tmp_path: Path, pki: Pki) -> Iterator[tuple[StoreProcess, sa.Engine]]:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    server = StoreProcess(
        db_url, log_path=tmp_path / "store.log", tls=(pki.cert, pki.key), ca_file=pki.ca
    )
    with server:
        yield server, engine
    engine.dispose()


def registered(engine: sa.Engine, terminal: str) -> bool:
    with read_tx(engine) as conn:
        return (
            conn.execute(
                sa.select(sync_peer.c.registered_at).where(sync_peer.c.node_id == terminal)
            ).scalar_one()
            is not None
        )


def pos_init(data: Path, url: str, code: str, *extra: str, expect: int) -> str:
    done = cli(
        "pos", "init", "--data", str(data), "--store-url", url, "--terminal", "T01",
        "--code", code, *extra, expect=expect,
    )  # fmt: skip
    return " ".join((done.stdout + done.stderr).split())  # as one line: rich wraps it


def test_a_till_syncs_over_https_with_the_stores_ca_and_is_refused_without_it(
    store: tuple[StoreProcess, sa.Engine], pki: Pki, tmp_path: Path
) -> None:
    server, engine = store
    assert server.url.startswith("https://")
    code = store_admin.add_terminal(engine, "T01").registration_code
    data = tmp_path / "t01"

    # without the store's CA: refused before the code is sent, nothing registered
    for extra in ((), ("--ca-file", str(pki.other_ca))):
        out = pos_init(data, server.url, code, *extra, expect=3)
        assert "its TLS certificate is not trusted here" in out, out
        assert "possync pos config --ca-file" in out and "Traceback" not in out
        assert not registered(engine, "T01")
    # over plain http to the https port: refused too
    assert "cannot reach" in pos_init(data, server.url.replace("https", "http"), code, expect=3)
    assert not registered(engine, "T01")

    # with it: registered and loaded over TLS, and it sells and syncs
    out = pos_init(data, server.url, code, "--ca-file", str(pki.ca), expect=0)
    assert "terminal T01 ready" in out
    cli("pos", "sell", "--data", str(data), "SKU1:2", "--pay", "cash")
    cli("pos", "sync", "--data", str(data))
    assert count(engine, receipt) == 1
    config = cli("pos", "config", "--data", str(data)).stdout
    assert "checked against: the CA given with --ca-file" in config
    assert cli_json("pos", "status", "--data", str(data))["store_reachable"] is True

    # forgetting the CA: the system's CAs do not know this store; nothing is lost
    cli("pos", "config", "--data", str(data), "--system-ca")
    cli("pos", "sell", "--data", str(data), "SKU2", "--pay", "cash")
    refused = cli("pos", "sync", "--data", str(data), expect=3)
    assert "its TLS certificate is not trusted here" in " ".join(refused.stderr.split())
    assert count(engine, receipt) == 1
    cli("pos", "config", "--data", str(data), "--ca-file", str(pki.ca))
    cli("pos", "sync", "--data", str(data))
    assert count(engine, receipt) == 2


def test_bad_ca_files_are_refused_before_anything_changes(
    store: tuple[StoreProcess, sa.Engine], pki: Pki, tmp_path: Path
) -> None:
    server, engine = store
    code = store_admin.add_terminal(engine, "T01").registration_code
    data = tmp_path / "t01"
    missing = pos_init(data, server.url, code, "--ca-file", str(tmp_path / "nope.pem"), expect=1)
    assert "cannot read the CA file" in missing
    assert "holds no PEM certificate" in pos_init(
        data, server.url, code, "--ca-file", str(pki.key), expect=1
    )
    assert not data.exists() and not registered(engine, "T01")


def test_store_serve_refuses_unusable_tls_files(pki: Pki, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(db, items=5).dispose()
    port = str(free_port())
    cases = {
        ("--tls-cert", str(pki.cert)): "--tls-cert and --tls-key go together",
        ("--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(pki.key)): "cannot read "
        "--tls-cert",
        ("--tls-cert", str(pki.cert), "--tls-key", str(pki.cert)): "cannot serve TLS",
        ("--tls-cert", str(pki.other_ca), "--tls-key", str(pki.key)): "cannot serve TLS",
    }
    for args, message in cases.items():
        done = cli("store", "serve", "--db", db, "--port", port, *args, expect=1)
        assert message in " ".join(done.stderr.split()), done.stderr
        assert "Traceback" not in done.stderr


# -- the cashier's screen ------------------------------------------------------------------


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


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def till(store: tuple[StoreProcess, sa.Engine], pki: Pki, tmp_path: Path) -> Path:
    server, engine = store
    code = store_admin.add_terminal(engine, "T01").registration_code
    data = tmp_path / "t01"
    pos_init(data, server.url, code, "--ca-file", str(pki.ca), expect=0)
    return data


def test_the_cashiers_screen_over_https(till: Path, pki: Pki, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "run.log"
    proc = pos_run(
        till, log, "--ui-port", str(port), "--tls-cert", str(pki.cert), "--tls-key", str(pki.key)
    )
    try:
        wait_for(log, f"starting the cashier's screen on https://127.0.0.1:{port}")
        page = None
        for _ in range(100):
            try:
                page = httpx.get(f"https://127.0.0.1:{port}/signin", verify=str(pki.ca))
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert page is not None and page.status_code == 200 and "PIN" in page.text
        with pytest.raises(httpx.TransportError):  # no plain HTTP on that port
            httpx.get(f"http://127.0.0.1:{port}/signin", timeout=2)
    finally:
        stop(proc)
    assert proc.returncode == 0


def test_the_screen_beyond_loopback_needs_tls_or_a_loud_insecure_flag(
    till: Path, tmp_path: Path
) -> None:
    port = str(free_port())
    refused = cli("pos", "run", "--data", str(till), "--ui-host", "0.0.0.0", "--ui-port", port,
                  expect=1)  # fmt: skip
    said = " ".join(refused.stderr.split())
    assert "PINs would travel in clear" in said and "--insecure-http" in said

    log = tmp_path / "insecure.log"
    proc = pos_run(till, log, "--ui-host", "0.0.0.0", "--ui-port", port, "--insecure-http")
    try:
        text = wait_for(log, "starting the cashier's screen on http://0.0.0.0")
        assert "INSECURE: the cashier's screen is served over plain HTTP on 0.0.0.0" in text
    finally:
        stop(proc)

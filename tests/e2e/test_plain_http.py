"""Plain HTTP only when asked for by name (issue 11): ``store serve`` beyond loopback
without TLS is refused unless ``--insecure-http``, which the dashboard and ``store
status`` then show; a till accepts a plain ``http://`` store on another machine only
with ``--insecure-http`` and says so in ``pos status``. Real processes."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest

from possync.retail import store_admin
from possync.retail.schema import receipt
from possync.store.console import accounts
from possync.store.process import StoreProcess, free_port
from possync.sync.db import write_tx
from tests.e2e.helpers import cli, cli_json, count, make_store
from tests.e2e.test_tls import pos_init, registered

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


def dashboard(url: str) -> str:
    """The dashboard as an administrator sees it, signed in over the wire."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as web:
        token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/console/login").text)
        assert token is not None
        answer = web.post(
            "/console/login",
            data={"username": "admin", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 200 and "Replication dashboard" in answer.text
        return answer.text


def test_store_serve_beyond_loopback_needs_tls_or_the_flag_the_dashboard_shows(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    with write_tx(engine) as conn:
        accounts.add_admin(conn, "admin", PASSWORD)
    port = free_port()

    refused = cli("store", "serve", "--db", db_url, "--host", "0.0.0.0", "--port", str(port),
                  expect=1)  # fmt: skip
    said = " ".join(refused.stderr.split())
    assert "would travel in clear" in said and "--insecure-http" in said
    with pytest.raises(httpx.TransportError):  # it never listened
        httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)

    # on loopback, plain HTTP is what it always was (a TLS proxy may sit in front)
    with StoreProcess(db_url, log_path=tmp_path / "loopback.log") as server:
        page = dashboard(server.url)
        assert 'id="plain-http"' in page and "this machine only" in page
        assert cli_json("store", "status", "--db", db_url)["serving"]["beyond_loopback"] is False

    log = tmp_path / "insecure.log"
    extra = ["--host", "0.0.0.0", "--insecure-http"]
    with StoreProcess(db_url, port=port, log_path=log, extra_args=extra) as server:
        page = dashboard(server.url)
        banner = re.search(r'<div class="notice bad" id="plain-http"[^>]*>(.*?)</div>', page, re.S)
        assert banner is not None, page
        text = " ".join(re.sub(r"<[^>]+>", "", banner.group(1)).split())
        assert text.startswith("Plain HTTP: this store is served without TLS on 0.0.0.0:")
        assert "travel in clear" in text
        serving = cli_json("store", "status", "--db", db_url)["serving"]
        assert serving["scheme"] == "http" and serving["host"] == "0.0.0.0"
        assert serving["beyond_loopback"] is True and serving["insecure_http"] is True
        human = " ".join(cli("store", "status", "--db", db_url).stdout.split())
        assert f"served over PLAIN HTTP on 0.0.0.0:{port}" in human
    assert "INSECURE: the store is served over plain HTTP on 0.0.0.0" in log.read_text()
    engine.dispose()


def local_name() -> str:
    """This machine's name, which resolves to one of its addresses: not loopback by
    name, so plain HTTP to it needs the flag, yet the store listening on 0.0.0.0
    answers it."""
    name = socket.gethostname()
    try:
        socket.getaddrinfo(name, None)
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    return name


def test_a_till_takes_plain_http_to_another_machine_only_with_the_flag(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    code = store_admin.add_terminal(engine, "T01").registration_code
    data = tmp_path / "t01"
    extra = ["--host", "0.0.0.0", "--insecure-http"]
    with StoreProcess(db_url, log_path=tmp_path / "store.log", extra_args=extra) as server:
        url = f"http://{local_name()}:{server.port}"
        refused = pos_init(data, url, code, expect=1)
        assert "plain HTTP to another machine" in refused and "--insecure-http" in refused
        assert not data.exists() and not registered(engine, "T01")

        assert "ready" in pos_init(data, url, code, "--insecure-http", expect=0)
        cli("pos", "sell", "--data", str(data), "SKU1", "--pay", "cash")
        cli("pos", "sync", "--data", str(data))
        assert count(engine, receipt) == 1
        status = cli_json("pos", "status", "--data", str(data))
        assert status["store_plain_http"] is True and status["store_insecure_http"] is True
        assert status["store_tls"] == "plain-http" and status["store_reachable"] is True
        config = " ".join(cli("pos", "config", "--data", str(data)).stdout.split())
        assert "PLAIN HTTP to another machine (--insecure-http)" in config

        # moving to another plain address needs the flag again; loopback does not
        moved = cli("pos", "config", "--data", str(data), "--store-url",
                    f"http://{local_name()}:{server.port + 1}", expect=1)  # fmt: skip
        assert "--insecure-http" in " ".join(moved.stderr.split())
        cli("pos", "config", "--data", str(data), "--store-url", server.url)
        status = cli_json("pos", "status", "--data", str(data))
        assert status["store_plain_http"] is True and status["store_insecure_http"] is False
    engine.dispose()

"""Head office's console in process (TestClient, head office on SQLite): the store
console's protections from the same code (sign-in with its own cookie, CSRF,
guessing limits, body limits, security headers), and what its pages do: suspend
and resume a store (its syncs refused meanwhile, saying until when), add a store,
and the commands behind them (``ho admin add``, ``ho store suspend/resume``)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from possync.cli import main
from possync.headoffice.app import create_app
from possync.retail import catalog, chain
from possync.retail.replication import SPEC
from possync.retail.schema import admin_log
from possync.sync import peers
from possync.sync.db import open_engine, read_tx, write_tx
from possync.webui import accounts, signin
from possync.webui.console_setup import SIGN_IN_LIMIT
from tests.store_console.conftest import PASSWORD, field_errors, login_token, sign_in

CATALOG = "sku,barcode,name,price,tax_code\nSKU1,5000000000001,Item 1,1.50,STD\n"


@pytest.fixture
def head_office(tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    url = f"sqlite:///{tmp_path / 'ho.db'}"
    engine = open_engine(url)
    chain.init_head_office(engine, "Acme Retail")
    with write_tx(engine) as conn:
        catalog.import_csv(conn, CATALOG)
        accounts.add_admin(conn, "admin", PASSWORD)
    yield engine, url
    engine.dispose()


def joined(client: TestClient, engine: sa.Engine, store_id: str) -> dict[str, str]:
    """A store registered with its code, as ``store join`` does: its API headers."""
    code = chain.add_store(engine, store_id).registration_code
    secret = client.post("/api/v1/register", json={"node": store_id, "code": code}).json()
    token = base64.b64encode(f"{store_id}:{secret['secret']}".encode()).decode()
    return {
        "authorization": f"Basic {token}",
        "possync-protocol": str(SPEC.protocol),
        "possync-installation": f"installation-{store_id}",
    }


def test_sign_in_is_the_store_consoles_with_a_cookie_of_its_own(
    head_office: tuple[sa.Engine, str],
) -> None:
    engine, _ = head_office
    client = TestClient(create_app(engine))
    first = client.get("/console/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/console/login?next=/console/")
    page = client.get("/console/login")
    assert "possync ho admin add" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    forged = client.post(
        "/console/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "x"}
    )
    assert forged.status_code == 403
    big = client.post(
        "/console/login",
        content=b"username=" + b"a" * SIGN_IN_LIMIT,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 413

    answer = client.post(
        "/console/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": login_token(client)},
        follow_redirects=False,
    )
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if "possync_ho_console=" in c]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert signin.COOKIE not in client.cookies  # the store console's stays the store's
    assert "Acme Retail: replication dashboard" in client.get("/console/").text

    # A form without the session's token changes nothing.
    chain.add_store(engine, "S09")
    refused = client.post("/console/stores/new", data={"store_id": "S10"})
    assert refused.status_code == 403
    assert [s["store_id"] for s in chain.stores(engine)] == ["S09"]

    # Guessing: MAX_FAILURES wrong passwords, then refused before the hash runs.
    guesser = TestClient(create_app(engine))
    for _ in range(signin.MAX_FAILURES):
        wrong = {"username": "admin", "password": "nope", "csrf_token": login_token(guesser)}
        assert guesser.post("/console/login", data=wrong).status_code == 401
    right = {"username": "admin", "password": PASSWORD, "csrf_token": login_token(guesser)}
    locked = guesser.post("/console/login", data=right)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


def test_a_suspended_store_is_refused_until_resumed_and_stores_are_added(
    head_office: tuple[sa.Engine, str],
) -> None:
    engine, _ = head_office
    with TestClient(create_app(engine)) as client:
        s01 = joined(client, engine, "S01")
        assert client.get("/api/v1/sync/pull?after=0", headers=s01).status_code == 200
        token = sign_in(client)
        csrf = {"x-csrf-token": token}
        row = client.get("/console/dashboard/rows").text
        assert 'id="store-S01"' in row and "connected" in row and "Suspend" in row

        bad = client.post("/console/stores/S01/suspend", data={"minutes": "²"}, headers=csrf)
        assert "give the minutes as a whole number" in bad.text
        done = client.post("/console/stores/S01/suspend", data={"minutes": "30"}, headers=csrf)
        assert "Sync of store S01 suspended until" in done.text
        refused = client.get("/api/v1/sync/pull?after=0", headers=s01)
        error = refused.json()["error"]
        assert refused.status_code == 503 and error["code"] == "sync_suspended"
        assert "suspended by an administrator until" in error["message"]
        assert "Resume" in client.get("/console/dashboard/rows").text
        resumed = client.post("/console/stores/S01/resume", headers=csrf)
        assert "Sync of store S01 resumed." in resumed.text
        assert client.get("/api/v1/sync/pull?after=0", headers=s01).status_code == 200
        with read_tx(engine) as conn:
            logged = conn.execute(sa.select(admin_log.c.action, admin_log.c.detail)).all()
        assert [a for a, _ in logged] == ["store_sync_suspended", "store_sync_resumed"]
        assert logged[0].detail.endswith("(by admin)")

        again = client.post("/console/stores/new", data={"store_id": "S01"}, headers=csrf)
        assert again.status_code == 422
        assert "already a store of the chain" in field_errors(again.text)[0]
        assert client.get("/api/v1/sync/pull?after=0", headers=s01).status_code == 200  # kept
        added = client.post(
            "/console/stores/new", data={"store_id": "S02", "name": "Harbour"}, headers=csrf
        )
        assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
        assert "possync store join --db URL --ho-url http://testserver --code" in added.text
        with read_tx(engine) as conn:
            assert peers.get(conn, "S02") is not None
        never = client.get("/console/dashboard/rows").text
        assert "never joined" in never and "join code given" in never


def test_the_commands_add_an_administrator_and_suspend_a_store(
    head_office: tuple[sa.Engine, str],
) -> None:
    engine, url = head_office
    runner = CliRunner()
    added = runner.invoke(
        main.app,
        ["ho", "admin", "add", "ops", "--db", url, "--password-stdin"],
        input="another long one\n",
    )
    assert added.exit_code == 0, added.output
    with read_tx(engine) as conn:
        assert accounts.check_password(conn, "ops", "another long one")
    short = runner.invoke(
        main.app, ["ho", "admin", "add", "ops", "--db", url, "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output

    unjoined = runner.invoke(main.app, ["ho", "store", "suspend", "S01", "--db", url])
    assert unjoined.exit_code == 1 and "unknown store" in unjoined.output
    with TestClient(create_app(engine)) as client:
        joined(client, engine, "S01")
    suspended = runner.invoke(
        main.app, ["ho", "store", "suspend", "S01", "--minutes", "5", "--db", url, "--json"]
    )
    assert suspended.exit_code == 0, suspended.output
    assert '"suspended_until"' in suspended.output
    (shown,) = chain.overview(engine)["stores"]
    assert shown["suspended_until"] is not None
    too_long = runner.invoke(
        main.app, ["ho", "store", "suspend", "S01", "--minutes", "99999", "--db", url]
    )
    assert too_long.exit_code == 1 and "1 to 10080 minutes" in too_long.output
    resumed = runner.invoke(main.app, ["ho", "store", "resume", "S01", "--db", url])
    assert resumed.exit_code == 0 and "resumed" in resumed.output
    assert chain.overview(engine)["stores"][0]["suspended_until"] is None

"""Who may open the console: administrators signed in, with CSRF tokens; never a
terminal's sync secret, and an admin session never syncs."""

from __future__ import annotations

import base64

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.retail.schema import store as store_table
from possync.store.console.auth import MAX_FAILURES
from possync.sync.db import open_engine, read_tx, write_tx
from tests.store_console.conftest import PASSWORD, login_token, sign_in


def offline_enabled(engine: sa.Engine) -> bool:
    with read_tx(engine) as conn:
        return bool(conn.execute(sa.select(store_table.c.offline_enabled)).scalar_one())


def test_pages_need_a_signed_in_administrator(client: TestClient) -> None:
    answer = client.get("/console/items", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/items"
    htmx = client.get("/console/dashboard/rows", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/login")
    sign_in(client)
    assert "SKU1" in client.get("/console/items").text


def test_wrong_passwords_are_refused_then_throttled(client: TestClient) -> None:
    for _ in range(MAX_FAILURES):
        answer = client.post(
            "/console/login",
            data={"username": "admin", "password": "nope", "csrf_token": login_token(client)},
        )
        assert answer.status_code == 401 and "Wrong user name or password" in answer.text
    locked = client.post(
        "/console/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": login_token(client)},
    )
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_sign_in_needs_the_forms_own_token_and_never_leaves_the_console(
    client: TestClient, store: sa.Engine
) -> None:
    with write_tx(store) as conn:
        from possync.store.console import accounts

        accounts.add_admin(conn, "second", PASSWORD)
    forged = client.post(
        "/console/login", data={"username": "second", "password": PASSWORD, "csrf_token": "x"}
    )
    assert forged.status_code == 403 and "expired or was not sent by this site" in forged.text
    answer = client.post(
        "/console/login",
        data={
            "username": "second",
            "password": PASSWORD,
            "csrf_token": login_token(client),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie


def test_cookies_are_secure_over_https(store: sa.Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from possync.store.app import create_app
    from possync.store.console.base import ConsoleSettings

    https = TestClient(
        create_app(store, ConsoleSettings(backup_dir=tmp_path)), base_url="https://testserver"
    )
    answer = https.post(
        "/console/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": login_token(https)},
        follow_redirects=False,
    )
    assert "Secure" in answer.headers["set-cookie"]


def test_a_post_without_the_sessions_csrf_token_changes_nothing(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    before = offline_enabled(store)
    for token in ("", "wrong"):
        answer = client.post(
            "/console/admin/offline-store",
            data={"enable": "false", "confirmed": "true", "csrf_token": token},
        )
        assert answer.status_code == 403 and "not sent by a page of this console" in answer.text
    assert offline_enabled(store) == before
    done = client.post(
        "/console/admin/offline-store",
        data={"enable": "false", "confirmed": "true"},
        headers={"X-CSRF-Token": csrf},
    )
    assert done.status_code == 200 and offline_enabled(store) is False


def test_enabling_offline_store_asks_for_confirmation_first(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    with write_tx(store) as conn:
        conn.execute(store_table.update().values(offline_enabled=False))
    asked = client.post("/console/admin/offline-store", data={"enable": "true", "csrf_token": csrf})
    assert "Yes, enable offline mode" in asked.text and offline_enabled(store) is False
    client.post(
        "/console/admin/offline-store",
        data={"enable": "true", "confirmed": "true", "csrf_token": csrf},
    )
    assert offline_enabled(store) is True


def test_a_terminal_secret_never_opens_the_console_and_a_session_never_syncs(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, _ = signed_in
    new = store_admin.add_terminal(store, "T01")
    secret = client.post("/api/v1/register", json={"node": "T01", "code": new.registration_code})
    basic = base64.b64encode(f"T01:{secret.json()['secret']}".encode()).decode()
    stranger = TestClient(client.app)
    opened = stranger.get(
        "/console/", headers={"Authorization": f"Basic {basic}"}, follow_redirects=False
    )
    assert opened.status_code == 303 and opened.headers["location"].startswith("/console/login")
    # The signed-in client carries the admin cookie, but no terminal credentials.
    pulled = client.get("/api/v1/sync/pull", params={"after": 0})
    assert pulled.status_code == 401 and pulled.json()["error"]["code"] == "unauthenticated"


def test_signing_out_ends_the_session(signed_in: tuple[TestClient, str]) -> None:
    client, csrf = signed_in
    cookie = client.cookies.get("possync_console")
    client.post("/console/logout", data={"csrf_token": csrf})
    replay = TestClient(client.app, cookies={"possync_console": cookie or ""})
    assert replay.get("/console/", follow_redirects=False).status_code == 303


def test_store_admin_add_refuses_weak_passwords_and_foreign_databases(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    def add(db: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "possync",
                "store",
                "admin",
                "add",
                "boss",
                "--db",
                db,
                "--password-stdin",
            ],
            input=password + "\n",
            text=True,
            capture_output=True,
            timeout=60,
        )

    db = f"sqlite:///{tmp_path / 'store.db'}"
    store_admin.init_store(open_engine(db), "S01", "Shop")
    short = add(db, "short")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    foreign = add(f"sqlite:///{tmp_path / 'other.db'}", "long enough password")
    assert foreign.returncode == 1 and "no store" in foreign.stderr
    assert add(db, "long enough password").returncode == 0

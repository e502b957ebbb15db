"""The authorisation matrix of head office's app (the sync API for store servers, the
tills' report and the enterprise console), as test_authorisation_matrix.py does for
the store server and the till: every route read from the app's route table,
requested with each kind of credential, against a real app and database; a route
without an entry fails.

Credentials:

- ``none``: no credentials at all.
- ``wrong``: store S01's id with a wrong secret.
- ``revoked``: S03's real secret, after head office gave S03 a new code (revoked).
- ``other_store``: S02's real secret (another store of the chain).
- ``store``: S01's own real secret: the owner of the request's data.
- ``till``: a till's real credentials, given by store S01 (head office never
  registered it, and never talks to a till).
- ``admin``: a live session of a console administrator of head office (with its
  CSRF token).
- ``expired``: such a session past its expiry (with its CSRF token).
- ``forged``: a session cookie head office never issued.

The requests are S01's (a push from S01): only S01 gets them, except what each
store may do for itself (pull its own changes, take its own load, report its own
tills).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from possync.headoffice.app import create_app
from possync.headoffice.console.settings import SESSION_COOKIE
from possync.retail import catalog, chain, store_admin
from possync.retail.replication import SPEC
from possync.sync import peers
from possync.sync.db import open_engine, write_tx
from possync.webui import accounts
from tests.security.routes import MOUNT, Call, route_table
from tests.security.test_authorisation_matrix import (
    REFUSED_CODE,
    SIGN_IN,
    Expected,
    ask,
    basic,
    check_table,
    everyone,
    succeeded,
)

KINDS = ("none", "wrong", "revoked", "other_store", "store", "till", "admin", "expired", "forged")
CATALOG = "sku,barcode,name,price,tax_code\nSKU1,5000000000001,Item 1,1.50,STD\n"
PUSH = {"protocol": SPEC.protocol, "source": "S01", "after": 0, "through": 0, "changes": []}
REPORT = {"children": [{"terminal_id": "T01", "mode": "online", "backlog": 0}]}


def sync(store: int, other_store: int) -> dict[str, Expected]:
    """A route of the sync API: 401 unless the credentials are a live store's."""
    return {**everyone(401, KINDS), "store": store, "other_store": other_store}


def console(admin: Expected) -> dict[str, Expected]:
    """A page of the console: to the sign-in page unless signed in as head office's
    administrator (a store's secret opens none of it)."""
    return {**everyone(SIGN_IN, KINDS), "admin": admin}


HEAD_OFFICE: dict[tuple[str, str], tuple[Call, dict[str, Expected]]] = {
    # -- public
    ("GET", "/openapi.json"): (Call("/openapi.json"), everyone(200, KINDS)),  # no data
    ("GET", "/api/v1/health"): (Call("/api/v1/health"), everyone(200, KINDS)),
    # a wrong code: refused whoever asks (the right code is the credential)
    ("POST", "/api/v1/register"): (
        Call("/api/v1/register", json={"node": "S09", "code": "AAAA-BBBB-CCCC-DDDD"}),
        everyone(REFUSED_CODE, KINDS),
    ),
    # -- S01's requests
    ("POST", "/api/v1/sync/push"): (
        Call("/api/v1/sync/push", json=PUSH),
        sync(200, other_store=403),  # S02 may not push as S01
    ),
    ("POST", "/api/v1/sync/rescue"): (
        Call("/api/v1/sync/rescue", json=PUSH),
        sync(200, other_store=403),
    ),
    # what each store may read of its own (its changes, its load): S02 gets its own
    ("GET", "/api/v1/sync/pull"): (Call("/api/v1/sync/pull?after=0"), sync(200, 200)),
    ("GET", "/api/v1/sync/lag"): (Call("/api/v1/sync/lag?after=0"), sync(200, 200)),
    ("POST", "/api/v1/sync/initial-load"): (Call("/api/v1/sync/initial-load"), sync(200, 200)),
    ("GET", "/api/v1/sync/initial-load/{table}"): (
        Call("/api/v1/sync/initial-load/item"),
        sync(200, 200),
    ),
    # a store reports its own tills: S02's report is kept as S02's
    ("POST", "/api/v1/relay/children"): (
        Call("/api/v1/relay/children", json=REPORT),
        sync(200, 200),
    ),
    # a joining store's opening balance (none here): S02's would be S02's own
    ("POST", "/api/v1/relay/opening-stock"): (
        Call("/api/v1/relay/opening-stock", json={"balances": []}),
        sync(200, 200),
    ),
    # -- the enterprise console: public furniture and sign-in
    (MOUNT, "/static/ui"): (Call("/static/ui/possync.css"), everyone(200, KINDS)),
    ("GET", "/"): (Call("/"), everyone(303, KINDS)),  # to /console/
    ("GET", "/console/login"): (Call("/console/login"), everyone(200, KINDS)),
    # without the sign-in form's own cookie: refused (CSRF), signed in or not
    ("POST", "/console/login"): (
        Call("/console/login", form={"username": "admin", "password": "x", "csrf_token": "x"}),
        everyone(403, KINDS),
    ),
    # -- the console: head office's administrator only
    ("POST", "/console/logout"): (Call("/console/logout"), console(SIGN_IN)),
    ("GET", "/console/"): (Call("/console/"), console(200)),
    ("GET", "/console/dashboard/rows"): (Call("/console/dashboard/rows"), console(200)),
    # S05 has a join code and never joined: its actions are refused, back to the
    # dashboard saying why (a 303 too); no credential's store is touched
    ("POST", "/console/stores/{store_id}/suspend"): (
        Call("/console/stores/S05/suspend", form={"minutes": "5"}),
        console(303),
    ),
    ("POST", "/console/stores/{store_id}/resume"): (
        Call("/console/stores/S05/resume"),
        console(303),
    ),
    ("GET", "/console/stores/new"): (Call("/console/stores/new"), console(200)),
    ("POST", "/console/stores/new"): (Call("/console/stores/new"), console(422)),  # no id
    ("GET", "/console/stock"): (Call("/console/stock"), console(200)),
}
PUBLIC = {
    ("GET", "/openapi.json"),
    ("GET", "/api/v1/health"),
    (MOUNT, "/static/ui"),
    ("GET", "/console/login"),
}
MAY_SUCCEED = {"store", "other_store", "admin"}


@dataclass
class HeadOffice:
    client: TestClient
    engine: sa.Engine
    credentials: dict[str, dict[str, str]]  # kind -> headers of a store's (or till's)

    def cookies_and_headers(self, kind: str) -> tuple[dict[str, str], dict[str, str]]:
        if kind in ("admin", "expired"):
            return console_session(self.engine, expired=kind == "expired")
        if kind == "forged":
            return {SESSION_COOKIE: "forged-session-token"}, {"x-csrf-token": "forged"}
        return {}, self.credentials.get(kind, {})


def console_session(engine: sa.Engine, *, expired: bool) -> tuple[dict[str, str], dict[str, str]]:
    """A new session of head office's administrator (one per request: signing out
    ends it)."""
    with write_tx(engine) as conn:
        token, session = accounts.open_session(conn, "admin")
        if expired:
            conn.execute(
                accounts.console_session.update()
                .where(accounts.console_session.c.csrf_token == session.csrf_token)
                .values(expires_at="2000-01-01T00:00:00+00:00")
            )
    return {SESSION_COOKIE: token}, {"x-csrf-token": session.csrf_token}


def join(client: TestClient, engine: sa.Engine, store_id: str) -> dict[str, str]:
    """Register a store with its code, as ``store join`` does; its first sync binds
    it to its installation."""
    code = chain.add_store(engine, store_id).registration_code
    answer = client.post("/api/v1/register", json={"node": store_id, "code": code})
    assert answer.status_code == 200, answer.text
    headers = {
        **basic(store_id, answer.json()["secret"]),
        "possync-protocol": str(SPEC.protocol),
        "possync-installation": f"installation-{store_id}",
    }
    assert client.get("/api/v1/sync/pull?after=0", headers=headers).status_code == 200
    return headers


def till_of_store(tmp_path: Path) -> dict[str, str]:
    """T01's real credentials, as store S01 gave them (S01's own database)."""
    store = open_engine(f"sqlite:///{tmp_path / 's01.db'}")
    store_admin.init_store(store, "S01", "Main Street")
    code = store_admin.add_terminal(store, "T01").registration_code
    with write_tx(store) as conn:
        _, secret = peers.register(conn, "T01", code)
    store.dispose()
    return {
        **basic("T01", secret),
        "possync-protocol": str(SPEC.protocol),
        "possync-installation": "installation-T01",
    }


@pytest.fixture
def head_office(tmp_path: Path) -> Iterator[HeadOffice]:
    # On SQLite: who may do what does not depend on the database (the fuzz test of
    # head office's API runs on PostgreSQL).
    engine = open_engine(f"sqlite:///{tmp_path / 'ho.db'}")
    chain.init_head_office(engine, "Acme Retail")
    with write_tx(engine) as conn:
        catalog.import_csv(conn, CATALOG)
        accounts.add_admin(conn, "admin", "correct horse battery")
    chain.add_store(engine, "S05")  # the store the console's actions act on
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        credentials = {
            "store": join(client, engine, "S01"),
            "other_store": join(client, engine, "S02"),
            "revoked": join(client, engine, "S03"),
            "till": till_of_store(tmp_path),
        }
        credentials["wrong"] = {**credentials["store"], **basic("S01", "not-the-secret")}
        chain.add_store(engine, "S03")  # a new code: its secret revoked
        yield HeadOffice(client, engine, credentials)
    engine.dispose()


def test_every_route_of_head_office_answers_each_credential_as_its_entry_says(
    head_office: HeadOffice,
) -> None:
    check_table(route_table(head_office.client.app), HEAD_OFFICE)  # type: ignore[arg-type]
    wrong: list[str] = []
    for (method, route), (call, expected) in sorted(HEAD_OFFICE.items()):
        for kind in KINDS:
            cookies, headers = head_office.cookies_and_headers(kind)
            status = ask(head_office.client, method, call, cookies, headers)
            if status != expected[kind]:
                wrong.append(f"{method} {route} as {kind}: {status}, expected {expected[kind]}")
            if succeeded(status) and (method, route) not in PUBLIC:
                assert kind in MAY_SUCCEED, f"{method} {route} gave {status} to {kind}"
    assert not wrong, "\n".join(wrong)


def test_a_route_head_office_adds_without_an_entry_fails_the_matrix(
    head_office: HeadOffice,
) -> None:
    app: FastAPI = head_office.client.app  # type: ignore[assignment]
    app.add_api_route("/api/v1/relay/new", lambda: {}, methods=["POST"])
    with pytest.raises(AssertionError, match="new route without an authorisation entry"):
        check_table(route_table(app), HEAD_OFFICE)


def test_a_store_reads_and_reports_only_its_own(head_office: HeadOffice) -> None:
    """The 2xx the matrix gives S02 are its own: its pull, its tills' report."""
    client, s02 = head_office.client, head_office.credentials["other_store"]
    chain.adjust(head_office.engine, "S01", "SKU1", 5, "goods_receipt")  # S01's only
    s01 = head_office.credentials["store"]
    s01 = head_office.credentials["store"]
    for own, headers, moved in (("S01", s01, {"S01"}), ("S02", s02, set())):
        changes = client.get("/api/v1/sync/pull?after=0", headers=headers).json()["changes"]
        assert {c["row"]["store_id"] for c in changes if c["table"] == "stock_movement"} == moved
        stores = {c["row"].get("store_id") for c in changes}
        assert stores <= {None, own}, (own, stores)
    assert client.post("/api/v1/relay/children", json=REPORT, headers=s02).status_code == 200
    shown = {s["store_id"]: s["tills"] for s in chain.status(head_office.engine)["stores"]}
    assert [t["terminal_id"] for t in shown["S02"]] == ["T01"]
    assert shown["S01"] == []  # S02's report is not S01's

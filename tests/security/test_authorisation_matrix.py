"""The authorisation matrix: every route of the store server (the sync API, the
retail calls of the tills, the console) and of the cashier's screen, read from the
apps' route tables, requested with each kind of credential, against real apps and
databases. Each (route, credential) has its expected status in the tables below;
a route the app serves that has no entry fails the test ("new route without an
authorisation entry"), and so does an entry whose route is gone.

Credentials of the store server:

- ``none``: no credentials at all.
- ``wrong``: terminal T01's id with a wrong secret.
- ``revoked``: T03's real secret, after T03 was provisioned again (revoked).
- ``other_terminal``: T02's real secret (a terminal of the same store).
- ``other_store``: the real secret of T01 of another store (S02).
- ``terminal``: T01's own real secret: the owner of the request's data.
- ``admin``: a console administrator's live session (with its CSRF token).
- ``expired``: an administrator's session past its expiry (with its CSRF token).
- ``forged``: a session cookie the server never issued.

Credentials of the cashier's screen: ``none``, ``forged``, ``expired`` (idle past
the timeout), ``other_till`` (a live session of another till's screen), ``cashier``.

The requests of the sync API are T01's (a push from T01, T01's receipt): only T01
gets them, except what each terminal may do for itself (pull its own changes, take
its own initial load, look up a sale of its own store for a return).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import cashiers, master_data, sales, store_admin
from possync.retail.replication import SPEC
from possync.store.app import create_app
from possync.store.console import accounts
from possync.store.console.auth import COOKIE as CONSOLE_COOKIE
from possync.store.console.base import ConsoleSettings
from possync.sync.db import open_engine, write_tx
from possync.terminal.web import app as screen
from possync.terminal.web.sessions import COOKIE as TILL_COOKIE
from possync.terminal.web.sessions import IDLE_TIMEOUT, Sessions
from tests.e2e.helpers import make_store
from tests.security.routes import MOUNT, Call, route_table

STORE_KINDS = (
    "none",
    "wrong",
    "revoked",
    "other_terminal",
    "other_store",
    "terminal",
    "admin",
    "expired",
    "forged",
)
TILL_KINDS = ("none", "forged", "expired", "other_till", "cashier")


# Not a status: "to the sign-in page", a 303 there (or, for htmx, a 401 whose
# HX-Redirect goes there). Any other 303 is the page's own answer.
SIGN_IN = "sign-in"
# The registration limit (guessing codes) counts each failure by client address,
# and every request here comes from one: past it, 429 instead of 403.
REFUSED_CODE = "403 or 429"
Expected = int | str


def everyone(status: Expected, kinds: tuple[str, ...] = STORE_KINDS) -> dict[str, Expected]:
    """A public route: the same answer whoever asks."""
    return dict.fromkeys(kinds, status)


def sync(terminal: int, other_terminal: int) -> dict[str, Expected]:
    """A route of the sync API: 401 unless the credentials are a live terminal's."""
    return {**everyone(401), "terminal": terminal, "other_terminal": other_terminal}


def console(admin: Expected) -> dict[str, Expected]:
    """A page of the console: to the sign-in page unless signed in."""
    return {**everyone(SIGN_IN), "admin": admin}


def till(cashier: Expected) -> dict[str, Expected]:
    """A page of the cashier's screen: to the sign-in page unless signed in."""
    return {**everyone(SIGN_IN, TILL_KINDS), "cashier": cashier}


RECEIPT = "S01-T01-000001"  # a sale made on T01, on the store
EMPTY_PUSH = {"protocol": SPEC.protocol, "source": "T01", "after": 0, "through": 0, "changes": []}

# (method, route) of the store server: the request made, and the status by credential.
STORE: dict[tuple[str, str], tuple[Call, dict[str, Expected]]] = {
    # -- public
    ("GET", "/openapi.json"): (Call("/openapi.json"), everyone(200)),  # routes, no data
    (MOUNT, "/static/ui"): (Call("/static/ui/possync.css"), everyone(200)),
    ("GET", "/"): (Call("/"), everyone(303)),  # to /console/
    ("GET", "/api/v1/health"): (Call("/api/v1/health"), everyone(200)),
    # a wrong code: refused whoever asks (the right code is the credential)
    ("POST", "/api/v1/register"): (
        Call("/api/v1/register", json={"node": "T09", "code": "AAAA-BBBB-CCCC-DDDD"}),
        everyone(REFUSED_CODE),
    ),
    ("GET", "/console/login"): (Call("/console/login"), everyone(200)),
    # without the sign-in form's own cookie: refused (CSRF), signed in or not
    ("POST", "/console/login"): (
        Call("/console/login", form={"username": "admin", "password": "x", "csrf_token": "x"}),
        everyone(403),
    ),
    # -- the sync API: T01's requests
    ("POST", "/api/v1/sync/push"): (
        Call("/api/v1/sync/push", json=EMPTY_PUSH),
        sync(200, other_terminal=403),  # T02 may not push as T01
    ),
    ("POST", "/api/v1/sync/rescue"): (
        Call("/api/v1/sync/rescue", json=EMPTY_PUSH),
        sync(200, other_terminal=403),
    ),
    # what each terminal may read of its own (its changes, its load): T02 gets its own
    ("GET", "/api/v1/sync/pull"): (Call("/api/v1/sync/pull?after=0"), sync(200, 200)),
    ("GET", "/api/v1/sync/lag"): (Call("/api/v1/sync/lag?after=0"), sync(200, 200)),
    ("POST", "/api/v1/sync/initial-load"): (Call("/api/v1/sync/initial-load"), sync(200, 200)),
    ("GET", "/api/v1/sync/initial-load/{table}"): (
        Call("/api/v1/sync/initial-load/item"),
        sync(200, 200),
    ),
    # a sale of the same store, for a return at any of its tills (docs/protocol.md)
    ("GET", "/api/v1/pos/receipts/{receipt_no}"): (
        Call(f"/api/v1/pos/receipts/{RECEIPT}"),
        sync(200, 200),
    ),
    # -- the console: an administrator only
    # signing out ends the session and goes to the sign-in page: the same place as
    # anyone not signed in is sent to (test_access.py shows the session ends)
    ("POST", "/console/logout"): (Call("/console/logout"), console(SIGN_IN)),
    ("GET", "/console/"): (Call("/console/"), console(200)),
    ("GET", "/console/dashboard/rows"): (Call("/console/dashboard/rows"), console(200)),
    ("POST", "/console/dashboard/{terminal_id}/suspend"): (
        Call("/console/dashboard/T05/suspend", form={"minutes": "5"}),
        console(303),
    ),
    ("POST", "/console/dashboard/{terminal_id}/resume"): (
        Call("/console/dashboard/T05/resume"),
        console(303),
    ),
    ("GET", "/console/quarantine"): (Call("/console/quarantine"), console(200)),
    ("GET", "/console/quarantine/conflicts"): (Call("/console/quarantine/conflicts"), console(200)),
    ("GET", "/console/chain"): (Call("/console/chain"), console(200)),
    ("POST", "/console/chain/verify"): (Call("/console/chain/verify"), console(303)),
    ("GET", "/console/quarantine/{entry_id}"): (Call("/console/quarantine/999"), console(303)),
    ("POST", "/console/quarantine/{entry_id}/resubmit"): (
        Call("/console/quarantine/999/resubmit", form={"note": "x"}),
        console(303),
    ),
    ("POST", "/console/quarantine/{entry_id}/discard"): (
        Call("/console/quarantine/999/discard", form={"note": "x"}),
        console(303),
    ),
    ("GET", "/console/admin/offline-store"): (Call("/console/admin/offline-store"), console(200)),
    ("POST", "/console/admin/offline-store"): (
        Call("/console/admin/offline-store", form={"enable": "true"}),
        console(200),
    ),
    ("GET", "/console/terminals"): (Call("/console/terminals"), console(200)),
    ("GET", "/console/terminals/new"): (Call("/console/terminals/new"), console(200)),
    ("POST", "/console/terminals/new"): (Call("/console/terminals/new"), console(422)),
    ("GET", "/console/terminals/{terminal_id}"): (Call("/console/terminals/T05"), console(200)),
    ("POST", "/console/terminals/{terminal_id}"): (
        Call("/console/terminals/T05", form={"name": "Till five"}),
        console(303),
    ),
    ("POST", "/console/terminals/{terminal_id}/series"): (
        Call("/console/terminals/T05/series"),
        console(303),
    ),
    ("POST", "/console/terminals/{terminal_id}/code"): (
        Call("/console/terminals/T05/code"),
        console(200),
    ),
    ("POST", "/console/terminals/{terminal_id}/backup"): (
        Call("/console/terminals/T05/backup"),
        console(303),
    ),
    ("GET", "/console/backups/{name}"): (Call("/console/backups/none.backup"), console(303)),
    ("GET", "/console/items"): (Call("/console/items"), console(200)),
    ("GET", "/console/items/new"): (Call("/console/items/new"), console(200)),
    ("POST", "/console/items/new"): (Call("/console/items/new"), console(422)),
    ("GET", "/console/items/{sku}"): (Call("/console/items/SKU1"), console(200)),
    ("POST", "/console/items/{sku}"): (Call("/console/items/SKU1"), console(422)),
    ("GET", "/console/items-import"): (Call("/console/items-import"), console(200)),
    ("POST", "/console/items-import"): (Call("/console/items-import"), console(422)),
    ("GET", "/console/customers"): (Call("/console/customers"), console(200)),
    ("GET", "/console/customers/new"): (Call("/console/customers/new"), console(200)),
    ("POST", "/console/customers/new"): (Call("/console/customers/new"), console(422)),
    ("GET", "/console/customers/{record_id}"): (
        Call("/console/customers/{customer_id}"),
        console(200),
    ),
    ("POST", "/console/customers/{record_id}"): (
        Call("/console/customers/{customer_id}"),
        console(422),
    ),
    ("GET", "/console/cashiers"): (Call("/console/cashiers"), console(200)),
    ("GET", "/console/cashiers/new"): (Call("/console/cashiers/new"), console(200)),
    ("POST", "/console/cashiers/new"): (Call("/console/cashiers/new"), console(422)),
    ("GET", "/console/cashiers/{record_id}"): (Call("/console/cashiers/ADA"), console(200)),
    ("POST", "/console/cashiers/{record_id}"): (Call("/console/cashiers/ADA"), console(422)),
    ("GET", "/console/payment-methods"): (Call("/console/payment-methods"), console(200)),
    ("GET", "/console/payment-methods/new"): (Call("/console/payment-methods/new"), console(200)),
    ("POST", "/console/payment-methods/new"): (
        Call("/console/payment-methods/new"),
        console(422),
    ),
    ("GET", "/console/payment-methods/{record_id}"): (
        Call("/console/payment-methods/CASH"),
        console(200),
    ),
    ("POST", "/console/payment-methods/{record_id}"): (
        Call("/console/payment-methods/CASH"),
        console(422),
    ),
    ("GET", "/console/tax-rates"): (Call("/console/tax-rates"), console(200)),
    ("GET", "/console/tax-rates/new"): (Call("/console/tax-rates/new"), console(200)),
    ("POST", "/console/tax-rates/new"): (Call("/console/tax-rates/new"), console(422)),
    ("GET", "/console/tax-rates/{record_id}"): (Call("/console/tax-rates/STD"), console(200)),
    ("POST", "/console/tax-rates/{record_id}"): (Call("/console/tax-rates/STD"), console(422)),
    ("GET", "/console/discount-reasons"): (Call("/console/discount-reasons"), console(200)),
    ("GET", "/console/discount-reasons/new"): (
        Call("/console/discount-reasons/new"),
        console(200),
    ),
    ("POST", "/console/discount-reasons/new"): (
        Call("/console/discount-reasons/new"),
        console(422),
    ),
    ("GET", "/console/discount-reasons/{record_id}"): (
        Call("/console/discount-reasons/NONE"),
        console(303),  # no such reason: back to the list
    ),
    ("POST", "/console/discount-reasons/{record_id}"): (
        Call("/console/discount-reasons/NONE"),
        console(422),
    ),
    ("GET", "/console/receipts"): (Call("/console/receipts"), console(200)),
    ("GET", "/console/receipts/{receipt_no}"): (Call(f"/console/receipts/{RECEIPT}"), console(200)),
    ("GET", "/console/stock"): (Call("/console/stock"), console(200)),
    ("GET", "/console/till-events"): (Call("/console/till-events"), console(200)),
    ("GET", "/console/z-reports"): (Call("/console/z-reports"), console(200)),
    ("GET", "/console/day-summary"): (Call("/console/day-summary"), console(200)),
    ("POST", "/console/stock"): (Call("/console/stock"), console(422)),
}

# (method, route) of the cashier's screen.
TILL: dict[tuple[str, str], tuple[Call, dict[str, Expected]]] = {
    # -- public
    (MOUNT, "/static/ui"): (Call("/static/ui/possync.css"), everyone(200, TILL_KINDS)),
    (MOUNT, "/static/pos"): (Call("/static/pos/pos.css"), everyone(200, TILL_KINDS)),
    ("GET", "/favicon.ico"): (Call("/favicon.ico"), everyone(204, TILL_KINDS)),
    ("GET", "/status"): (Call("/status"), everyone(200, TILL_KINDS)),  # nothing secret
    ("GET", "/signin"): (Call("/signin"), {**everyone(200, TILL_KINDS), "cashier": 303}),
    # without the sign-in form's own cookie: refused (CSRF), signed in or not
    ("POST", "/signin"): (
        Call("/signin", form={"cashier_id": "ADA", "pin": "2468", "csrf_token": "x"}),
        everyone(403, TILL_KINDS),
    ),
    # -- a signed-in cashier only
    ("POST", "/signout"): (Call("/signout"), till(SIGN_IN)),  # as the console's logout
    ("GET", "/"): (Call("/"), till(200)),
    ("POST", "/basket/scan"): (Call("/basket/scan", form={"code": "SKU1"}), till(200)),
    ("POST", "/basket/add"): (Call("/basket/add", form={"sku": "SKU2"}), till(200)),
    ("POST", "/basket/lines/{line_no}"): (
        Call("/basket/lines/1", form={"delta": "1"}),
        till(422),  # no line 1 in a new session's basket
    ),
    # a void without a reason is refused; a cancellation with one empties the basket
    ("POST", "/basket/lines/{line_no}/remove"): (Call("/basket/lines/1/remove"), till(422)),
    ("POST", "/basket/clear"): (Call("/basket/clear", form={"reason": "x"}), till(200)),
    ("POST", "/basket/void"): (
        Call("/basket/void", form={"line_no": "9", "reason": "x"}),
        till(422),  # no line 9
    ),
    ("POST", "/basket/discount"): (
        Call("/basket/discount", form={"line_no": "1", "value": "10%", "reason": "X"}),
        till(422),  # no such reason, no such line
    ),
    ("POST", "/basket/lines/{line_no}/discount/remove"): (
        Call("/basket/lines/1/discount/remove"),
        till(422),
    ),
    ("POST", "/basket/park"): (Call("/basket/park"), till(422)),  # nothing to park
    ("GET", "/parked"): (Call("/parked"), till(200)),
    ("POST", "/parked/{park_id}/resume"): (Call("/parked/none/resume"), till(422)),
    ("GET", "/items/search"): (Call("/items/search?q=SKU"), till(200)),
    ("POST", "/basket/pay"): (Call("/basket/pay", form={"amount_CASH": "1"}), till(422)),
    ("GET", "/receipts/{receipt_no:path}"): (Call("/receipts/S01-T01-000001"), till(404)),
    ("GET", "/returns"): (Call("/returns"), till(200)),
    ("POST", "/returns"): (Call("/returns", form={"receipt_no": ""}), till(422)),
    ("GET", "/customers"): (Call("/customers?q=Ada"), till(200)),
    ("POST", "/customers"): (Call("/customers", form={"name": ""}), till(422)),
    ("POST", "/basket/customer"): (Call("/basket/customer", form={"customer_id": ""}), till(200)),
    ("POST", "/operations/sync"): (Call("/operations/sync"), till(303)),
    ("POST", "/operations/online"): (Call("/operations/online"), till(303)),
    ("POST", "/operations/offline"): (Call("/operations/offline"), till(200)),
    ("GET", "/operations/{op_id}"): (Call("/operations/none"), till(404)),
    ("GET", "/today"): (Call("/today"), till(200)),
    ("GET", "/today/reprint/{receipt_no:path}"): (Call("/today/reprint/none"), till(404)),
    ("GET", "/drawer"): (Call("/drawer"), till(200)),
    ("GET", "/drawer/z/{z_no:path}"): (Call("/drawer/z/none"), till(404)),
    # an empty float, an empty amount, nothing counted (no drawer open): refused
    ("POST", "/drawer/open"): (Call("/drawer/open", form={"opening_float": ""}), till(422)),
    ("POST", "/drawer/move"): (Call("/drawer/move", form={"kind": "paid_in"}), till(422)),
    ("POST", "/drawer/close"): (Call("/drawer/close"), till(422)),
}

# Who may get a 2xx from a route that is not public: the matrix's own check of its
# tables, so that a wrong entry cannot make a leak look expected.
STORE_PUBLIC = {
    ("GET", "/openapi.json"),
    (MOUNT, "/static/ui"),
    ("GET", "/api/v1/health"),
    ("GET", "/console/login"),
}
STORE_MAY_SUCCEED = {"terminal", "other_terminal", "admin"}
TILL_PUBLIC = {
    (MOUNT, "/static/ui"),
    (MOUNT, "/static/pos"),
    ("GET", "/favicon.ico"),
    ("GET", "/status"),
    ("GET", "/signin"),
}


def check_table(app_routes: set[tuple[str, str]], table: dict[Any, Any]) -> None:
    new = sorted(app_routes - table.keys())
    assert not new, f"new route without an authorisation entry: {new}"
    gone = sorted(table.keys() - app_routes)
    assert not gone, f"authorisation entries of routes the app no longer serves: {gone}"


def basic(node: str, secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{node}:{secret}".encode()).decode()}


@dataclass
class Store:
    client: TestClient
    engine: sa.Engine
    terminals: dict[str, dict[str, str]]  # kind -> headers of a terminal's credentials
    customer_id: str


def register(client: TestClient, engine: sa.Engine, node: str, installation: str) -> dict[str, str]:
    code = store_admin.add_terminal(engine, node).registration_code
    answer = client.post("/api/v1/register", json={"node": node, "code": code})
    assert answer.status_code == 200, answer.text
    headers = {
        **basic(node, answer.json()["secret"]),
        "possync-protocol": str(SPEC.protocol),
        "possync-installation": installation,
    }
    # its first sync binds it to this installation
    assert client.get("/api/v1/sync/pull?after=0", headers=headers).status_code == 200
    return headers


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    # On SQLite: who may do what does not depend on the database (the fuzz tests run
    # on PostgreSQL too), and T01's sale is made here as on a till, which only SQLite
    # databases number.
    engine = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    with write_tx(engine) as conn:
        accounts.add_admin(conn, "admin", "correct horse battery")
        cashiers.save(conn, "ADA", "Ada Lovelace", pin="2468")
        customer_id = master_data.save_customer(conn, "S01", None, name="Grace", email="", phone="")
    other = open_engine(f"sqlite:///{tmp_path / 'other.db'}")
    store_admin.init_store(other, "S02", "Elsewhere")
    app = create_app(engine, ConsoleSettings(backup_dir=tmp_path / "backups"))
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        TestClient(create_app(other), raise_server_exceptions=False) as elsewhere,
    ):
        terminals = {
            "terminal": register(client, engine, "T01", "installation-1"),
            "other_terminal": register(client, engine, "T02", "installation-2"),
            "revoked": register(client, engine, "T03", "installation-3"),
            "other_store": register(elsewhere, other, "T01", "installation-1"),
        }
        with write_tx(engine) as conn:  # T01's sale, as if pushed: RECEIPT
            sales.record_sale(
                conn,
                sales.Till("S01", "T01", "EUR"),
                [sales.LineRequest("SKU1", 1)],
                [sales.PaymentRequest("CASH")],
            )
        terminals["wrong"] = {**terminals["terminal"], **basic("T01", "not-the-secret")}
        store_admin.add_terminal(engine, "T03")  # provisioned again: its secret revoked
        store_admin.add_terminal(engine, "T05")  # the one the console's actions act on
        yield Store(client, engine, terminals, customer_id)
    engine.dispose()
    other.dispose()


def console_session(engine: sa.Engine, *, expired: bool) -> tuple[dict[str, str], dict[str, str]]:
    """A new administrator's session (one per request: signing out ends it)."""
    with write_tx(engine) as conn:
        token, session = accounts.open_session(conn, "admin")
        if expired:
            conn.execute(
                accounts.console_session.update()
                .where(accounts.console_session.c.username == "admin")
                .where(accounts.console_session.c.csrf_token == session.csrf_token)
                .values(expires_at="2000-01-01T00:00:00+00:00")
            )
    return {CONSOLE_COOKIE: token}, {"x-csrf-token": session.csrf_token}


def store_credentials(store: Store, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """(cookies, headers) of one kind of credential."""
    if kind in store.terminals:
        return {}, store.terminals[kind]
    if kind in ("admin", "expired"):
        return console_session(store.engine, expired=kind == "expired")
    if kind == "forged":
        return {CONSOLE_COOKIE: "forged-session-token"}, {"x-csrf-token": "forged"}
    return {}, {}


def ask(
    client: TestClient, method: str, call: Call, cookies: dict[str, str], headers: Any
) -> Expected:
    """The answer's status, or SIGN_IN for a redirection to a sign-in page."""
    client.cookies.clear()
    client.cookies.update(cookies)
    verb = "GET" if method == MOUNT else method
    answer = client.request(
        verb, call.url, headers=headers, follow_redirects=False, **dict(call.kwargs())
    )
    target = answer.headers.get("location") or answer.headers.get("hx-redirect") or ""
    if answer.status_code in (303, 401) and target.startswith(("/console/login", "/signin")):
        return SIGN_IN
    if answer.status_code in (403, 429) and call.url == "/api/v1/register":
        return REFUSED_CODE
    return answer.status_code


def succeeded(status: Expected) -> bool:
    return isinstance(status, int) and 200 <= status < 300


def test_every_route_of_the_store_server_answers_each_credential_as_its_entry_says(
    store: Store,
) -> None:
    check_table(route_table(store.client.app), STORE)  # type: ignore[arg-type]
    wrong: list[str] = []
    for (method, route), (call, expected) in sorted(STORE.items()):
        call = Call(call.url.replace("{customer_id}", store.customer_id), call.json, call.form)
        for kind in STORE_KINDS:
            cookies, headers = store_credentials(store, kind)
            status = ask(store.client, method, call, cookies, headers)
            if status != expected[kind]:
                wrong.append(f"{method} {route} as {kind}: {status}, expected {expected[kind]}")
            if succeeded(status) and (method, route) not in STORE_PUBLIC:
                assert kind in STORE_MAY_SUCCEED, f"{method} {route} gave {status} to {kind}"
    assert not wrong, "\n".join(wrong)


def test_a_terminal_reads_nothing_of_another_terminal_or_store(store: Store) -> None:
    """The 2xx the matrix expects for T02 are its own data: its pull, its load."""
    client = store.client
    t02 = store.terminals["other_terminal"]
    pulled = client.get("/api/v1/sync/pull?after=0", headers=t02).json()
    tables = {c["table"] for c in pulled["changes"]}
    assert tables.isdisjoint({"receipt", "receipt_line", "receipt_payment"}), tables
    # the store's stock movements reach every till (stock converges); T01's own rows
    # (its terminal record, its series) do not reach T02
    own = {c["row"].get("terminal_id") for c in pulled["changes"] if c["table"] != "stock_movement"}
    assert own <= {None, "T02"}, own
    receipt = client.get(f"/api/v1/pos/receipts/{RECEIPT}", headers=t02).json()
    assert receipt["receipt_no"] == RECEIPT  # a sale of its store: returns at any till
    other_store = client.get(
        f"/api/v1/pos/receipts/{RECEIPT}", headers=store.terminals["other_store"]
    )
    assert other_store.status_code == 401


@dataclass
class Screen:
    client: TestClient
    sessions: Sessions
    other_till: Sessions
    clock: list[float]


@pytest.fixture
def till_screen(terminal_dir: Path) -> Iterator[Screen]:
    clock = [1000.0]
    sessions = Sessions(clock=lambda: clock[0])
    app = screen.create_app(terminal_dir, sessions=sessions)
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1:8700") as c:
        yield Screen(c, sessions, Sessions(), clock)


def till_credentials(screen_: Screen, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    if kind == "cashier":
        session = screen_.sessions.create("ADA", "Ada Lovelace")
    elif kind == "expired":
        session = screen_.sessions.create("ADA", "Ada Lovelace")
        screen_.clock[0] += IDLE_TIMEOUT + 1  # idle past the timeout, then asked again
    elif kind == "other_till":
        session = screen_.other_till.create("ADA", "Ada Lovelace")
    elif kind == "forged":
        return {TILL_COOKIE: "forged-session-token"}, {"x-csrf-token": "forged"}
    else:
        return {}, {}
    return {TILL_COOKIE: session.token}, {"x-csrf-token": session.csrf}


def test_every_route_of_the_cashiers_screen_answers_each_credential_as_its_entry_says(
    till_screen: Screen,
) -> None:
    check_table(route_table(till_screen.client.app), TILL)  # type: ignore[arg-type]
    wrong: list[str] = []
    for (method, route), (call, expected) in sorted(TILL.items()):
        for kind in TILL_KINDS:
            cookies, headers = till_credentials(till_screen, kind)
            status = ask(till_screen.client, method, call, cookies, headers)
            if status != expected[kind]:
                wrong.append(f"{method} {route} as {kind}: {status}, expected {expected[kind]}")
            if succeeded(status) and (method, route) not in TILL_PUBLIC:
                assert kind == "cashier", f"{method} {route} gave {status} to {kind}"
    assert not wrong, "\n".join(wrong)

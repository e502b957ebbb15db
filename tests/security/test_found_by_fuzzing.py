"""The 5xx the fuzz tests found, each kept as a plain test of its own."""

from __future__ import annotations

import base64

import orjson
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.retail.schema import customer as customer_table
from possync.store.app import create_app
from possync.webui import csrf
from tests.e2e.helpers import make_store


def test_a_non_ascii_csrf_token_is_refused_not_a_500(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """hmac.compare_digest raises TypeError on str with non-ASCII characters."""
    assert not csrf.same("token", "\x80")
    assert not csrf.same("tökén", "token")
    assert csrf.same("tökén", "tökén")
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        client.get("/console/login")  # sets the sign-in form's cookie
        forged = client.post(
            "/console/login", data={"username": "a", "password": "b", "csrf_token": "é\x80"}
        )
    assert forged.status_code == 403


def test_a_change_whose_op_is_a_list_is_an_invalid_batch_not_a_500(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``op in frozenset`` raised TypeError for an unhashable op."""
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    code = store_admin.add_terminal(store, "T01").registration_code
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        secret = client.post("/api/v1/register", json={"node": "T01", "code": code}).json()
        token = base64.b64encode(f"T01:{secret['secret']}".encode()).decode()
        change = {"seq": 1, "table": "customer", "op": ["I"], "row": {}}
        body = {"protocol": 2, "source": "T01", "after": 0, "through": 1, "changes": [change]}
        answer = client.post(
            "/api/v1/sync/push",
            content=orjson.dumps(body),
            headers={"authorization": f"Basic {token}", "possync-protocol": "2"},
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_batch"
    assert "changes[0].op" in answer.json()["error"]["message"]


NUL = "T\x00"
# SQLite holds NUL like any character: the ordinary answers (the customer is taken).
# PostgreSQL cannot: refused before the statement runs (sync/db.py).
EXPECTED_FOR_NUL = {
    "sqlite": {"register": 403, "basic": 401, "receipt": 404, "load": 200, "push": 200},
    "postgresql": dict.fromkeys(("register", "basic", "receipt", "load", "push"), 422),
}


def test_text_with_a_nul_character_is_refused_not_a_500_on_postgresql(db_url: str) -> None:
    """PostgreSQL cannot store NUL in text (psycopg raised DataError, a 500) wherever
    a request's string reached a query: every way in gets a 4xx (or its ordinary
    answer on SQLite)."""
    store = make_store(db_url, items=5)
    code = store_admin.add_terminal(store, "T01").registration_code
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        secret = client.post("/api/v1/register", json={"node": "T01", "code": code}).json()
        token = base64.b64encode(f"T01:{secret['secret']}".encode()).decode()
        t01 = {"authorization": f"Basic {token}", "possync-protocol": "2"}
        nul_node = base64.b64encode(f"{NUL}:x".encode()).decode()
        # a customer row of the right shape, every text a NUL
        customer = {
            str(c.name): {int: 0, bool: False}.get(c.type.python_type, NUL)
            for c in customer_table.columns
        }
        client.get("/console/login")  # the sign-in form's cookie
        login_token = client.cookies.get("possync_login_csrf") or ""
        answers = {
            "register": client.post("/api/v1/register", json={"node": NUL, "code": NUL}),
            "basic": client.get(
                "/api/v1/sync/pull?after=0", headers={"authorization": f"Basic {nul_node}"}
            ),
            "receipt": client.get("/api/v1/pos/receipts/S01%00", headers=t01),
            "load": client.get(
                "/api/v1/sync/initial-load/item", params={"after": '["\\u0000"]'}, headers=t01
            ),
            "push": client.post(
                "/api/v1/sync/push",
                headers=t01,
                content=orjson.dumps(
                    {
                        "protocol": 2,
                        "source": "T01",
                        "after": 0,
                        "through": 1,
                        "changes": [{"seq": 1, "table": "customer", "op": "I", "row": customer}],
                    }
                ),
            ),
            "sign-in": client.post(
                "/console/login",
                data={"username": NUL, "password": NUL, "csrf_token": login_token},
            ),
        }
    store.dispose()
    got = {what: answer.status_code for what, answer in answers.items()}
    expected = EXPECTED_FOR_NUL[store.dialect.name]
    # the console's sign-in: the form's 401 (wrong password) on SQLite, 422 on PostgreSQL
    expected["sign-in"] = 401 if store.dialect.name == "sqlite" else 422
    assert got == expected, {w: answers[w].text[:200] for w in got}


BEYOND_64_BITS = ("9223372036854775808", "-9223372036854775809", "1" * 30)


def test_a_basket_line_number_beyond_64_bits_is_a_422_not_a_500(terminal_dir) -> None:  # type: ignore[no-untyped-def]
    """SQLite raised OverflowError binding the line number (found by the long run)."""
    from possync.terminal.web.app import create_app as screen_app
    from possync.terminal.web.sessions import COOKIE, Sessions

    sessions = Sessions()
    ada = sessions.create("ADA", "Ada Lovelace")
    app = screen_app(terminal_dir, sessions=sessions)
    with TestClient(app, raise_server_exceptions=False, cookies={COOKIE: ada.token}) as client:
        for number in BEYOND_64_BITS:
            for path in (f"/basket/lines/{number}", f"/basket/lines/{number}/remove"):
                answer = client.post(path, data={"delta": "1"}, headers={"x-csrf-token": ada.csrf})
                assert answer.status_code == 422, (path, answer.status_code)


def test_a_quarantine_entry_id_beyond_its_column_is_a_422_not_a_500(db_url: str) -> None:
    """The database raised an overflow on the entry's id (found probing the console,
    then beyond 32 bits on PostgreSQL by the console's long fuzz run)."""
    from possync.store.console import accounts
    from possync.sync.db import write_tx

    store = make_store(db_url, items=5)
    with write_tx(store) as conn:
        accounts.add_admin(conn, "admin", "correct horse battery")
        token, session = accounts.open_session(conn, "admin")
    cookies = {"possync_console": token}
    with TestClient(create_app(store), raise_server_exceptions=False, cookies=cookies) as client:
        # (its column is an INTEGER: 32 bits on PostgreSQL)
        for number in ("2147483648", *BEYOND_64_BITS):
            page = client.get(f"/console/quarantine/{number}", follow_redirects=False)
            assert page.status_code == 422, page.status_code
            for action in ("resubmit", "discard"):
                answer = client.post(
                    f"/console/quarantine/{number}/{action}",
                    data={"note": "x"},
                    headers={"x-csrf-token": session.csrf_token},
                    follow_redirects=False,
                )
                assert answer.status_code == 422, (action, answer.status_code)


def test_a_catalog_that_is_not_csv_is_refused_not_a_500(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """csv.Error (a carriage return in an unquoted field, a field over csv's limit)
    escaped the catalog import: a 500 on the console (found by its fuzz test)."""
    from possync.store.console import accounts
    from possync.sync.db import write_tx

    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    with write_tx(store) as conn:
        accounts.add_admin(conn, "admin", "correct horse battery")
        token, session = accounts.open_session(conn, "admin")
    header = "sku,barcode,name,price,tax_code\n"
    cookies = {"possync_console": token}
    with TestClient(create_app(store), raise_server_exceptions=False, cookies=cookies) as client:
        for body in (header + "\r0\n", header + "S" * 200_000 + ",1,Long,1.00,STD\n"):
            answer = client.post(
                "/console/items-import",
                files={"file": ("items.csv", body.encode())},
                headers={"x-csrf-token": session.csrf_token},
            )
            assert answer.status_code == 422, answer.status_code
            assert "not CSV" in answer.text

"""The 5xx the fuzz tests found, each kept as a plain test of its own."""

from __future__ import annotations

import base64

import orjson
from fastapi.testclient import TestClient

from possync.retail import store_admin
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

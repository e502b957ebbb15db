"""Bad requests to a real store server: each gets a precise 4xx JSON error, nothing
of it is applied, and the server keeps serving."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from possync.retail import store_admin
from possync.retail.schema import receipt
from possync.store.process import StoreProcess
from possync.sync.db import read_tx
from possync.sync.peers import get as get_peer
from possync.terminal import provision
from tests.e2e.helpers import cli, count, make_store

pytestmark = pytest.mark.e2e


def basic(node: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{node}:{secret}".encode()).decode()
    return {"authorization": f"Basic {token}", "content-type": "application/json"}


def receipt_row(terminal: str = "T01", store: str = "S01", **over: Any) -> dict[str, Any]:
    row = {
        "receipt_id": "r-1",
        "receipt_no": f"{store}-{terminal}-000001",
        "kind": "sale",
        "store_id": store,
        "terminal_id": terminal,
        "cashier_id": None,
        "customer_id": None,
        "original_receipt_id": None,
        "currency": "EUR",
        "total": 100,
        "tax_total": 17,
        "created_at": "2026-01-01T00:00:00Z",
    }
    return {**row, **over}


def batch(*rows: dict[str, Any], after: int = 0, source: str = "T01") -> dict[str, Any]:
    changes = [
        {"seq": after + i, "table": "receipt", "op": "I", "row": r}
        for i, r in enumerate(rows, start=1)
    ]
    return {
        "protocol": 1,
        "source": source,
        "after": after,
        "through": after + len(rows),
        "changes": changes,
    }


@pytest.fixture
def served(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        code = store_admin.add_terminal(store, "T01").registration_code
        term = provision.register(tmp_path / "t1", server.url, "T01", code)
        store_admin.add_terminal(store, "T02")
        with read_tx(term.engine) as conn:
            from possync.sync import peers

            secret = peers.parent(conn).secret  # type: ignore[union-attr]
        yield server, store, secret


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (b"{not json", 400, "malformed_json", "not valid JSON"),
        (b"", 400, "malformed_json", "empty"),
        (b"[1, 2]", 422, "invalid_batch", "JSON object"),
        (
            orjson.dumps({**batch(receipt_row()), "after": "zero"}),
            422,
            "invalid_batch",
            "after: expected a non-negative integer",
        ),
        (
            orjson.dumps(batch(receipt_row(total="1.00"))),
            422,
            "invalid_batch",
            "changes[0].row.total: expected an integer, got str",
        ),
        (
            orjson.dumps(
                {
                    **batch(receipt_row()),
                    "changes": [{"seq": 1, "table": "secrets", "op": "I", "row": {}}],
                }
            ),
            422,
            "invalid_batch",
            "'secrets' is not a table",
        ),
        (orjson.dumps(batch(receipt_row(), after=5)), 409, "out_of_sequence", "only up to 0"),
        (
            orjson.dumps(batch(receipt_row(terminal="T02"))),
            403,
            "out_of_scope",
            "T01 may only write its own rows",
        ),
        (
            orjson.dumps(batch(receipt_row(store="S02"))),
            403,
            "out_of_scope",
            "outside what T01 may write",
        ),
        (orjson.dumps(batch(receipt_row(), source="T02")), 403, "out_of_scope", "credentials"),
    ],
)
def test_bad_push_is_refused_precisely_and_changes_nothing(
    served: Any, body: bytes, status: int, code: str, message: str
) -> None:
    server, store, secret = served
    response = httpx.post(
        server.url + "/api/v1/sync/push", content=body, headers=basic("T01", secret)
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert message in error["message"]
    assert count(store, receipt) == 0
    with read_tx(store) as conn:
        assert get_peer(conn, "T01").inbound_seq == 0  # type: ignore[union-attr]
    assert httpx.get(server.url + "/api/v1/health").status_code == 200


def test_credentials_are_required_and_checked(served: Any) -> None:
    server, store, secret = served
    body = orjson.dumps(batch(receipt_row()))
    cases = [
        ({}, "missing credentials"),
        (basic("T01", "wrong"), "wrong secret"),
        (basic("T02", secret), "wrong secret"),  # T01's secret does not open T02
        ({"authorization": "Bearer abc"}, "unsupported authorization scheme"),
        ({"authorization": "Basic !!!"}, "malformed"),
    ]
    for headers, message in cases:
        for method, path in (
            ("POST", "sync/push"),
            ("GET", "sync/pull?after=0"),
            ("POST", "sync/initial-load"),
        ):
            r = httpx.request(method, f"{server.url}/api/v1/{path}", content=body, headers=headers)
            assert r.status_code == 401, (headers, path, r.text)
            assert r.headers["www-authenticate"].startswith("Basic")
            assert message in r.json()["error"]["message"]
    assert count(store, receipt) == 0


def test_oversized_bodies_are_refused(served: Any) -> None:
    server, _store, secret = served
    huge = b'{"pad": "' + b"x" * (33 * 1024 * 1024) + b'"}'
    r = httpx.post(server.url + "/api/v1/sync/push", content=huge, headers=basic("T01", secret))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"

    def chunks():  # no content-length: the limit is enforced while reading
        for _ in range(40):
            yield b"x" * (1024 * 1024)

    r = httpx.post(server.url + "/api/v1/sync/push", content=chunks(), headers=basic("T01", secret))
    assert r.status_code == 413
    assert httpx.get(server.url + "/api/v1/health").status_code == 200


def test_registration_refuses_wrong_and_reused_codes(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        code = store_admin.add_terminal(store, "T01").registration_code
        r = httpx.post(server.url + "/api/v1/register", json={"node": "T01", "code": "AAAA"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "registration_failed"
        first = cli(
            "pos",
            "init",
            "--data",
            str(tmp_path / "a"),
            "--store-url",
            server.url,
            "--terminal",
            "T01",
            "--code",
            code.lower(),
        )  # codes are case-insensitive
        assert "ready" in first.stdout
        again = cli(
            "pos",
            "init",
            "--data",
            str(tmp_path / "b"),
            "--store-url",
            server.url,
            "--terminal",
            "T01",
            "--code",
            code,
            expect=1,
        )
        assert "no pending registration" in again.stderr


def test_unknown_routes_and_bad_queries_get_json_errors(served: Any) -> None:
    server, _, secret = served
    r = httpx.get(server.url + "/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = httpx.get(server.url + "/api/v1/sync/pull?after=-1", headers=basic("T01", secret))
    assert r.status_code == 422 and "after" in r.json()["error"]["message"]
    r = httpx.get(server.url + "/api/v1/sync/initial-load/receipt", headers=basic("T01", secret))
    assert r.status_code == 422 and "not part of the initial load" in r.json()["error"]["message"]

"""Out-of-range numbers and ill-shaped keys on the sync API (issue 11): each is a
precise 4xx JSON error, never a 500, and nothing of it is written.

Run in-process against the store server's app (TestClient), once on SQLite and once
on PostgreSQL: the two databases fail differently on a number beyond 64 bits.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from possync.retail.schema import receipt
from possync.sync.db import read_tx
from possync.sync.schema import sync_peer

TOO_BIG = 2**63  # one above what a BIGINT column holds


# What a refused request must leave as it was: the terminal's cursors and reported
# state (not its last_error, which records the refusal on purpose), the change log
# and what was received.
WATCHED = (
    "inbound_seq",
    "outbound_seq",
    "reported_head",
    "sent_through",
    "reported_mode",
    "last_pull_at",
    "last_push_at",
)


def state(store: sa.Engine) -> dict[str, Any]:
    with read_tx(store) as conn:
        peer = conn.execute(
            sa.select(*(sync_peer.c[c] for c in WATCHED)).where(sync_peer.c.node_id == "T01")
        ).one()
        return {
            "peer": dict(peer._mapping),
            "changes": conn.exec_driver_sql("SELECT count(*) FROM sync_change").scalar(),
            "receipts": conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar(),
        }


def refused(answer: Any, status: int, code: str, words: str) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and words in error["message"], error


def push_body(**over: Any) -> bytes:
    body = {"protocol": 1, "source": "T01", "after": 0, "through": 0, "changes": []}
    return json.dumps({**body, **over}).encode()  # orjson refuses to write 2**70


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"through": TOO_BIG}, "through: expected a non-negative integer of at most"),
        ({"after": TOO_BIG, "through": TOO_BIG}, "after: expected a non-negative integer"),
        ({"through": 2**70}, "through: expected a non-negative integer of at most"),
    ],
)
def test_a_push_beyond_64_bits_is_refused(api: Any, over: dict[str, Any], words: str) -> None:
    client, store, auth = api
    before = state(store)
    answer = client.post(
        "/api/v1/sync/push",
        content=push_body(**over),
        headers={**auth, "content-type": "application/json"},
    )
    refused(answer, 422, "invalid_batch", words)
    assert state(store) == before


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("pull", {"after": TOO_BIG}, "after"),
        ("pull", {"after": 0, "head": TOO_BIG}, "head"),
        ("pull", {"after": 0, "head": 2**64 + 5}, "head"),
        ("lag", {"after": TOO_BIG}, "after"),
    ],
)
def test_pull_and_lag_beyond_64_bits_are_refused(
    api: Any, path: str, params: dict[str, int], name: str
) -> None:
    client, store, auth = api
    before = state(store)
    answer = client.get(f"/api/v1/sync/{path}", params=params, headers=auth)
    refused(answer, 422, "invalid_request", f"query.{name}: Input should be less than or equal")
    assert state(store) == before
    # the largest number a cursor holds is an ordinary question, answered (409: the
    # store's log is not that long)
    largest = {k: min(v, 2**63 - 1) for k, v in params.items()}
    answer = client.get(f"/api/v1/sync/{path}", params=largest, headers=auth)
    assert answer.status_code in (200, 409), answer.text


@pytest.mark.parametrize(
    ("table", "after", "words"),
    [
        ("item", [[1]], "after: sku must be a string"),
        ("item", [{"sku": "SKU1"}], "after: sku must be a string"),
        ("item", {"sku": "SKU1"}, "after: expected a list of 1 key value(s)"),
        ("item", [1], "after: sku must be a string"),
        ("item", [True], "after: sku must be a string"),
        ("item", [None], "after: sku must be a string"),
        ("doc_series", ["T01", [2]], "after: kind must be a string"),
        ("doc_series", ["T01"], "after: expected a list of 2 key value(s)"),
    ],
)
def test_an_initial_load_key_of_the_wrong_shape_is_refused(
    api: Any, table: str, after: Any, words: str
) -> None:
    client, store, auth = api
    assert client.post("/api/v1/sync/initial-load", headers=auth).status_code == 200
    before = state(store)
    answer = client.get(
        f"/api/v1/sync/initial-load/{table}",
        params={"after": orjson.dumps(after).decode()},
        headers=auth,
    )
    refused(answer, 422, "invalid_batch", words)
    assert state(store) == before
    good = client.get("/api/v1/sync/initial-load/item", params={"after": '["SKU1"]'}, headers=auth)
    assert good.status_code == 200 and good.json()["rows"][0]["sku"] == "SKU2"


def test_an_initial_load_key_longer_than_any_is_refused(api: Any) -> None:
    client, _, auth = api
    answer = client.get(
        "/api/v1/sync/initial-load/item", params={"after": "[" + "1," * 5000 + "1]"}, headers=auth
    )
    refused(answer, 422, "invalid_request", "after")

"""Sync protocol versions on the store's API (in-process): what each request speaks,
and how the store shapes rows for a till of the previous release."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync import __version__
from possync.retail import store_admin
from possync.retail.replication import PROTOCOL
from possync.retail.schema import receipt_line
from possync.sync import quarantine
from possync.sync.db import read_tx
from possync.transport.protocol import HEADER
from tests.e2e.helpers import line_row


def _line(seq: int, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "table": "receipt_line", "op": "I", "row": line_row(**extra)}


def _batch(protocol: int, *changes: dict[str, Any]) -> dict[str, Any]:
    through = max((c["seq"] for c in changes), default=0)
    return {
        "protocol": protocol,
        "source": "T01",
        "after": 0,
        "through": through,
        "changes": list(changes),
    }


def test_every_answer_names_the_protocol_and_health_tells_the_release(api: Any) -> None:
    client, _, auth = api
    health = client.get("/api/v1/health")
    assert health.headers[HEADER] == str(PROTOCOL)
    assert health.json()["protocols"] == list(range(1, PROTOCOL + 1))
    assert health.json()["version"] == __version__
    refused = client.get("/api/v1/sync/pull?after=0", headers={**auth, HEADER: str(PROTOCOL + 1)})
    assert refused.headers[HEADER] == str(PROTOCOL)  # errors too


def test_a_till_newer_than_its_store_is_told_to_wait(api: Any) -> None:
    client, _, auth = api
    newer = {**auth, HEADER: str(PROTOCOL + 1)}
    for refused in (
        client.get("/api/v1/sync/pull?after=0", headers=newer),
        client.post("/api/v1/sync/push", json=_batch(PROTOCOL + 1, _line(1)), headers=newer),
        client.post("/api/v1/sync/initial-load", headers=newer),
    ):
        error = refused.json()["error"]
        assert (refused.status_code, error["code"]) == (409, "protocol_unsupported")
        assert "the server must be upgraded first" in error["message"]
        assert error["supported"] == list(range(1, PROTOCOL + 1))
    garbled = client.get("/api/v1/sync/pull?after=0", headers={**auth, HEADER: "two"})
    assert garbled.status_code == 409 and "expected a protocol number" in garbled.text


def test_rows_of_a_protocol_1_till_get_the_new_columns_defaults(api: Any) -> None:
    client, store, auth = api
    pushed = client.post("/api/v1/sync/push", json=_batch(1, _line(1)), headers=auth)
    assert pushed.status_code == 200, pushed.text
    with read_tx(store) as conn:
        # A line without its receipt is held, whole, completed with discount 0.
        [held] = quarantine.listing(conn, peer="T01")
        assert held.code == "incomplete" and held.changes[0]["row"]["discount"] == 0
        assert conn.execute(sa.select(receipt_line.c.discount)).scalars().all() == []
    # A protocol-1 row may not carry a column protocol 1 did not have.
    bad = client.post("/api/v1/sync/push", json=_batch(1, _line(2, discount=5)), headers=auth)
    assert bad.status_code == 422 and "unknown column for table receipt_line" in bad.text
    # A protocol-2 row must carry it.
    bad = client.post("/api/v1/sync/push", json=_batch(2, _line(2)), headers=auth)
    assert bad.status_code == 422 and "missing column(s) discount" in bad.text


def test_a_protocol_1_till_pulls_and_loads_rows_in_its_own_shape(api: Any) -> None:
    client, store, auth = api
    old = {"store_id", "name", "currency", "offline_enabled"}
    for speaks, columns in (({}, old), ({HEADER: "2"}, old | {"address", "vat_number"})):
        load = client.post("/api/v1/sync/initial-load", headers={**auth, **speaks}).json()
        chunk = client.get("/api/v1/sync/initial-load/store", headers={**auth, **speaks}).json()
        assert set(chunk["rows"][0]) == columns
        store_admin.set_details(store, address=f"{len(columns)} Main St")
        pulled = client.get(
            f"/api/v1/sync/pull?after={load['cursor']}", headers={**auth, **speaks}
        ).json()
        assert pulled["protocol"] == (2 if speaks else 1)
        [change] = [c for c in pulled["changes"] if c["table"] == "store"]
        assert set(change["row"]) == columns

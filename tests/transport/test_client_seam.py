"""The real SyncClient, through its transport seam, against the store's real app in
process: registration, a push and a pull go through the client's own encoding,
headers, authentication and answer checks, with no socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.retail.replication import PROTOCOL
from possync.retail.schema import customer
from possync.store.app import create_app
from possync.sync import peers
from possync.sync.batch import Batch
from possync.sync.db import read_tx
from possync.sync.log import Change
from possync.transport.client import ParentTooOld, Refused, SyncClient
from tests.e2e.helpers import make_store

BASE = "http://store.invalid"  # never resolved: every request goes through the transport


def bridge(app_client: TestClient) -> httpx.MockTransport:
    """An httpx transport that hands each request, as the client built it, to the
    app, and its answer back as the client will read it."""

    def handle(request: httpx.Request) -> httpx.Response:
        answer = app_client.request(
            request.method,
            request.url.raw_path.decode(),
            content=request.read(),
            headers=request.headers,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handle)


@pytest.fixture
def store_and_transport(db_url: str) -> Iterator[tuple[sa.Engine, httpx.MockTransport]]:
    store = make_store(db_url, items=5)
    with TestClient(create_app(store), raise_server_exceptions=False) as app_client:
        yield store, bridge(app_client)
    store.dispose()


def customer_change(seq: int) -> Change:
    # As a release-0.1.0 till (protocol 1) sends a customer it created.
    row = {
        "customer_id": "c-t01-1",
        "customer_no": "S01-T01-C000001",
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "phone": None,
        "origin_terminal_id": "T01",
        "created_at": "2026-03-01T10:00:00.000Z",
    }
    return Change(seq=seq, table="customer", op="I", row=row)


def test_a_push_and_a_pull_through_the_client_seam(
    store_and_transport: tuple[sa.Engine, httpx.MockTransport],
) -> None:
    store, transport = store_and_transport
    code = store_admin.add_terminal(store, "T01").registration_code
    with SyncClient(BASE, transport=transport, protocol=PROTOCOL) as anonymous:
        assert anonymous.health()["protocols"] == list(range(1, PROTOCOL + 1))
        secret = anonymous.register("T01", code)["secret"]

    with SyncClient(BASE, "T01", secret, transport=transport, protocol=PROTOCOL) as client:
        cursor = client.start_load()["cursor"]

        batch = Batch(source="T01", after=0, through=1, changes=[customer_change(1)], protocol=1)
        assert client.push(batch) == 1
        with read_tx(store) as conn:
            stored = conn.execute(sa.select(customer.c.customer_no, customer.c.name)).all()
        assert [tuple(r) for r in stored] == [("S01-T01-C000001", "Ada Lovelace")]
        assert client.push(batch) == 1  # sent again: acknowledged, stored once
        with read_tx(store) as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(customer)).scalar() == 1

        store_admin.set_details(store, address="2 Harbour Road")
        pulled = client.pull(after=cursor, limit=100)
        stores = [c["row"] for c in pulled["changes"] if c["table"] == "store"]
        assert [row["address"] for row in stores] == ["2 Harbour Road"]
        # The till's own customer does not come back to it.
        assert [c for c in pulled["changes"] if c["table"] == "customer"] == []

    # The client's error decoding, through the same seam: a wrong secret.
    intruder = SyncClient(BASE, "T01", "wrong", transport=transport, protocol=PROTOCOL)
    with intruder, pytest.raises(Refused) as refused:
        intruder.pull(after=0, limit=10)
    assert refused.value.status == 401


def test_a_500_without_protocol_header_is_a_failure_not_an_old_server() -> None:
    # An unhandled error (or a proxy in front of the store) answers 500 with no
    # protocol header: that says nothing of the server's release.
    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="Internal Server Error")

    client = SyncClient(BASE, "T01", "s", transport=httpx.MockTransport(failing), protocol=PROTOCOL)
    with client, pytest.raises(Refused) as refused:
        client.pull(after=0, limit=10)
    assert type(refused.value) is Refused
    assert (refused.value.status, refused.value.code) == (500, "http_error")
    assert "Internal Server Error" in refused.value.message

    # A server that answers normally without the header is a release 0.1.0 server.
    def old(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"changes": []})

    client = SyncClient(BASE, "T01", "s", transport=httpx.MockTransport(old), protocol=PROTOCOL)
    with client, pytest.raises(ParentTooOld):
        client.pull(after=0, limit=10)


@pytest.mark.postgres
def test_a_push_rolled_back_again_and_again_is_refused_as_busy_and_applies_nothing(
    pg_url: str,
) -> None:
    store = make_store(pg_url, items=5)
    # Every attempt fails as a serialization failure would under load (40001, which
    # the push retries), raised by the database itself.
    with store.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION always_busy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER always_busy BEFORE INSERT ON customer "
            "FOR EACH ROW EXECUTE FUNCTION always_busy()"
        )
    code = store_admin.add_terminal(store, "T01").registration_code
    with TestClient(create_app(store), raise_server_exceptions=False) as app_client:
        transport = bridge(app_client)
        with SyncClient(BASE, transport=transport, protocol=PROTOCOL) as anonymous:
            secret = anonymous.register("T01", code)["secret"]
        with SyncClient(BASE, "T01", secret, transport=transport, protocol=PROTOCOL) as client:
            batch = Batch(source="T01", after=0, through=1, changes=[customer_change(1)])
            with pytest.raises(Refused) as refused:
                client.push(batch)
    assert (refused.value.status, refused.value.code) == (503, "busy")
    assert refused.value.details["retry_after"] == 1
    with read_tx(store) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(customer)).scalar() == 0
        assert peers.get(conn, "T01").inbound_seq == 0
    store.dispose()

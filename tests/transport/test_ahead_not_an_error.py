"""A push refused only because it overtook the batch before it is no error of the
till: the store does not record it as the till's last error (what the replication
dashboard and ``store status`` show), and the till's own status stays clean. Every
other refusal is still recorded as before.

The till keeps two batches in flight (transport/exchange.py). When the batch before
went to another worker process, or is still on its way, the later one reaches the
apply first, is refused as out of sequence (its ``after`` beyond the store's cursor)
and is sent again once the earlier one is acknowledged: the sync worked.

In-process against the store's app (TestClient), once on SQLite and once on
PostgreSQL; and a whole sync against a real store process, with the first batch
held back as over a slow connection.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.store.process import StoreProcess
from possync.sync import peers, state
from possync.sync.batch import Batch
from possync.sync.db import read_tx
from possync.terminal import syncer
from possync.terminal.local import Terminal
from possync.terminal.status import terminal_status
from possync.transport.client import Refused, SyncClient
from tests.e2e.faults import assert_in_step, holdings, provisioned, sell
from tests.e2e.helpers import make_store

Api = tuple[TestClient, sa.Engine, dict[str, str]]  # the fixture of tests/transport/conftest.py


def recorded_error(store: sa.Engine) -> tuple[str | None, str | None]:
    """T01's last error and when, as the store keeps them for its dashboard."""
    with read_tx(store) as conn:
        seen = peers.activity(conn)["T01"]
    return seen["last_error"], seen["last_error_at"]


def push_body(**over: Any) -> bytes:
    body = {"protocol": 1, "source": "T01", "after": 0, "through": 0, "changes": []}
    return json.dumps({**body, **over}).encode()


def post_push(api: Api, **over: Any) -> Any:
    client, _, auth = api
    return client.post(
        "/api/v1/sync/push",
        content=push_body(**over),
        headers={**auth, "content-type": "application/json"},
    )


# -- in-process: the store's app ------------------------------------------------------


def test_a_batch_ahead_of_the_cursor_is_refused_but_not_recorded(api: Api) -> None:
    _, store, _ = api
    # The batch after 0..80, sent before that one reached the store.
    answer = post_push(api, after=80, through=160, head=160)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "out_of_sequence" and error["expected_after"] == 0, error
    assert recorded_error(store) == (None, None)
    # The batch before it, then it again: acknowledged, nothing recorded meanwhile.
    assert post_push(api, after=0, through=80, head=160).json() == {"acknowledged": 80}
    assert post_push(api, after=80, through=160, head=160).json() == {"acknowledged": 160}
    assert recorded_error(store) == (None, None)


def test_a_batch_ahead_leaves_an_earlier_error_as_it_was(api: Api) -> None:
    """Not recorded means neither recorded nor taken for a sync that worked."""
    _, store, _ = api
    assert post_push(api, source="T02").status_code == 403
    before = recorded_error(store)
    assert before[0] is not None and before[0].startswith("out_of_scope: ")
    assert post_push(api, after=80, through=160).status_code == 409
    assert recorded_error(store) == before


def _bad_batch(api: Api) -> Any:
    return post_push(api, after=5, through=0)


def _another_source(api: Api) -> Any:
    return post_push(api, source="T02")


def _log_went_back(api: Api) -> Any:
    # The store has applied T01's changes up to 8; T01's log now ends at 2.
    assert post_push(api, after=0, through=8, head=8).json() == {"acknowledged": 8}
    return post_push(api, after=0, through=0, head=2)


def _pull_beyond_the_log(api: Api) -> Any:
    # Out of sequence too, but a pull asking beyond the store's log: the store's
    # database went back. A real error.
    client, _, auth = api
    return client.get("/api/v1/sync/pull", params={"after": 10**9}, headers=auth)


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        (_bad_batch, 422, "invalid_batch"),
        (_another_source, 403, "out_of_scope"),
        (_log_went_back, 409, "log_diverged"),
        (_pull_beyond_the_log, 409, "out_of_sequence"),
    ],
)
def test_a_real_refusal_is_still_recorded(api: Api, send: Any, status: int, code: str) -> None:
    _, store, _ = api
    answer = send(api)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    error, at = recorded_error(store)
    assert error is not None and error.startswith(f"{code}: "), error
    assert at is not None


# -- a whole sync against a real store process ----------------------------------------

BATCH = 80  # changes: 10 sales of 8 changes each
SALES = 50  # so 5 batches
HELD_BACK = 1.0  # seconds: the first batch's slow connection


@dataclass(frozen=True)
class Refusal:
    after: int  # where the refused batch started
    code: str
    expected_after: Any
    recorded: tuple[str | None, str | None]  # T01's last error on the store right then


class FirstBatchHeldBack:
    """The till's real client, but the first batch it pushes leaves only after
    ``HELD_BACK`` seconds: the batch sent after it reaches the store first. Each
    refused push is kept with what the store recorded of it by the time it answered
    (it records before answering)."""

    def __init__(self, client: SyncClient, store: sa.Engine) -> None:
        self.client, self.store = client, store
        self.first: Batch | None = None
        self.lock = threading.Lock()
        self.refusals: list[Refusal] = []

    def __enter__(self) -> FirstBatchHeldBack:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:  # pull, lag...: the real client's
        return getattr(self.client, name)

    def push(self, batch: Batch) -> int:
        with self.lock:
            if self.first is None:
                self.first = batch
        if batch is self.first:
            time.sleep(HELD_BACK)
        try:
            return self.client.push(batch)
        except Refused as exc:
            expected = exc.details.get("expected_after")
            seen = recorded_error(self.store)
            self.refusals.append(Refusal(batch.after, exc.code, expected, seen))
            raise


@pytest.mark.e2e
def test_a_sync_whose_batch_overtook_the_one_before_shows_no_error(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(db_url)
    server = StoreProcess(db_url, log_path=tmp_path / "store.log").start()
    till: Terminal | None = None
    try:
        till = provisioned(store, server.url, tmp_path / "T01")
        sell(till, SALES, random.Random(5))
        real_client = till.client
        held: list[FirstBatchHeldBack] = []

        def client(url: str | None = None, timeout: float = 60.0) -> FirstBatchHeldBack:
            held.append(FirstBatchHeldBack(real_client(url, timeout), store))
            return held[-1]

        monkeypatch.setattr(till, "client", client)
        monkeypatch.setattr(syncer, "PUSH_BATCH", BATCH)  # a backlog: batches in flight

        report = syncer.sync(till, url=server.url)

        # The second batch reached the store before the first and was refused, as
        # ahead of the store's cursor; sent again after the first, the sync worked.
        refusals = [r for c in held for r in c.refusals]
        # (A batch sent behind a refused one may be refused too; its outcome is not
        # waited for: exchange._drain.)
        assert refusals, "no batch overtook the one before it"
        assert report.sent_again >= 1
        for refusal in refusals:
            assert refusal.code == "out_of_sequence", refusal
            assert isinstance(refusal.expected_after, int), refusal
            assert refusal.expected_after < refusal.after, refusal
            # ... and the store's dashboard showed no error for T01 meanwhile.
            assert refusal.recorded == (None, None), refusal
        assert holdings(store).receipts == SALES
        assert_in_step(store, till)
        assert recorded_error(store) == (None, None)
        # The till's own status is clean too.
        status = terminal_status(till, probe_store=False)
        assert (status["last_error"], status["last_error_at"]) == (None, None)
        assert status["pending_changes"] == 0
        with read_tx(till.engine) as conn:
            assert state.get(conn, syncer.FAILING_SINCE) is None

        # A batch from a log that went back (it ends before what the store applied)
        # is still shown as the till's error.
        with real_client(server.url) as direct, pytest.raises(Refused) as refused:
            direct.push(Batch("T01", 0, 0, [], head=8))
        assert refused.value.code == "log_diverged"
        error, at = recorded_error(store)
        assert error is not None and error.startswith("log_diverged: "), error
        assert at is not None
    finally:
        if till is not None:
            till.close()
        server.stop()
        store.dispose()

"""A backlog pushed with two batches in flight (``exchange.push``) against a real
store server process: the store applies them in order, whatever order they arrive
in, each once; a batch that overtakes the one before it is sent again after it; a
connection cut while two batches are in flight loses or doubles nothing.

Faults are injected around the real HTTP client (a push held back, as on a slow
connection) and by the cutting proxy (tests/e2e/proxy.py); each test reads both
databases to tell which case the fault hit.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.store.process import StoreProcess
from possync.sync.batch import Batch
from possync.terminal import syncer
from possync.terminal.local import Terminal
from possync.transport import exchange
from possync.transport.client import SyncClient, Unreachable
from tests.e2e.faults import assert_in_step, cursors, holdings, provisioned, sell
from tests.e2e.helpers import make_store
from tests.e2e.proxy import Cut, CuttingProxy

pytestmark = pytest.mark.e2e

BATCH = 80  # changes: 10 sales of 8 changes each
SALES = 50  # so 5 batches


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, StoreProcess]]:
    engine = make_store(db_url)
    server = StoreProcess(db_url, log_path=tmp_path / "store.log").start()
    try:
        yield engine, server
    finally:
        server.stop()
        engine.dispose()


@pytest.fixture
def till(store: tuple[sa.Engine, StoreProcess], tmp_path: Path) -> Iterator[Terminal]:
    engine, server = store
    term = provisioned(engine, server.url, tmp_path / "T01")
    sell(term, SALES, random.Random(5))
    yield term
    term.close()


class FirstHeldBack:
    """The real client, but the first batch it is asked to push leaves only after
    ``delay`` seconds, as over a slow connection: the batch sent after it reaches the
    store first."""

    def __init__(self, client: SyncClient, delay: float) -> None:
        self.client, self.delay = client, delay
        self.first: Batch | None = None
        self.lock = threading.Lock()

    def push(self, batch: Batch) -> int:
        with self.lock:
            if self.first is None:
                self.first = batch
        if batch is self.first:
            time.sleep(self.delay)
        return self.client.push(batch)


def push(term: Terminal, client: object) -> exchange.SyncReport:
    report = exchange.SyncReport()
    exchange.push(term.child, client, report, lambda *_: None, lambda: False, BATCH)  # type: ignore[arg-type]
    return report


def test_a_batch_that_overtakes_the_one_before_it_is_sent_again_after_it(
    store: tuple[sa.Engine, StoreProcess], till: Terminal
) -> None:
    engine, server = store
    pending = till.child.pending()
    assert pending == SALES * 8
    with till.client(server.url) as client:
        held = FirstHeldBack(client, delay=1.0)
        report = push(till, held)
    # The second batch arrived while the store had nothing of the first: refused as
    # out of sequence, then sent again once the first was acknowledged.
    assert held.first is not None and held.first.after == 0
    # At least that one; on a busy machine a later pair may race the same way.
    assert report.sent_again >= 1
    assert report.pushed == pending
    assert report.push_batches == pending // BATCH
    assert holdings(engine).receipts == SALES
    syncer.sync(till, url=server.url)  # the pull that completes a sync
    assert_in_step(engine, till)


def test_the_same_backlog_pushed_in_flight_in_order_needs_no_resend(
    store: tuple[sa.Engine, StoreProcess], till: Terminal
) -> None:
    engine, server = store
    with till.client(server.url) as client:
        report = push(till, client)
    assert report.pushed == SALES * 8
    assert report.push_batches == SALES * 8 // BATCH
    assert holdings(engine).receipts == SALES
    syncer.sync(till, url=server.url)
    assert_in_step(engine, till)


@pytest.mark.parametrize("response", [0, 1])
def test_a_response_cut_with_two_batches_in_flight_loses_and_doubles_nothing(
    store: tuple[sa.Engine, StoreProcess], till: Terminal, response: int
) -> None:
    engine, server = store
    with CuttingProxy(server.port, Cut("response", response, -1)) as proxy:
        with till.client(proxy.url) as client, pytest.raises(Unreachable):
            push(till, client)
        cut = proxy.sizes("response")
    # Which case the cut hit: the store applied more of the till's log than the
    # till knows to be acknowledged (an acknowledgement lost after the apply).
    c = cursors(engine, till)
    assert c.store_inbound > c.term_pushed, (c, cut)
    # Nothing was sent after the cut but what was already in flight: the batches
    # before the cut one, it, and the one behind it.
    assert holdings(engine).receipts <= (response + 2) * BATCH // 8
    report = syncer.sync(till, url=server.url)
    assert report.pushed <= SALES * 8
    assert_in_step(engine, till)

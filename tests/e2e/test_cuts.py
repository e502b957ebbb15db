"""Syncs cut at chosen bytes of their requests and of their responses: push, pull
and initial load, against a real store server process.

A clean exchange is first recorded through the cutting proxy (which requests and
responses it makes, and their sizes); then, from the same kind of starting state
each time, the exchange is cut at offsets spread over every request and every
response: the first byte, the second, the last byte of the head, the first byte
of the body, the last byte, and seeded random points in between. After each cut
the test reads both databases to tell which case the cut hit, and checks that it
is the case that cut must produce:

* push: the request cut, nothing of the batch is on the store (its cursor for the
  terminal and its receipts unchanged); the response cut, the store applied the
  batch but the terminal's push cursor did not move (acknowledgement lost);
* pull: the first pull cut, the terminal applied nothing; the request that
  acknowledges it cut, the terminal applied the batch but the store's
  ``outbound_seq`` for it is behind (acknowledgement not seen); the last answer
  cut, both have it;
* initial load: exactly the chunks whose answers arrived are committed.

Then the sync is run again and both sides must hold what one clean sync gives.
Every case must occur at least once, so the test fails if cuts stop reaching a
part of the exchange. By default a run makes 68 cuts (20 of a push, 24 of a pull,
24 of an initial load); ``POSSYNC_CUT_SCALE=N`` makes N times as many random points
and ``POSSYNC_CUT_SEED`` other ones; bench/soak_cuts.py runs many more.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import master_data, store_admin
from possync.retail.schema import stock_level
from possync.store.process import StoreProcess
from possync.sync.db import read_tx, write_tx
from possync.sync.schema import sync_load_progress
from possync.terminal import provision, syncer
from possync.terminal.local import Terminal
from possync.transport.client import Unreachable
from tests.e2e.faults import (
    adjust_on_store,
    assert_in_step,
    cursors,
    holdings,
    provisioned,
    sell,
)
from tests.e2e.helpers import make_store
from tests.e2e.proxy import Cut, CuttingProxy, Direction, Message

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("POSSYNC_CUT_SEED", "1010"))
SCALE = int(os.environ.get("POSSYNC_CUT_SCALE", "1"))  # more random points per message


def cut_points(messages: list[Message], rng: random.Random, random_points: int) -> list[Cut]:
    """Offsets spread over each message: its edges and the boundary of head and body,
    then random points in its head and in its body."""
    cuts = []
    for m in messages:
        cuts += [
            Cut(m.direction, m.index, 0),
            Cut(m.direction, m.index, 1),
            Cut(m.direction, m.index, -1, body=True),  # the head but its last byte
            Cut(m.direction, m.index, 0, body=True),  # the head, no byte of the body
            Cut(m.direction, m.index, -1),  # all but the last byte
        ]
        cuts += [Cut(m.direction, m.index, rng.random()) for _ in range(random_points)]
    return cuts


def cut_once(url_port: int, cut: Cut, run: object) -> Message:
    """Run ``run(url)`` through a proxy that makes ``cut``; it must fail as a network
    failure does. Returns the message the cut landed in."""
    with CuttingProxy(url_port, cut) as proxy, pytest.raises(Unreachable):
        run(proxy.url)  # type: ignore[operator]
    assert proxy.done is not None, f"{cut} was never reached: {proxy.messages}"
    assert (proxy.done.message.direction, proxy.done.message.index) == (cut.direction, cut.index)
    return proxy.done.message


def recorded(url_port: int, run: object) -> list[Message]:
    with CuttingProxy(url_port) as proxy:
        run(proxy.url)  # type: ignore[operator]
    return proxy.messages


@pytest.fixture
def store_server(db_url: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, StoreProcess]]:
    engine = make_store(db_url)
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        yield engine, server
    engine.dispose()


def test_push_cut_in_its_request_or_its_response(
    store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    store, server = store_server
    term = provisioned(store, server.url, tmp_path / "t")
    rng = random.Random(SEED)

    def push(url: str) -> None:
        syncer.sync(term, url=url, do_pull=False)

    sell(term, 4, rng)
    exchange = recorded(server.port, push)
    assert [m.line.split()[:2] for m in exchange if m.direction == "request"] == [
        ["POST", "/api/v1/sync/push"]
    ]
    syncer.sync(term)
    cases: Counter[str] = Counter()
    for cut in cut_points(exchange, rng, 5 * SCALE):
        sell(term, 4, rng)
        before, held = cursors(store, term), holdings(store)
        cut_once(server.port, cut, push)
        after, now = cursors(store, term), holdings(store)
        assert after.term_pushed == before.term_pushed  # no acknowledgement ever arrived
        if after.store_inbound == before.store_inbound:
            assert now == held  # not one row of the batch on the store
            case = "cut before the store applied"
        else:
            assert after.store_inbound == after.term_head  # the whole batch, at once
            assert now.receipts == held.receipts + 4 and now.lines == held.lines + 12
            case = "applied, acknowledgement lost"
        expected = {
            "request": "cut before the store applied",
            "response": "applied, acknowledgement lost",
        }
        assert case == expected[cut.direction], cut
        cases[case] += 1
        syncer.sync(term)
        assert_in_step(store, term)
    assert cases["cut before the store applied"] >= 10
    assert cases["applied, acknowledgement lost"] >= 10
    print(f"push: {sum(cases.values())} cuts, {dict(cases)}")


def test_pull_cut_in_its_requests_or_its_responses(
    store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    store, server = store_server
    term = provisioned(store, server.url, tmp_path / "t")
    rng = random.Random(SEED + 1)

    def pull(url: str) -> None:
        syncer.sync(term, url=url, do_push=False)

    adjust_on_store(store, rng)
    exchange = recorded(server.port, pull)
    # The batch, then the pull that acknowledges it (and finds nothing more).
    assert [m.line.split()[1].split("?")[0] for m in exchange if m.direction == "request"] == [
        "/api/v1/sync/pull",
        "/api/v1/sync/pull",
    ]
    cases: Counter[str] = Counter()
    for cut in cut_points(exchange, rng, SCALE):
        adjust_on_store(store, rng)
        before, store_stock = cursors(store, term), holdings(store).on_hand
        term_stock = holdings(term.engine).on_hand
        cut_once(server.port, cut, pull)
        after = cursors(store, term)
        if after.term_pulled == before.term_pulled:
            assert holdings(term.engine).on_hand == term_stock
            assert after.store_outbound == before.store_outbound
            case = "cut before the terminal applied"
        elif after.store_outbound < after.term_pulled:
            assert after.term_pulled == before.store_head
            assert after.store_outbound == before.store_outbound
            assert holdings(term.engine).on_hand == store_stock
            case = "applied, acknowledgement not seen by the store"
        else:
            assert after.store_outbound == after.term_pulled == before.store_head
            assert holdings(term.engine).on_hand == store_stock
            case = "applied and acknowledged, the last answer lost"
        expected: dict[tuple[Direction, int], str] = {
            ("request", 0): "cut before the terminal applied",
            ("response", 0): "cut before the terminal applied",
            ("request", 1): "applied, acknowledgement not seen by the store",
            ("response", 1): "applied and acknowledged, the last answer lost",
        }
        assert case == expected[cut.direction, cut.index], cut
        cases[case] += 1
        syncer.sync(term)
        assert_in_step(store, term)
    assert cases["cut before the terminal applied"] >= 10
    assert cases["applied, acknowledgement not seen by the store"] >= 5
    assert cases["applied and acknowledged, the last answer lost"] >= 5
    print(f"pull: {sum(cases.values())} cuts, {dict(cases)}")


CHUNK = 20


def committed_chunks(term: Terminal) -> int | None:
    """Chunks of the initial load committed on the terminal, from its progress rows
    (None: the load's start was not recorded). A table of R rows loaded by chunks of
    CHUNK has ceil(R / CHUNK) chunks, or one empty chunk when it has no rows."""
    if term.child.load_state() == "none":
        return None
    chunks = 0
    for t in term.child.load_progress():
        rows = t["rows_loaded"]
        chunks += -(-rows // CHUNK) if rows else int(bool(t["done"]))
    return chunks


def fresh_terminal(store: sa.Engine, url: str, data: Path) -> Terminal:
    """Terminal T02 provisioned again (a new code, the store's cursors reset) in a
    new directory, registered but not loaded."""
    code = store_admin.add_terminal(store, "T02").registration_code
    return provision.register(data, url, "T02", code)


def test_initial_load_cut_in_any_request_or_response(
    store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    store, server = store_server
    with write_tx(store) as conn:
        for i in range(25):
            master_data.save_customer(conn, "S01", None, name=f"Customer {i}", email="", phone="")
    rng = random.Random(SEED + 2)

    def load_through(term: Terminal) -> object:
        def load(url: str) -> None:
            term.set_store_url(url)
            provision.initial_load(term, chunk_rows=CHUNK)

        return load

    term = fresh_terminal(store, server.url, tmp_path / "clean")
    exchange = recorded(server.port, load_through(term))
    requests = [m for m in exchange if m.direction == "request"]
    assert requests[0].line.startswith("POST /api/v1/sync/initial-load ")
    total_chunks = len(requests) - 1
    assert committed_chunks(term) == total_chunks >= 10
    totals = {t["table_name"]: t["rows_total"] for t in term.child.load_progress()}
    term.close()

    # The load has many messages: one cut in each (SCALE in each with more), at an
    # edge in every other exchange (a request's whole head without its body, a
    # response's all but its last byte), at a random point in the others.
    cuts = []
    for m in exchange:
        randoms = SCALE
        if m.index % 2 == 0:
            request = m.direction == "request"
            cuts.append(Cut(m.direction, m.index, 0 if request else -1, body=request))
            randoms -= 1
        cuts += [Cut(m.direction, m.index, rng.random()) for _ in range(randoms)]
    cases: Counter[str] = Counter()
    for n, cut in enumerate(cuts):
        term = fresh_terminal(store, server.url, tmp_path / f"t{n}")
        cut_once(server.port, cut, load_through(term))
        got = committed_chunks(term)
        # Exchange 0 starts the load; exchange j >= 1 fetches chunk j - 1, and a cut
        # in it leaves exactly the j - 1 chunks before it committed.
        assert got == (None if cut.index == 0 else cut.index - 1), cut
        if got is None:
            case = "cut before the load started"
        elif got == 0:
            case = "started, no chunk committed"
        else:
            case = f"{got} chunk(s) committed"
        cases[case] += 1
        term.set_store_url(server.url)
        provision.initial_load(term, chunk_rows=CHUNK)
        # Resumed, not started again: every row counted once.
        assert {t["table_name"]: t["rows_loaded"] for t in term.child.load_progress()} == totals
        assert committed_chunks(term) == total_chunks
        syncer.sync(term)
        assert_in_step(store, term, "T02")
        with read_tx(term.engine) as conn:
            assert conn.execute(
                sa.select(sa.func.count()).select_from(sync_load_progress)
            ).scalar_one() == len(totals)
            assert conn.execute(sa.select(sa.func.count()).select_from(stock_level)).scalar()
        term.close()
    assert cases["cut before the load started"] >= 2
    assert cases["started, no chunk committed"] >= 2
    assert len(cases) == total_chunks + 1  # every chunk count from 0 to the last - 1, and none
    print(f"initial load: {sum(cases.values())} cuts, {dict(cases)}")

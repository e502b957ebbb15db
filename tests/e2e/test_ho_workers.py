"""``ho serve --workers N``: several head office processes on one PostgreSQL database.

Two workers receiving the same store's batches at the same time stay exactly-once:
each batch is applied once whichever worker takes it, the others acknowledge it as a
re-send or refuse it as out of sequence; every receipt of the store's tills is at
head office once, head office's cursor for the store is the store's last change,
and stock agrees. Real processes for head office, real PostgreSQL; the store and
its tills are driven in-process (tests/property/chain_tiers.py) and the store's
batches go to head office over HTTP, as ``store sync`` sends them.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import chain, sales
from possync.retail.replication import SPEC
from possync.retail.schema import receipt, receipt_line, stock_movement
from possync.store import upstream
from possync.store.process import HeadOfficeProcess
from possync.sync import peers
from possync.sync.batch import Batch
from possync.sync.db import read_tx, write_tx
from possync.sync.schema import sync_quarantine
from possync.transport.client import Refused, SyncClient
from tests.e2e.helpers import cli
from tests.e2e.test_workers import _cpu_ticks, _workers
from tests.property.chain_tiers import HO, SKUS, Chain, on_hand

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SENDERS = 6  # concurrent copies of each batch, each on its own connection
ROUNDS = 6
SALES = 40  # per till and round
TILLS = ("T01", "T02")


def test_sqlite_head_office_refuses_workers(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ho.db'}"
    cli("ho", "init", "--db", db, "--name", "Acme Retail")
    out = cli("ho", "serve", "--db", db, "--workers", "2", expect=1)
    assert "PostgreSQL head office" in out.stderr


def _sell(tiers: Chain, till_id: str, rng: random.Random) -> int:
    """SALES sales on a till of S01, pushed to the store: the sales made."""
    term = tiers.tills["S01", till_id]
    with write_tx(term.engine) as conn:
        for _ in range(SALES):
            lines = [sales.LineRequest(rng.choice(SKUS), 1) for _ in range(3)]
            sales.record_sale(conn, term.till(), lines, [sales.PaymentRequest("CASH")])
    tiers.push_till("S01", till_id, limit=10_000)
    return SALES


def test_two_workers_same_store_exactly_once(pg_url: str, tmp_path: Path) -> None:
    tiers = Chain(tmp_path / "chain", ho_url=pg_url, tills=TILLS)
    store = tiers.stores["S01"]
    for sku in SKUS:  # enough to sell from; reaches the store and its tills
        chain.adjust(tiers.ho, "S01", sku, 100_000, "goods_receipt")
    tiers.pull_store("S01")
    server = HeadOfficeProcess(pg_url, log_path=tmp_path / "ho.log", extra_args=["--workers", "2"])
    server.start(timeout=120)  # workers start one after another, each importing the app
    try:
        assert server.proc is not None
        deadline = time.monotonic() + 30
        while len(_workers(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _workers(server.proc.pid)
        assert len(workers) == 2, workers
        ticks = {pid: _cpu_ticks(pid) for pid in workers}
        with write_tx(store) as conn:  # the store talks to the process from now on
            peers.set_url(conn, HO, server.url)
            secret = peers.parent(conn).secret  # type: ignore[union-attr]
        node = tiers.upstream["S01"]
        rng = random.Random(12)

        def send(batch: Batch) -> str:
            with SyncClient(server.url, "S01", secret, protocol=SPEC.protocol) as client:
                try:
                    return f"ack {client.push(batch)}"
                except Refused as exc:
                    return exc.code

        sold = rounds = 0
        while rounds < ROUNDS or (
            min(_cpu_ticks(p) - ticks[p] for p in workers) < 5 and rounds < 3 * ROUNDS
        ):
            # A batch (T01's sales) and the one after it (T02's), each sent by several
            # connections at once: the two workers take copies of both, in any order.
            # The batch is cut where T01's push ends: the store keeps a till's push
            # in its log table by table, and a cut inside it would split documents.
            sold += _sell(tiers, "T01", rng)
            block = node.pending()
            sold += _sell(tiers, "T02", rng)
            first = node.outgoing(block)
            assert first is not None and first.more
            second = node.outgoing(100_000, after=first.through)
            assert second is not None and second.changes
            with ThreadPoolExecutor(2 * SENDERS) as pool:
                got = list(pool.map(send, [first, second] * SENDERS))
            assert set(got) <= {f"ack {first.through}", f"ack {second.through}", "out_of_sequence"}
            assert f"ack {first.through}" in got
            node.acknowledged(first.through)
            if f"ack {second.through}" in got:
                node.acknowledged(second.through)
            rounds += 1
        assert all(_cpu_ticks(p) - ticks[p] >= 5 for p in workers), {
            p: _cpu_ticks(p) - ticks[p] for p in workers
        }
        # What is left (a second batch refused by every copy) goes by a normal sync,
        # which also pulls what head office has for the store.
        upstream.sync(store)
        assert node.pending() == 0
    finally:
        server.stop()

    with read_tx(tiers.ho) as conn:
        numbers = conn.execute(sa.select(receipt.c.receipt_no)).scalars().all()
        cursor = peers.get(conn, "S01").inbound_seq  # type: ignore[union-attr]
        held = conn.execute(
            sa.select(sync_quarantine.c.document, sync_quarantine.c.code, sync_quarantine.c.reason)
        ).all()
        till_movements = conn.execute(
            sa.select(sa.func.count())
            .select_from(stock_movement)
            .where(stock_movement.c.terminal_id.in_(TILLS))
        ).scalar_one()
        lines = conn.execute(sa.select(sa.func.count()).select_from(receipt_line)).scalar_one()
    with read_tx(store) as conn:
        acknowledged = peers.parent(conn).outbound_seq  # type: ignore[union-attr]
        last_up = conn.execute(
            sa.text("SELECT max(seq) FROM sync_change WHERE origin <> :ho"), {"ho": HO}
        ).scalar_one()
    assert not held, held[:5]
    assert len(numbers) == len(set(numbers)) == sold  # every receipt, once
    assert lines == till_movements == 3 * sold
    # Head office's cursor for S01 is what the store holds as acknowledged, and
    # covers the store's last change to go up (its own, its tills').
    assert cursor == acknowledged >= last_up
    assert on_hand(tiers.ho, "S01") == on_hand(store, "S01")
    assert sum(on_hand(tiers.ho, "S01").values()) == len(SKUS) * (100 + 100_000) - 3 * sold
    tiers.close()

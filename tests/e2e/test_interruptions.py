"""The store or the terminal killed mid-sync: the result is always that of one
clean sync. Nothing lost, nothing duplicated. (Cuts of requests and responses:
test_cuts.py.)"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import sales, store_admin
from possync.retail.schema import receipt, receipt_line, receipt_payment, stock_movement
from possync.store.process import StoreProcess
from possync.sync.db import read_tx, write_tx
from possync.sync.schema import sync_peer
from possync.terminal import provision, syncer
from possync.terminal.local import Terminal
from tests.e2e.helpers import count, make_store, stock_of

pytestmark = pytest.mark.e2e


def provisioned(engine: sa.Engine, url: str, data: Path, terminal_id: str = "T01") -> Terminal:
    code = store_admin.add_terminal(engine, terminal_id).registration_code
    term = provision.register(data, url, terminal_id, code)
    provision.initial_load(term)
    return term


def sell_many(term: Terminal, n: int, seed: int = 1) -> dict[str, int]:
    """Record n sales of 3 lines and 1 payment; returns the quantities sold."""
    rng = random.Random(seed)
    till = term.till()
    sold: dict[str, int] = {}
    with write_tx(term.engine) as conn:
        for _ in range(n):
            lines = [
                sales.LineRequest(f"SKU{rng.randint(1, 5)}", rng.randint(1, 3)) for _ in range(3)
            ]
            sales.record_sale(conn, till, lines, [sales.PaymentRequest("CARD")])
            for line in lines:
                sold[line.code] = sold.get(line.code, 0) + line.qty
    return sold


def assert_exactly_once(store: sa.Engine, term: Terminal, n: int, sold: dict[str, int]) -> None:
    assert count(store, receipt) == n
    assert count(store, receipt_line) == 3 * n
    assert count(store, receipt_payment) == n
    assert count(store, stock_movement) == 5 + 3 * n
    with read_tx(store) as conn:
        store_ids = set(conn.execute(sa.select(receipt.c.receipt_id)).scalars())
    with read_tx(term.engine) as conn:
        local_ids = set(conn.execute(sa.select(receipt.c.receipt_id)).scalars())
    assert store_ids == local_ids
    expected = {f"SKU{i}": 1000 - sold.get(f"SKU{i}", 0) for i in range(1, 6)}
    assert stock_of(store) == expected
    assert stock_of(term.engine) == expected
    assert term.child.pending() == 0


def _inbound(store: sa.Engine) -> int:
    with read_tx(store) as conn:
        return int(
            conn.execute(
                sa.select(sync_peer.c.inbound_seq).where(sync_peer.c.node_id == "T01")
            ).scalar_one()
        )


def sync_until_first_batch_lands(store: sa.Engine, data: Path) -> subprocess.Popen[bytes]:
    """Start ``possync pos sync`` and return once the store has applied a batch of it
    (or the sync has ended): the moment to kill one side mid-push."""
    before = _inbound(store)
    sync = subprocess.Popen(
        [sys.executable, "-m", "possync", "pos", "sync", "--data", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _inbound(store) == before and sync.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    return sync


SALES = 4000  # 32,000 changes: four push batches


def test_store_killed_during_push_then_resumed(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    server = StoreProcess(db_url, log_path=tmp_path / "store.log").start()
    term = provisioned(store, server.url, tmp_path / "t")
    sold = sell_many(term, SALES)
    kills = 0
    for _ in range(3):
        sync = sync_until_first_batch_lands(store, tmp_path / "t")
        if sync.poll() is None:
            server.kill()  # SIGKILL while the terminal is pushing
            kills += 1
        sync.wait(60)
        server = StoreProcess(db_url, port=server.port, log_path=tmp_path / "store.log").start()
    assert kills >= 1
    syncer.sync(term)
    server.stop()
    assert_exactly_once(store, term, SALES, sold)


def test_terminal_killed_during_sync_then_resumed(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        term = provisioned(store, server.url, tmp_path / "t")
        sold = sell_many(term, SALES)
        for _ in range(3):
            sync = sync_until_first_batch_lands(store, tmp_path / "t")
            sync.kill()  # SIGKILL of the terminal's sync, mid-way
            sync.wait()
        syncer.sync(term)
    assert_exactly_once(store, term, SALES, sold)

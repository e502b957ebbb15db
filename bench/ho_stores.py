"""Simulated stores for bench/ho_scale.py: what runs in its driver processes.

A simulated store is a real store database on SQLite (``store init``) that joins
head office over HTTP with its own one-time code (``upstream.join``, what ``store
join`` runs), with real tills: terminal databases provisioned from the store and
selling with ``sales.record_sale``. A till's push reaches its store in-process
(the store's ``Parent`` with the till guard, every batch as wire JSON, as in
tests/property/chain_tiers.py): that leg is setup, never timed. The store's sync
with head office is the real one, ``upstream.sync`` (push, pull, report of its
tills over ``SyncClient``), as ``store sync`` and ``store serve`` run it.

Each function is a task of a process pool and opens what it needs from the
store's directory, so any driver process can take any store.
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import integrity, sales, store_admin
from possync.retail.replication import SPEC
from possync.store import upstream
from possync.sync import peers
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.parent import Parent
from possync.terminal.local import Terminal

LINES_PER_RECEIPT = 3  # and one cash payment, like the other benchmarks
LOAD_CHUNK = 10_000
CASH = [sales.PaymentRequest("CASH")]

_engines: dict[str, sa.Engine] = {}  # per driver process: a store server keeps its engine


def store_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'store.db'}"


def till_ids(tills: int) -> list[str]:
    return [f"T{i:02d}" for i in range(1, tills + 1)]


def _engine(directory: Path) -> sa.Engine:
    url = store_url(directory)
    if url not in _engines:
        _engines[url] = open_engine(url)
    return _engines[url]


def _wire(value: Any) -> Any:
    """What the other side of HTTP would see: the value after a JSON round trip."""
    return orjson.loads(orjson.dumps(value))


def build_store(directory: Path, store_id: str, code: str, ho_url: str, tills: int) -> float:
    """A new store that joins head office with ``code`` (over HTTP) and provisions
    its tills; returns the seconds the join took."""
    directory.mkdir(parents=True)
    engine = _engine(directory)
    store_admin.init_store(engine, store_id, f"Store {store_id}")
    started = time.perf_counter()
    upstream.join(engine, ho_url, code)
    joined = time.perf_counter() - started
    for till_id in till_ids(tills):
        _provision(engine, store_id, directory / till_id, till_id)
    return joined


def _provision(store: sa.Engine, store_id: str, data: Path, till_id: str) -> None:
    """What ``pos init`` does, without HTTP: register with the store, initial load."""
    code = store_admin.add_terminal(store, till_id).registration_code
    term = Terminal.create(data, till_id)
    try:
        with write_tx(store) as conn:
            peer, secret = peers.register(conn, till_id, code)
        with write_tx(term.engine) as conn:
            peers.set_parent(conn, store_id, "inproc://", secret, list(peer.route_keys))
        parent = Parent(store, SPEC, store_id, guard=integrity.guard)
        start = _wire(parent.start_load(peer).__dict__)
        term.child.begin_load(start["cursor"], start["tables"], start["baselines"], start["counts"])
        for table in start["tables"]:
            key, more = None, True
            while more:
                rows, key, more = parent.load_chunk(peer, table, key, LOAD_CHUNK)
                term.child.apply_chunk(table, _wire(rows), _wire(key), more)
        term.child.finish_load()
    finally:
        term.close()


def sell_round(
    directory: Path, store_id: str, tills: int, receipts: int, items: int, round_no: int
) -> int:
    """Each till sells ``receipts`` receipts and pushes them to its store (setup of a
    round, not timed); returns the receipts sold."""
    store = _engine(directory)
    parent = Parent(store, SPEC, store_id, guard=integrity.guard)
    rng = random.Random(f"{store_id}-{round_no}")
    for till_id in till_ids(tills):
        term = Terminal.open(directory / till_id)
        try:
            till = term.till()
            with write_tx(term.engine) as conn:
                for _ in range(receipts):
                    picked = rng.sample(range(1, items + 1), LINES_PER_RECEIPT)
                    basket = [sales.LineRequest(f"SKU{i:06d}", rng.randint(1, 3)) for i in picked]
                    sales.record_sale(conn, till, basket, CASH)
            with read_tx(store) as conn:
                peer = peers.get(conn, till_id)
            assert peer is not None, till_id
            while (batch := term.child.outgoing(LOAD_CHUNK)) is not None:
                term.child.acknowledged(parent.receive(peer, _wire(batch.to_wire())))
        finally:
            term.close()
    return tills * receipts


def sync_stores(stores: list[tuple[str, Path]], threads: int, go_at: float) -> dict[str, Any]:
    """Sync ``stores`` with head office, ``threads`` at once, from ``go_at`` (a
    ``time.monotonic()`` instant: the clock is the system's, the same in every
    process): each store's sync timed alone."""
    engines = {store_id: _engine(directory) for store_id, directory in stores}
    time.sleep(max(0.0, go_at - time.monotonic()))
    cpu_before = time.process_time()

    def one(store_id: str) -> dict[str, Any]:
        start = time.monotonic()
        try:
            report = upstream.sync(engines[store_id])
        except Exception as exc:  # every error counts, whatever it is
            return {"store": store_id, "start": start, "end": time.monotonic(), "error": repr(exc)}
        return {
            "store": store_id,
            "start": start,
            "end": time.monotonic(),
            "pushed": report.pushed,
            "push_batches": report.push_batches,
        }

    with ThreadPoolExecutor(threads, thread_name_prefix="store") as pool:
        results = list(pool.map(one, [store_id for store_id, _ in stores]))
    return {"pid": os.getpid(), "cpu_s": time.process_time() - cpu_before, "syncs": results}


def left_to_send(directory: Path) -> dict[str, int]:
    """What the store has not had acknowledged by head office, and its cursor there."""
    engine = _engine(directory)
    node = upstream.child(engine)
    with read_tx(engine) as conn:
        acknowledged = node.parent(conn).outbound_seq
    return {"pending": node.pending(), "acknowledged": int(acknowledged)}

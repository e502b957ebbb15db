"""Concurrent pushes of stock movements into one PostgreSQL store never deadlock.

Each push applies its movements in one statement; the trigger then adds them to
stock_level per (store, item). Pushes that lock those rows in different orders
deadlocked under 50 tills (bench/many_tills.py: 14 tills refused with a 500). Here
several transactions apply overlapping sets of items, in shuffled orders, through
the engine's real applier, without the push's retry around them: a deadlock would
surface as an error.
"""

from __future__ import annotations

import random
import threading

import pytest
import sqlalchemy as sa

from possync.retail import database, stock, store_admin
from possync.retail.replication import SPEC
from possync.retail.schema import stock_level
from possync.sync.apply import Applier
from possync.sync.db import open_engine, read_tx
from possync.sync.log import Change

pytestmark = pytest.mark.postgres

WRITERS = 6
ROUNDS = 8
ITEMS = 120


def test_concurrent_pushes_of_overlapping_items_wait_instead_of_deadlocking(
    pg_url: str,
) -> None:
    engine = open_engine(pg_url, pool_size=WRITERS)
    database.install(engine, "S01")
    store_admin.init_store(engine, "S01", "Store")
    applier = Applier(SPEC)
    skus = [f"SKU{i:04d}" for i in range(ITEMS)]
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS)
    expected: dict[str, int] = {}
    plans: list[list[list[Change]]] = []
    chooser = random.Random(7)
    for writer in range(WRITERS):
        rounds = []
        for _ in range(ROUNDS):
            chosen = chooser.sample(skus, ITEMS * 2 // 3)  # shuffled, overlapping
            rows = [
                stock.movement("S01", sku, -1, "sale", None, f"T{writer:02d}") for sku in chosen
            ]
            for sku in chosen:
                expected[sku] = expected.get(sku, 0) - 1
            rounds.append([Change(0, "stock_movement", "I", row) for row in rows])
        plans.append(rounds)

    def push(rounds: list[list[Change]]) -> None:
        try:
            start.wait()
            for changes in rounds:
                with engine.begin() as conn:
                    applier.apply(conn, changes, origin="T")
        except BaseException as exc:  # reported below, with its kind
            failures.append(exc)

    threads = [threading.Thread(target=push, args=(p,)) for p in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, [f"{type(e).__name__}: {str(e).splitlines()[0]}" for e in failures]
    with read_tx(engine) as conn:
        on_hand = dict(conn.execute(sa.select(stock_level.c.sku, stock_level.c.on_hand)).all())
    assert on_hand == expected
    engine.dispose()

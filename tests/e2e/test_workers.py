"""``store serve --workers N``: several server processes on one PostgreSQL store.

Two workers receiving the same till's batches at the same time must stay
exactly-once: each batch is applied once whichever worker takes it, the others
acknowledge it as a re-send or refuse it as out of sequence, and nothing is
counted twice (receipts, captured changes, stock). Real processes, real PostgreSQL.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import sales, store_admin
from possync.retail.schema import receipt, receipt_line, stock_movement
from possync.store.process import StoreProcess
from possync.sync.db import read_tx, write_tx
from possync.terminal import provision, syncer
from possync.terminal.local import Terminal
from possync.transport.client import Refused
from tests.e2e.helpers import cli, count, make_store, stock_of

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SENDERS = 6  # concurrent copies of each batch, each on its own connection
ROUNDS = 8


def _workers(pid: int) -> list[int]:
    """The worker processes uvicorn started (not multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(p) for p in path.read_text().split()] if path.exists() else []
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _cpu_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat")
    # A worker the supervisor killed and replaced mid-test (it once answered its
    # health check late on a busy machine) must fail here by name, not as a missing file.
    assert stat.exists(), f"worker {pid} is gone: uvicorn replaced it during the pushes"
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _sell(terminal: Terminal, n: int, rng: random.Random) -> None:
    till = terminal.till()
    with write_tx(terminal.engine) as conn:
        for _ in range(n):
            lines = [sales.LineRequest(f"SKU{rng.randint(1, 5)}", 1) for _ in range(3)]
            sales.record_sale(conn, till, lines, [sales.PaymentRequest("CASH")])


def test_sqlite_store_refuses_workers(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(db).dispose()
    out = cli("store", "serve", "--db", db, "--workers", "2", expect=1)
    assert "PostgreSQL" in out.stderr


def test_two_workers_same_till_exactly_once(pg_url: str, tmp_path: Path) -> None:
    engine = make_store(pg_url, stock=100_000)
    before = stock_of(engine)
    server = StoreProcess(pg_url, log_path=tmp_path / "store.log", extra_args=["--workers", "2"])
    # Workers start one after another, each importing the app: slow on a busy machine.
    server.start(timeout=120)
    try:
        assert server.proc is not None
        deadline = time.monotonic() + 30
        while len(_workers(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _workers(server.proc.pid)
        assert len(workers) == 2, workers
        ticks = {pid: _cpu_ticks(pid) for pid in workers}

        code = store_admin.add_terminal(engine, "T01").registration_code
        terminal = provision.register(tmp_path / "T01", server.url, "T01", code)
        provision.initial_load(terminal)
        rng = random.Random(7)

        def send(batch: object) -> str:
            with terminal.client(server.url) as client:
                try:
                    return f"ack {client.push(batch)}"  # type: ignore[arg-type]
                except Refused as exc:
                    return exc.code

        sold = 0
        rounds = 0
        while rounds < ROUNDS or (
            min(_cpu_ticks(p) - ticks[p] for p in workers) < 5 and rounds < 3 * ROUNDS
        ):
            _sell(terminal, 150, rng)
            sold += 150
            # The batch and the one after it, each sent by several connections at once:
            # the two workers take copies of both, in any order.
            first = terminal.child.outgoing(600)
            assert first is not None and first.more
            second = terminal.child.outgoing(100_000, after=first.through)
            assert second is not None
            with ThreadPoolExecutor(2 * SENDERS) as pool:
                got = list(pool.map(send, [first, second] * SENDERS))
            assert set(got) <= {f"ack {first.through}", f"ack {second.through}", "out_of_sequence"}
            assert f"ack {first.through}" in got
            terminal.child.acknowledged(first.through)
            if f"ack {second.through}" in got:
                terminal.child.acknowledged(second.through)
            rounds += 1
        # Both workers did part of the work (each parsed batches).
        assert all(_cpu_ticks(p) - ticks[p] >= 5 for p in workers), {
            p: _cpu_ticks(p) - ticks[p] for p in workers
        }
        assert _workers(server.proc.pid) == workers, "a worker was replaced during the pushes"
        # What is left (second batches all refused in some round) goes by a normal sync.
        syncer.sync(terminal, url=server.url)
        assert terminal.child.pending() == 0
    finally:
        server.stop()

    assert count(engine, receipt) == sold
    assert count(engine, receipt_line) == 3 * sold
    pushed_movements = 3 * sold
    with read_tx(engine) as conn:
        captured = conn.execute(
            sa.text("SELECT count(*) FROM sync_change WHERE origin = 'T01'")
        ).scalar_one()
        movements = conn.execute(
            sa.select(sa.func.count())
            .select_from(stock_movement)
            .where(stock_movement.c.terminal_id == "T01")
        ).scalar_one()
    assert movements == pushed_movements
    # Each of the terminal's changes captured once on the store (8 per sale):
    # a batch applied twice would capture nothing more only if nothing changed,
    # and would count stock twice otherwise.
    assert captured == 8 * sold
    after = stock_of(engine)
    assert sum(before.values()) - sum(after.values()) == 3 * sold
    terminal.close()
    engine.dispose()

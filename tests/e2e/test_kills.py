"""SIGKILL of the till and of the store process at chosen and at random points of
push, pull, initial load (``pos init``), backup import (``pos import``) and purge
(``pos purge``, ``store purge``). For each kill the test reads the databases to
tell which case it hit (nothing of the step committed, or committed with what
follows it lost), checks that it is the case that kill point must produce, runs
the command again, and checks the end state is that of a clean run.

Precise points use the failpoints of possync/sync/failpoints.py
(``POSSYNC_FAILPOINT``); random instants come from a seeded RNG
(``POSSYNC_KILL_SEED``) within windows that make each case reachable.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import offline_backup, store_admin
from possync.retail.schema import receipt, receipt_line, receipt_payment, stock_movement
from possync.store.process import StoreProcess
from possync.sync.db import read_tx
from possync.terminal import syncer
from possync.terminal.local import Terminal
from tests.e2e.faults import (
    adjust_on_store,
    assert_in_step,
    count_of,
    cursors,
    holdings,
    provisioned,
    sell,
)
from tests.e2e.helpers import make_store
from tests.e2e.test_purge import backdate

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("POSSYNC_KILL_SEED", "4242"))
KILLED = -9  # the return code of a process ended by SIGKILL


def possync(*args: str, failpoint: str | None = None, skip: int = 0) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("POSSYNC_FAILPOINT", None)
    if failpoint:
        env.update(POSSYNC_FAILPOINT=failpoint, POSSYNC_FAILPOINT_SKIP=str(skip))
    return subprocess.Popen(
        [sys.executable, "-m", "possync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def run(*args: str, failpoint: str | None = None, skip: int = 0, expect: int = 0) -> str:
    proc = possync(*args, failpoint=failpoint, skip=skip)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == expect, (args, failpoint, proc.returncode, out)
    return out


@pytest.fixture
def store_server(db_url: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, StoreProcess]]:
    engine = make_store(db_url)
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        yield engine, server
    engine.dispose()


def test_till_killed_at_each_point_of_a_sync(
    store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    store, server = store_server
    data = tmp_path / "t"
    term = provisioned(store, server.url, data)
    rng = random.Random(SEED)
    sync = ("pos", "sync", "--data", str(data))

    # Push: the store committed the batch, the till died before recording the ack.
    sell(term, 20, rng)
    before, held = cursors(store, term), holdings(store)
    run(*sync, failpoint="push-before-ack", expect=KILLED)
    after = cursors(store, term)
    assert after.term_pushed == before.term_pushed  # acknowledgement lost with the till
    assert after.store_inbound == after.term_head  # ... but the batch is on the store
    assert holdings(store).receipts == held.receipts + 20
    run(*sync)  # sends the batch again: a no-op that returns the same acknowledgement
    assert_in_step(store, term)

    # Pull: killed with the batch in hand, before applying it.
    adjust_on_store(store, rng)
    before, stock = cursors(store, term), holdings(term.engine).on_hand
    run(*sync, failpoint="pull-before-apply", expect=KILLED)
    after = cursors(store, term)
    assert after.term_pulled == before.term_pulled and holdings(term.engine).on_hand == stock
    run(*sync)
    assert_in_step(store, term)

    # Pull: applied and committed on the till, killed before its next pull told the
    # store: the store still stands at the old ``after``.
    adjust_on_store(store, rng)
    before = cursors(store, term)
    run(*sync, failpoint="pull-after-apply", expect=KILLED)
    after = cursors(store, term)
    assert after.term_pulled > before.term_pulled
    assert after.store_outbound == before.store_outbound < after.term_pulled
    assert holdings(term.engine).on_hand == holdings(store).on_hand
    run(*sync)
    assert_in_step(store, term)


def chunks_committed(term: Terminal) -> int | None:
    if term.child.load_state() == "none":
        return None
    return sum(
        -(-t["rows_loaded"] // 100) or int(bool(t["done"])) for t in term.child.load_progress()
    )


def test_till_killed_during_initial_load(
    store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    store, server = store_server
    rng = random.Random(SEED + 1)
    # (failpoint, times it passes first, chunks that must be committed when killed)
    points = [("load-after-start", 0, 0)]
    for _ in range(2):
        k = rng.randint(0, 6)  # 8 tables of at most 100 rows: a chunk each
        points += [("load-before-chunk", k, k), ("load-after-chunk", k, k + 1)]
    for n, (failpoint, skip, committed) in enumerate(points):
        data = tmp_path / f"t{n}"
        code = store_admin.add_terminal(store, "T02").registration_code
        init = ("pos", "init", "--data", str(data), "--store-url", server.url,
                "--terminal", "T02", "--code", code, "--chunk-rows", "100")  # fmt: skip
        run(*init, failpoint=failpoint, skip=skip, expect=KILLED)
        term = Terminal.open(data)
        assert chunks_committed(term) == committed, (failpoint, skip)
        totals = {t["table_name"]: t["rows_total"] for t in term.child.load_progress()}
        run(*init)  # resumes from the last committed chunk
        assert {t["table_name"]: t["rows_loaded"] for t in term.child.load_progress()} == totals
        syncer.sync(term)
        assert_in_step(store, term, "T02")
        term.close()


def test_till_killed_during_backup_import(
    store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    store, server = store_server
    adjust_on_store(store, random.Random(SEED + 2))
    for n, failpoint in enumerate(("import-before-rename", "import-after-rename")):
        store_admin.add_terminal(store, "T03")
        made = offline_backup.create(store, "T03", tmp_path / f"b{n}.possync", store_url=server.url)
        data = tmp_path / f"t{n}"
        imp = ("pos", "import", str(made.path), "--data", str(data),
               "--terminal", "T03", "--code", made.import_code)  # fmt: skip
        run(*imp, failpoint=failpoint, expect=KILLED)
        if failpoint == "import-before-rename":
            # Nothing in place: the import is simply made again.
            assert not (data / "terminal.db").exists()
            run(*imp)
        else:
            # In place and whole: a second import is refused, the till works.
            assert (data / "terminal.db").exists()
            assert "already holds" in run(*imp, expect=1)
        term = Terminal.open(data)
        syncer.sync(term)
        assert_in_step(store, term, "T03")
        term.close()


def _wait_until(predicate: object, proc: subprocess.Popen[str], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not predicate() and proc.poll() is None and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)


def test_store_and_till_killed_at_random_instants_of_a_push(
    db_url: str, store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    """A push of several batches (1,500 sales: 12,000 changes); the store or the
    till is killed either before the store can have received anything or at a
    random instant after its first batch landed. Each batch is committed whole with
    its cursor, so the store holds exactly the receipts up to its cursor, whole."""
    store, server = store_server
    data = tmp_path / "t"
    term = provisioned(store, server.url, data)
    rng = random.Random(SEED + 3)
    cases: Counter[str] = Counter()
    for round_no in range(4):
        sell(term, 1500 if round_no == 0 else 400, rng)
        victim = ("store", "till")[round_no % 2]
        early = round_no < 2  # before anything can have landed
        before = cursors(store, term)
        proc = possync("pos", "sync", "--data", str(data))
        if early:
            time.sleep(rng.uniform(0, 0.05))  # the till is still starting Python
        else:
            _wait_until(lambda b=before: cursors(store, term).store_inbound > b.store_inbound, proc)
            time.sleep(rng.uniform(0, 0.3))
        if victim == "store":
            server.kill()
        else:
            proc.kill()
        output, _ = proc.communicate(timeout=120)
        after = cursors(store, term)
        held = holdings(store)
        # Whole receipts only, each with its 3 lines and 1 payment.
        assert held.lines == 3 * held.receipts and held.payments == held.receipts
        assert held.on_hand == held.moved
        if after.store_inbound == before.store_inbound:
            case = "killed before the store committed a batch"
        elif after.term_pushed < after.store_inbound:
            case = "batches committed, the last acknowledgement lost"
        else:
            case = "batches committed and acknowledged"
        assert after.term_pushed <= after.store_inbound
        if early:
            assert case == "killed before the store committed a batch"
        else:
            assert case != "killed before the store committed a batch", (victim, output)
        cases[f"{victim}: {case}"] += 1
        if victim == "store":
            server = StoreProcess(db_url, port=server.port, log_path=tmp_path / "store.log")
            server.start()
        syncer.sync(term)
        assert_in_step(store, term)
    assert len(cases) >= 3, cases
    print(dict(cases))
    server.stop()


def test_purges_killed_at_random_instants(
    db_url: str, store_server: tuple[sa.Engine, StoreProcess], tmp_path: Path
) -> None:
    """``pos purge`` and ``store purge`` killed at their start (failpoint) and at
    random instants: whatever was committed, receipts go whole or not at all, stock
    and numbering never move, and the purge run again ends where a clean one does."""
    store, server = store_server
    data = tmp_path / "t"
    term = provisioned(store, server.url, data)
    rng = random.Random(SEED + 4)
    sell(term, 300, rng)
    syncer.sync(term)
    # Once more: the last pull of a sync whose batch held only the till's own changes
    # (echoed) is not acknowledged, which would hold the store's purge back.
    syncer.sync(term)
    with read_tx(term.engine) as conn:
        old = list(conn.execute(sa.select(receipt.c.receipt_no)).scalars())
    backdate(term.engine, old, 400)
    backdate(store, old, 400)
    server.stop()  # the store's purge needs no server; the till's neither
    tables = (receipt, receipt_line, receipt_payment, stock_movement)

    def rows(engine: sa.Engine) -> dict[str, int]:
        with read_tx(engine) as conn:
            return {t.name: count_of(conn, t) for t in tables}

    commands = {
        "till": (term.engine, ("pos", "purge", "--data", str(data), "--older-than", "30")),
        "store": (store, ("store", "purge", "--db", db_url, "--older-than", "365")),
    }
    cases: Counter[str] = Counter()
    for who, (engine, command) in commands.items():
        start, stock = rows(engine), holdings(engine).on_hand
        run(*command, failpoint="purge-before", expect=KILLED)
        assert rows(engine) == start  # killed before it began: nothing gone
        cases[f"{who}: killed before the purge"] += 1
        for _ in range(2):
            proc = possync(*command)
            time.sleep(rng.uniform(0.2, 1.2))
            proc.kill()
            proc.communicate(timeout=60)
            now, held = rows(engine), holdings(engine)
            assert held.on_hand == stock
            assert held.lines == 3 * held.receipts and held.payments == held.receipts
            case = "nothing purged yet" if now == start else "rows purged"
            if proc.returncode != KILLED:
                case = "finished before the kill"
            cases[f"{who}: {case}"] += 1
        run(*command)
        final = rows(engine)
        assert holdings(engine).on_hand == stock
        assert final["receipt"] < start["receipt"]
    # The purges changed nothing the sync relies on.
    with StoreProcess(db_url, port=server.port, log_path=tmp_path / "store.log"):
        sell(term, 5, rng)
        syncer.sync(term)
        held = holdings(store)
        assert held.lines == 3 * held.receipts
        assert holdings(term.engine).on_hand == held.on_hand
    print(dict(cases))

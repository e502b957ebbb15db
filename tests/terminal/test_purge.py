"""Purging a terminal database, in-process: only old data the store has
acknowledged goes, whole receipts at a time, without replicating; counters, stock
and numbering are untouched; the daily purge runs once a day."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa

from possync.retail import catalog, numbering, sales, store_admin, till_events
from possync.retail import stock as stock_rules
from possync.retail.schema import (
    doc_counter,
    doc_series,
    payment_method,
    receipt,
    receipt_line,
    receipt_payment,
    stock_level,
    stock_movement,
    store,
    tax_rate,
    till_event,
)
from possync.store.process import StoreProcess
from possync.sync import log, peers, state
from possync.sync.child import LOAD_CURSOR, LOAD_DONE
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import NotProvisioned, SyncError
from possync.sync.schedule import SyncSchedule
from possync.terminal import purge as terminal_purge
from possync.terminal.agent import SyncAgent
from possync.terminal.local import Terminal
from tests.e2e.helpers import count, make_store, pos_init

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=10)
TABLES = (receipt, receipt_line, receipt_payment, stock_movement)


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    """A provisioned terminal (as after ``pos init``) whose store is never called."""
    terminal = Terminal.create(tmp_path / "t01", "T01")
    with write_tx(terminal.engine) as conn, log.capturing_as(conn, log.SUPPRESS):
        conn.execute(
            store.insert().values(store_id="S01", name="s", currency="EUR", offline_enabled=True)
        )
        conn.execute(tax_rate.insert(), list(store_admin.DEFAULT_TAX_RATES))
        conn.execute(payment_method.insert(), list(store_admin.DEFAULT_PAYMENT_METHODS))
        conn.execute(doc_series.insert(), numbering.default_series("S01", "T01"))
        catalog.import_csv(
            conn, "sku,barcode,name,price,tax_code\nA,111,Apple,1.20,RED\nB,222,Bread,2.40,STD\n"
        )
        peers.set_parent(conn, "S01", "http://127.0.0.1:9", "secret", ["S01", "T01"])
        state.put(conn, LOAD_CURSOR, "0")
        state.put(conn, LOAD_DONE, "1")
    yield terminal
    terminal.close()


@contextmanager
def clock(when: datetime) -> Iterator[None]:
    """Sales recorded inside are dated ``when`` (captured that way too)."""
    text = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with mock.patch.object(sales, "utc_now", return_value=text):
        yield


def sell(term: Terminal, when: datetime, n: int = 1) -> list[str]:
    till = term.till()
    lines = [sales.LineRequest("A", 2), sales.LineRequest("B", 1)]
    with clock(when), write_tx(term.engine) as conn:
        return [
            sales.record_sale(conn, till, lines, [sales.PaymentRequest("CASH")]).receipt_no
            for _ in range(n)
        ]


def acknowledge(term: Terminal, through: int | None = None) -> int:
    """What a push does once the store has stored our changes up to ``through``."""
    with write_tx(term.engine) as conn:
        seq = log.head(conn) if through is None else through
        peers.set_outbound_seq(conn, "S01", seq, pulled=False)
    return seq


def counts(term: Terminal) -> dict[str, int]:
    with read_tx(term.engine) as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in TABLES
        }


def numbers(term: Terminal) -> set[str]:
    with read_tx(term.engine) as conn:
        return set(conn.execute(sa.select(receipt.c.receipt_no)).scalars())


def snapshot(term: Terminal, *tables: sa.Table) -> list[list[dict[str, Any]]]:
    with read_tx(term.engine) as conn:
        return [[dict(r._mapping) for r in conn.execute(sa.select(t))] for t in tables]


def log_entries(term: Terminal) -> list[tuple[int, str]]:
    with read_tx(term.engine) as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT seq, table_name FROM sync_change"))]


def test_old_acknowledged_till_events_go_the_others_stay(term: Terminal) -> None:
    till = term.till()

    def log_void(when: datetime) -> str:
        at = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with (
            mock.patch.object(till_events, "utc_now", return_value=at),
            write_tx(term.engine) as conn,
        ):
            return till_events.record(conn, till, None, "line_voided", "wrong item", {})

    old, recent = log_void(OLD), log_void(RECENT)
    acknowledge(term)
    old_unsynced = log_void(OLD)

    report = terminal_purge.purge_terminal(term)

    assert report.rows.purged.till_event == 1
    assert report.rows.kept_unacknowledged.till_event == 1
    with read_tx(term.engine) as conn:
        left = set(conn.execute(sa.select(till_event.c.event_id)).scalars())
    assert left == {recent, old_unsynced} and old not in left


def test_only_old_acknowledged_data_goes_and_numbering_carries_on(term: Terminal) -> None:
    old_synced = sell(term, OLD, 3)
    recent = sell(term, RECENT, 2)
    acked = acknowledge(term)
    old_unsynced = sell(term, OLD, 2)  # e.g. the clock was right, the link was down
    pending = term.child.pending()
    counters_and_stock = snapshot(term, doc_counter, stock_level)

    report = terminal_purge.purge_terminal(term)

    assert report.as_dict()["purged"] == {
        "receipt": 3,
        "receipt_line": 6,
        "receipt_payment": 3,
        "stock_movement": 6,
        "z_report": 0,  # no drawer on this till
        "drawer_session": 0,
        "cash_movement": 0,
        "till_event": 0,
    }
    assert report.rows.kept_unacknowledged.receipt == 2
    assert report.rows.kept_unacknowledged.stock_movement == 4
    assert numbers(term) == set(recent + old_unsynced)
    assert not set(old_synced) & numbers(term)
    assert counts(term) == {
        "receipt": 4,
        "receipt_line": 8,
        "receipt_payment": 4,
        "stock_movement": 8,
    }
    # The log keeps exactly what the store has not acknowledged, and nothing the
    # purge deleted was captured (it would travel to the store otherwise).
    assert report.log_compacted_through == acked
    assert all(seq > acked for seq, _ in log_entries(term))
    assert term.child.pending() == pending
    assert snapshot(term, doc_counter, stock_level) == counters_and_stock
    assert sell(term, NOW) == ["S01-T01-000008"]


def test_a_dry_run_changes_nothing_and_says_what_would_go(term: Terminal) -> None:
    sell(term, OLD, 4)
    sell(term, RECENT, 1)
    acknowledge(term)
    before = (counts(term), log_entries(term), snapshot(term, *TABLES))

    dry = terminal_purge.purge_terminal(term, dry_run=True)

    assert (counts(term), log_entries(term), snapshot(term, *TABLES)) == before
    assert dry.dry_run and not dry.vacuumed and dry.size_after == dry.size_before
    real = terminal_purge.purge_terminal(term)
    assert dry.rows.purged == real.rows.purged
    assert dry.rows.purged.receipt == 4
    assert dry.log_entries == real.log_entries == len(before[1])
    assert dry.log_compacted_through == real.log_compacted_through


def test_a_receipt_goes_whole_or_not_at_all(term: Terminal) -> None:
    sell(term, OLD, 1)
    with read_tx(term.engine) as conn:
        receipt_seq = conn.execute(
            sa.text("SELECT seq FROM sync_change WHERE table_name = 'receipt'")
        ).scalar_one()
    acknowledge(term, receipt_seq)  # the store has the receipt, not yet its lines

    report = terminal_purge.purge_terminal(term)

    assert report.rows.purged.receipt == 0
    assert counts(term)["receipt_line"] == 2
    assert report.rows.kept_unacknowledged.receipt == 1
    acknowledge(term)
    assert terminal_purge.purge_terminal(term).rows.purged.receipt_line == 2


def test_movements_pulled_from_the_store_go_by_age(term: Terminal) -> None:
    old = OLD.isoformat().replace("+00:00", "Z")
    with write_tx(term.engine) as conn, log.capturing_as(conn, log.SUPPRESS):  # as a pull
        conn.execute(
            stock_movement.insert(),
            [stock_rules.movement("S01", "A", 50, "goods_receipt", None, None, old)],
        )
    levels = snapshot(term, stock_level)
    report = terminal_purge.purge_terminal(term)
    assert report.rows.purged.stock_movement == 1
    assert (
        snapshot(term, stock_level) == levels == [[{"store_id": "S01", "sku": "A", "on_hand": 50}]]
    )


def test_a_purge_gives_the_space_back(term: Terminal) -> None:
    for _ in range(4):
        sell(term, OLD, 500)
    sell(term, RECENT, 10)
    acknowledge(term)
    report = terminal_purge.purge_terminal(term)
    assert report.vacuumed
    assert report.size_before is not None and report.size_after is not None
    assert report.size_after < report.size_before / 4
    assert counts(term)["receipt"] == 10


def test_a_terminal_never_registered_is_refused(tmp_path: Path) -> None:
    bare = Terminal.create(tmp_path / "bare", "T09")
    with pytest.raises(NotProvisioned):
        terminal_purge.purge_terminal(bare)


def test_the_daily_purge_runs_once_per_calendar_day(term: Terminal) -> None:
    day = [date(2026, 3, 1)]
    maintenance = terminal_purge.daily_purge(term, 30, today=lambda: day[0])
    sell(term, OLD, 2)
    acknowledge(term)
    maintenance()
    assert counts(term)["receipt"] == 0
    assert term.get_state(terminal_purge.LAST_DAILY_PURGE) == "2026-03-01"

    sell(term, OLD, 2)
    acknowledge(term)
    maintenance()  # the same day: nothing
    assert counts(term)["receipt"] == 2
    day[0] = date(2026, 3, 2)
    maintenance()
    assert counts(term)["receipt"] == 0


def test_the_daily_purge_fails_as_a_sync_error_tried_once_a_day(
    term: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*_args: object, **_kwargs: object) -> None:
        raise sa.exc.OperationalError("DELETE", {}, Exception("database is locked"))

    monkeypatch.setattr(terminal_purge, "purge_terminal", locked)
    maintenance = terminal_purge.daily_purge(term, 30, today=lambda: date(2026, 3, 1))
    with pytest.raises(SyncError, match="daily purge failed"):
        maintenance()
    maintenance()  # recorded before it ran: not retried until the next day


def test_the_agent_keeps_syncing_when_its_maintenance_fails(tmp_path: Path) -> None:
    """The real SyncAgent against a real store process: every maintenance step after a
    sync fails, and the sales made before and after the failures still reach the store."""
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    store_db = make_store(store_url)
    failures: list[str] = []

    def failing_purge() -> None:
        failures.append("purge")
        raise terminal_purge.PurgeFailed("daily purge failed: database is locked")

    with StoreProcess(store_url) as server:
        pos_init(store_db, server.url, tmp_path / "t01", "T01")
        till = Terminal.open(tmp_path / "t01")
        agent = SyncAgent(
            till, SyncSchedule(interval=0.1, first_retry=0.1), maintenance=failing_purge
        )
        runner = threading.Thread(target=agent.run, daemon=True)
        runner.start()
        try:
            sell_now(till, 2)
            until(lambda: len(failures) >= 1 and count(store_db, receipt) == 2)
            after = len(failures)
            sell_now(till, 3)
            # Synced after the failures, and the maintenance was tried again after it.
            # (The store may hold the sales a moment before the agent's thread records
            # the store's acknowledgement: wait for both.)
            until(
                lambda: (
                    count(store_db, receipt) == 5
                    and len(failures) > after
                    and till.child.pending() == 0
                )
            )
            assert runner.is_alive()
            assert till.child.pending() == 0
        finally:
            agent.stop()
            runner.join(15)
            till.close()
    assert not runner.is_alive()


def sell_now(term: Terminal, n: int) -> None:
    till = term.till()
    with write_tx(term.engine) as conn:
        for _ in range(n):
            sales.record_sale(
                conn, till, [sales.LineRequest("SKU1", 1)], [sales.PaymentRequest("CASH")]
            )


def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.05)


def test_the_retention_is_at_least_a_day(term: Terminal) -> None:
    with pytest.raises(ValueError):
        terminal_purge.daily_purge(term, 0)
    with pytest.raises(ValueError):
        terminal_purge.purge_terminal(term, 0)

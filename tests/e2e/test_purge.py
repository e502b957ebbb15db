"""Purging terminals and stores against a real store server process, on SQLite and
PostgreSQL stores: only acknowledged old data goes, unsynced data waits for its
sync, dry runs change nothing, syncing carries on both ways with stock equal
everywhere, and a terminal left behind a compacted store log is told to be
provisioned again. Old sales are made by backdating ``created_at`` (capture
suppressed) or by recording sales with the clock set back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa

from possync.retail import sales, store_admin
from possync.retail.schema import receipt, receipt_line, receipt_payment, stock_movement
from possync.store.process import StoreProcess
from possync.sync import log
from possync.sync.db import read_tx, write_tx
from possync.terminal import syncer
from possync.terminal.local import Terminal
from tests.e2e.helpers import (
    ON_POSTGRES,
    cli,
    cli_json,
    count,
    make_store,
    stock_of,
    terminal_engine,
)

pytestmark = pytest.mark.e2e


# no drawer here, nothing voided
NO_CASH_UP = {"z_report": 0, "drawer_session": 0, "cash_movement": 0, "till_event": 0}


def init_terminal(engine: sa.Engine, url: str, data: Path, terminal_id: str) -> None:
    code = store_admin.add_terminal(engine, terminal_id).registration_code
    cli("pos", "init", "--data", str(data), "--store-url", url, "--terminal", terminal_id,
        "--code", code)  # fmt: skip


def sell(data: Path, *items: str) -> str:
    return str(cli_json("pos", "sell", "--data", str(data), *items, "--pay", "cash")["receipt_no"])


def backdate(engine: sa.Engine, receipt_nos: list[str], days: int) -> None:
    """Make receipts (and their stock movements) ``days`` older, without capturing
    the change: as if they had been made then."""

    def older(column: sa.ColumnElement[Any]) -> Any:
        if engine.dialect.name == "sqlite":
            shifted = sa.func.strftime("%Y-%m-%dT%H:%M:%fZ", column, f"-{days} days")
        else:
            stamp = sa.cast(column, sa.DateTime) - sa.text(f"interval '{days} days'")
            shifted = sa.func.to_char(stamp, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        return shifted

    with write_tx(engine) as conn, log.capturing_as(conn, log.SUPPRESS):
        conn.execute(
            receipt.update()
            .where(receipt.c.receipt_no.in_(receipt_nos))
            .values(created_at=older(receipt.c.created_at))
        )
        conn.execute(
            stock_movement.update()
            .where(stock_movement.c.doc_ref.in_(receipt_nos))
            .values(created_at=older(stock_movement.c.created_at))
        )


def numbers(engine: sa.Engine) -> set[str]:
    with read_tx(engine) as conn:
        return set(conn.execute(sa.select(receipt.c.receipt_no)).scalars())


def counts(engine: sa.Engine) -> dict[str, int]:
    tables = (receipt, receipt_line, receipt_payment, stock_movement)
    return {t.name: count(engine, t) for t in tables}


def log_size(engine: sa.Engine) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM sync_change")).scalar_one())


def dump(data: Path) -> list[str]:
    """Everything the terminal database holds, as SQL."""
    with sqlite3.connect(data / "terminal.db") as conn:
        return list(conn.iterdump())


@ON_POSTGRES
def test_a_terminal_purges_only_what_the_store_has(db_url: str, tmp_path: Path) -> None:
    engine = make_store(db_url, stock=100)
    t01 = tmp_path / "T01"
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        init_terminal(engine, server.url, t01, "T01")
        synced = [sell(t01, "SKU1:2", "SKU2:1") for _ in range(3)]
        young = sell(t01, "SKU3:1")
        cli("pos", "sync", "--data", str(t01))
    # the store is down: these sales cannot reach it
    unsynced = [sell(t01, "SKU1:1") for _ in range(2)]
    backdate(terminal_engine(t01), synced + unsynced, 40)

    before = dump(t01)
    dry = cli_json("pos", "purge", "--data", str(t01), "--dry-run")
    assert dump(t01) == before  # not one row changed
    assert dry["dry_run"] is True
    assert dry["purged"] == {
        "receipt": 3,
        "receipt_line": 6,
        "receipt_payment": 3,
        "stock_movement": 6,
        **NO_CASH_UP,
    }
    assert dry["kept_unacknowledged"]["receipt"] == 2

    done = cli_json("pos", "purge", "--data", str(t01))
    assert done["purged"] == dry["purged"] and done["dry_run"] is False
    assert numbers(terminal_engine(t01)) == {young, *unsynced}
    assert cli_json("pos", "status", "--data", str(t01))["pending_changes"] > 0

    with StoreProcess(db_url, port=server.port, log_path=tmp_path / "store.log"):
        cli("pos", "sync", "--data", str(t01))  # the old unsynced sales reach the store
        assert numbers(engine) == {*synced, young, *unsynced}
        again = cli_json("pos", "purge", "--data", str(t01), "--older-than", "30")
        assert again["purged"]["receipt"] == 2 and again["kept_unacknowledged"]["receipt"] == 0
        assert numbers(terminal_engine(t01)) == {young}

        # After the purge, sync goes on both ways and numbering carries on.
        assert sell(t01, "SKU2:3") == "S01-T01-000007"
        cli("store", "stock", "adjust", "SKU2", "25", "--db", db_url)
        for _ in range(2):
            cli("pos", "sync", "--data", str(t01))
        assert "S01-T01-000007" in numbers(engine)
        assert stock_of(terminal_engine(t01)) == stock_of(engine)
        assert stock_of(engine)["SKU2"] == 100 - 3 - 3 + 25
    assert counts(engine)["receipt"] == 7  # the store keeps everything it received


def test_a_store_purges_old_transactions_and_its_acknowledged_log(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_store(db_url, stock=100)
    t01, t02 = tmp_path / "T01", tmp_path / "T02"
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        init_terminal(engine, server.url, t01, "T01")
        init_terminal(engine, server.url, t02, "T02")
        old = [sell(t01, "SKU1:1", "SKU2:2") for _ in range(3)]
        lone = sell(t02, "SKU3:1")  # T02's only sale: the last number of its series
        for data in (t01, t02):
            cli("pos", "sync", "--data", str(data))
        t02_copy = tmp_path / "t02-backup.db"  # a backup of T02, taken now
        with sqlite3.connect(t02 / "terminal.db") as source, sqlite3.connect(t02_copy) as copy:
            source.backup(copy)

        recent = [sell(t01, "SKU1:1") for _ in range(2)]
        cli("store", "stock", "adjust", "SKU4", "10", "--db", db_url)
        for data in (t01, t02, t01):
            cli("pos", "sync", "--data", str(data))
        backdate(engine, [*old, lone], 400)
        stock = stock_of(engine)
        status = cli_json("store", "status", "--db", db_url)
        everyone_has = min(t["acknowledged_through"] for t in status["terminals"])

        before = (counts(engine), log_size(engine))
        dry = cli_json("store", "purge", "--db", db_url, "--dry-run")
        assert (counts(engine), log_size(engine)) == before  # nothing changed
        assert dry["purged"]["receipt"] == 3 and dry["log_entries"] == before[1]
        done = cli_json("store", "purge", "--db", db_url)
        assert (
            done["purged"]
            == dry["purged"]
            == {
                "receipt": 3,
                "receipt_line": 6,
                "receipt_payment": 3,
                "stock_movement": 7,  # movements go by their own age, T02's too
                **NO_CASH_UP,
            }
        )
        assert done["kept_last_documents"] == 1
        assert done["log_compacted_through"] == everyone_has == status["change_log_head"]
        assert done["log_entries"] == dry["log_entries"] > 0
        assert numbers(engine) == {lone, *recent}
        assert log_size(engine) == 0  # every terminal had taken all of it
        assert stock_of(engine) == stock  # stock is kept by stock_level, not by history

        # Sync carries on after the store's purge...
        sell(t01, "SKU1:1")
        for data in (t01, t02):
            cli("pos", "sync", "--data", str(data))
        assert stock_of(terminal_engine(t02)) == stock_of(engine)

        # ...but T02 restored from its old backup stands behind the compacted log.
        for leftover in t02.glob("terminal.db*"):
            leftover.unlink()
        t02_copy.rename(t02 / "terminal.db")
        refused = cli("pos", "sync", "--data", str(t02), expect=1)
        assert "must be provisioned again" in refused.stderr
        assert "purged" in refused.stderr

        # Provisioning it again (a new code, a fresh database) puts it back to work.
        init_terminal(engine, server.url, tmp_path / "T02-new", "T02")
        assert sell(tmp_path / "T02-new", "SKU3:1") == "S01-T02-000002"
        cli("pos", "sync", "--data", str(tmp_path / "T02-new"))
        assert stock_of(terminal_engine(tmp_path / "T02-new")) == stock_of(engine)


@contextmanager
def clock(when: datetime) -> Iterator[None]:
    """Sales recorded in this process inside are dated ``when``."""
    text = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with mock.patch.object(sales, "utc_now", return_value=text):
        yield


PER_DAY = 10


def test_a_terminal_with_a_year_of_sales_stays_small(tmp_path: Path) -> None:
    # The terminal's purge is the subject: the store's own database (SQLite here,
    # PostgreSQL in the other purge tests) changes nothing in it, and 11,000 sales
    # cost the suite half a minute more on PostgreSQL. Ten sales a day (3,650 in
    # all): thirty took half a minute of the suite for the same assertions.
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, stock=1_000_000)
    data = tmp_path / "T01"
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        init_terminal(engine, server.url, data, "T01")
        term = Terminal.open(data)
        till = term.till()
        now = datetime.now(UTC)
        basket = [sales.LineRequest("SKU1", 1), sales.LineRequest("SKU2", 2)]
        for day in range(365):  # PER_DAY sales a day, the oldest a year ago
            with clock(now - timedelta(days=day, hours=12)), write_tx(term.engine) as conn:
                for _ in range(PER_DAY):
                    sales.record_sale(conn, till, basket, [sales.PaymentRequest("CARD")])
        syncer.sync(term)
        with read_tx(term.engine) as conn:
            cutoff = (now - timedelta(days=30)).isoformat().replace("+00:00", "Z")
            last_month = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(receipt_line)
                    .join(receipt, receipt.c.receipt_id == receipt_line.c.receipt_id)
                    .where(receipt.c.created_at > cutoff)
                    .order_by(receipt_line.c.receipt_id, receipt_line.c.line_no)
                )
            ]
        term.close()
        assert len(last_month) == 30 * PER_DAY * 2

        report = cli_json("pos", "purge", "--data", str(data))
        assert report["purged"]["receipt"] == 335 * PER_DAY
        assert report["size_after"] < report["size_before"] / 5
        assert (data / "terminal.db").stat().st_size < report["size_before"] / 5
        with read_tx(terminal_engine(data)) as conn:
            kept = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(receipt_line).order_by(
                        receipt_line.c.receipt_id, receipt_line.c.line_no
                    )
                )
            ]
        assert kept == last_month  # the last 30 days, intact
        assert counts(terminal_engine(data))["receipt"] == 30 * PER_DAY

        assert sell(data, "SKU1:1") == f"S01-T01-{365 * PER_DAY + 1:06d}"
        for _ in range(2):
            cli("pos", "sync", "--data", str(data))
        assert counts(engine)["receipt"] == 365 * PER_DAY + 1
        assert stock_of(terminal_engine(data)) == stock_of(engine)

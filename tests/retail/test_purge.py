"""Purging a store database in-process (SQLite and PostgreSQL): with a head office
above it only what head office has taken goes, and the last number of every series
stays so that numbering can never repeat."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from possync.retail import purge, store_admin
from possync.retail.schema import receipt, receipt_line
from possync.store.purge import purge_store
from possync.sync import log, peers
from possync.sync.db import open_engine, read_tx, write_tx

OLD = "2020-01-01T10:00:00.000Z"


def make_receipts(engine: sa.Engine, numbers: list[str], created_at: str = OLD) -> None:
    """Receipts as the store holds them once terminals have pushed them."""
    rows, lines = [], []
    for no in numbers:
        rid = str(uuid.uuid4())
        kind = "return" if no.rstrip("0123456789").endswith("R") else "sale"
        rows.append(
            {
                "receipt_id": rid,
                "receipt_no": no,
                "kind": kind,
                "store_id": "S01",
                "terminal_id": "T01",
                "currency": "EUR",
                "total": 100,
                "tax_total": 17,
                "created_at": created_at,
            }
        )
        lines.append(
            {
                "receipt_id": rid,
                "line_no": 1,
                "store_id": "S01",
                "terminal_id": "T01",
                "sku": "A",
                "name": "Apple",
                "qty": 1,
                "unit_price": 100,
                "line_total": 100,
                "tax_code": "STD",
                "tax_rate_bp": 2000,
                "tax_amount": 17,
            }
        )
    with write_tx(engine) as conn:
        conn.execute(receipt.insert(), rows)
        conn.execute(receipt_line.insert(), lines)


def numbers(engine: sa.Engine) -> set[str]:
    with read_tx(engine) as conn:
        return set(conn.execute(sa.select(receipt.c.receipt_no)).scalars())


@pytest.fixture
def store_db(db_url: str) -> sa.Engine:
    engine = open_engine(db_url)
    store_admin.init_store(engine, "S01", "Main Street")
    return engine


def head(engine: sa.Engine) -> int:
    with write_tx(engine) as conn:
        log.publish(conn)
    with read_tx(engine) as conn:
        return log.head(conn)


def test_the_last_number_of_every_series_stays(store_db: sa.Engine) -> None:
    make_receipts(
        store_db,
        [
            "S01-T01-000009",
            "S01-T01-000010",  # longer number beats higher text: 10 > 9
            "S01-T01-R000001",
            "S01-T01-R000002",
            "NEW-000001",  # the series changed prefix at some point
            "NEW-000002",
        ],
    )
    report = purge_store(store_db)
    assert numbers(store_db) == {"S01-T01-000010", "S01-T01-R000002", "NEW-000002"}
    assert report.rows.kept_last_documents == 3
    assert report.rows.purged.receipt == 3 and report.rows.purged.receipt_line == 3


def test_with_a_head_office_only_what_it_has_taken_goes(store_db: sa.Engine) -> None:
    make_receipts(store_db, ["S01-T01-000001", "S01-T01-000002"])
    taken = head(store_db)
    make_receipts(store_db, ["S01-T01-000003", "S01-T01-000004"])
    with write_tx(store_db) as conn:
        peers.set_parent(conn, "HO", "http://head-office", "secret", ["S01"])
        peers.set_outbound_seq(conn, "HO", taken, pulled=False)

    report = purge_store(store_db)

    assert numbers(store_db) == {"S01-T01-000003", "S01-T01-000004"}
    assert report.rows.kept_unacknowledged.receipt == 2
    assert report.log_compacted_through == taken and report.log_held_back_by == "HO"
    with read_tx(store_db) as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM sync_change")).scalar_one()
    assert left == head(store_db) - taken  # head office still gets everything after


def test_young_receipts_stay_and_a_dry_run_deletes_nothing(store_db: sa.Engine) -> None:
    make_receipts(store_db, ["S01-T01-000001", "S01-T01-000002"])
    make_receipts(store_db, ["S01-T01-000003"], created_at=purge.cutoff(10))
    dry = purge_store(store_db, 365, dry_run=True)
    assert dry.rows.purged.receipt == 2 and len(numbers(store_db)) == 3
    assert purge_store(store_db, 365).rows.purged == dry.rows.purged
    assert numbers(store_db) == {"S01-T01-000003"}


def test_the_cutoff_compares_as_created_at_does() -> None:
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert purge.cutoff(30, now) == "2026-03-01T12:00:00.000Z"
    assert "2026-03-01T11:59:59.999Z" < purge.cutoff(30, now) < "2026-03-01T12:00:00.001Z"
    with pytest.raises(ValueError):
        purge.cutoff(0, now)

"""A store that traded with a till, purged old receipts and compacted its change log,
then joins a real head office (issue 12): the history it still holds goes up once,
its purged stock movements come as an opening balance that head office writes
itself, and head office, the store and the till end with the same on-hand per item.
A second join, a second sync and the opening balance sent again change nothing.

Head office runs in a thread of the test (uvicorn: the real app and HTTP), on SQLite
and PostgreSQL; the store and the till are driven in process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn

from possync.headoffice.app import create_app
from possync.retail import (
    catalog,
    chain,
    customers,
    integrity,
    joining_history,
    opening_stock,
    sales,
    store_admin,
)
from possync.retail import stock as stock_rules
from possync.retail.errors import RetailError
from possync.retail.replication import SPEC
from possync.retail.schema import admin_log, receipt, stock_movement
from possync.store import purge as store_purge
from possync.store import upstream
from possync.store.process import free_port
from possync.sync import log, peers, quarantine, state
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.parent import Parent
from possync.terminal.local import Terminal
from possync.transport.client import SyncClient
from tests.property.chain_tiers import CATALOG, on_hand, provision, wire

OWN_CATALOG = CATALOG + "LOCAL,5000000000099,Local thing,1.00,STD\n"
LONG_AGO = "2020-01-15T10:00:00.000Z"


@dataclass
class Shop:
    """Head office (served), and store S01 trading on its own with till T01."""

    ho: sa.Engine
    ho_url: str
    store: sa.Engine
    till: Terminal
    code: str

    def sell(self, *lines: tuple[str, int], customer_id: str | None = None) -> str:
        with write_tx(self.till.engine) as conn:
            sold = sales.record_sale(
                conn,
                self.till.till(),
                [sales.LineRequest(code, qty) for code, qty in lines],
                [sales.PaymentRequest("CASH")],
                customer_id=customer_id,
            )
        return sold.receipt_no

    def push_till(self) -> None:
        parent = Parent(self.store, SPEC, "S01", guard=integrity.guard)
        with read_tx(self.store) as conn:
            peer = peers.get(conn, "T01")
        assert peer is not None
        while (batch := self.till.child.outgoing(50)) is not None:
            self.till.child.acknowledged(parent.receive(peer, wire(batch.to_wire())))

    def pull_till(self) -> None:
        parent = Parent(self.store, SPEC, "S01", guard=integrity.guard)
        while True:
            with read_tx(self.store) as conn:
                peer = peers.get(conn, "T01")
            assert peer is not None
            batch = parent.changes_for(peer, self.till.child.inbound_cursor(), 50)
            self.till.child.apply_pulled(wire(batch.to_wire()))
            if not batch.more and not batch.changes:
                return

    def age_store_history(self) -> None:
        """What the store holds so far was recorded long ago (only the dates change,
        uncaptured: the purge goes by them)."""
        with write_tx(self.store) as conn, log.capturing_as(conn, log.SUPPRESS):
            for table in (receipt, stock_movement):
                conn.execute(table.update().values(created_at=LONG_AGO))


def serve(engine: sa.Engine) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "head office did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def open_shop(ho_url: str, store_url: str, tmp_path: Path) -> Iterator[Shop]:
    ho = open_engine(ho_url)
    chain.init_head_office(ho, "Acme Retail")
    with write_tx(ho) as conn:
        catalog.import_csv(conn, CATALOG)
    code = chain.add_store(ho, "S01").registration_code
    store = open_engine(store_url)
    store_admin.init_store(store, "S01", "Main Street")
    with write_tx(store) as conn:
        catalog.import_csv(conn, OWN_CATALOG)
        for sku, qty in (("LOCAL", 10), ("SKU1", 50), ("SKU2", 20)):
            stock_rules.adjust(conn, "S01", sku, qty, "goods_receipt")
    provision(store, "S01", tmp_path / "T01", "T01")
    for url in serve(ho):
        shop = Shop(ho, url, store, Terminal.open(tmp_path / "T01"), code)
        yield shop
        shop.till.close()
    store.dispose()
    ho.dispose()


@pytest.fixture
def shop(db_url: str, tmp_path: Path) -> Iterator[Shop]:
    """Head office on SQLite and on PostgreSQL; the store on SQLite."""
    yield from open_shop(db_url, f"sqlite:///{tmp_path / 'S01.db'}", tmp_path)


@pytest.fixture
def pg_shop(pg_url: str, tmp_path: Path) -> Iterator[Shop]:
    """The store on PostgreSQL (head office on SQLite)."""
    yield from open_shop(f"sqlite:///{tmp_path / 'ho.db'}", pg_url, tmp_path)


def count(engine: sa.Engine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with read_tx(engine) as conn:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(conn.execute(stmt).scalar_one())


def held(engine: sa.Engine) -> list[str]:
    with read_tx(engine) as conn:
        return [f"{h.document}: {h.reason}" for h in quarantine.listing(conn)]


def trade_and_purge(shop: Shop) -> dict[str, str]:
    """A year of trading in short: three sales and a customer long ago, purged (the
    last receipt of the series is kept, its movements go); then a sale to that
    customer that the till has pushed but whose echo it has not pulled, and goods
    received. Returns the receipt numbers."""
    with write_tx(shop.till.engine) as conn:
        ada = customers.create_on_terminal(conn, "T01", "Ada Lovelace")["customer_id"]
    numbers = {
        "purged_1": shop.sell(("LOCAL", 2), ("SKU1", 1)),
        "purged_2": shop.sell(("SKU1", 3)),
        "kept_last": shop.sell(("SKU1", 1)),
    }
    shop.push_till()
    shop.age_store_history()
    shop.pull_till()
    shop.pull_till()  # the pull after acknowledges the first: the log can all go
    purged = store_purge.purge_store(shop.store, older_than_days=30)
    assert purged.rows.purged.receipt == 2 and purged.rows.kept_last_documents == 1
    with read_tx(shop.store) as conn:
        assert log.compacted_through(conn) > 0 and log.head(conn) == log.compacted_through(conn)
    numbers["after_purge"] = shop.sell(("SKU1", 1), customer_id=ada)
    shop.push_till()  # not pulled yet: its movement stays in the store's log for T01
    with write_tx(shop.store) as conn:
        stock_rules.adjust(conn, "S01", "SKU2", 5, "goods_receipt")
    return numbers


def test_a_store_that_purged_joins_and_stock_agrees_on_every_tier(shop: Shop) -> None:
    numbers = trade_and_purge(shop)
    joined = upstream.join(shop.store, shop.ho_url, shop.code)
    assert joined.carried["receipts"] == 1
    assert joined.carried["receipts_purged"] == 2
    assert joined.carried["receipts_held_back"] == 1  # the last of the series, its movements gone
    assert joined.carried["opening_items"] == 3
    assert "2 purged here before" in joined.history
    assert "opening balance of 3 items" in joined.history

    upstream.sync(shop.store)
    shop.pull_till()
    assert held(shop.ho) == [] and held(shop.store) == []
    with read_tx(shop.ho) as conn:
        at_ho = set(conn.execute(sa.select(receipt.c.receipt_no)).scalars())
    assert at_ho == {numbers["after_purge"]}
    expected = {"LOCAL": 8, "SKU1": 44, "SKU2": 25}  # 10-2; 50-1-3-1-1; 20+5
    assert on_hand(shop.store, "S01") == expected
    assert on_hand(shop.till.engine, "S01") == expected
    assert on_hand(shop.ho, "S01") == expected
    opening = stock_movement.c.reason == stock_rules.OPENING_BALANCE
    assert count(shop.ho, stock_movement, opening) == 3
    assert count(shop.store, stock_movement, opening) == 0  # head office's alone
    assert count(shop.till.engine, stock_movement, opening) == 0
    with read_tx(shop.store) as conn:
        logged = conn.execute(
            sa.select(admin_log.c.detail).where(admin_log.c.action == "history sent to head office")
        ).scalar_one()
    assert "opening balance of 3 items" in logged

    # A sale after the join goes up like any other; the stock still agrees.
    shop.sell(("SKU2", 1))
    shop.push_till()
    upstream.sync(shop.store)
    shop.pull_till()
    expected["SKU2"] = 24
    for engine in (shop.ho, shop.store, shop.till.engine):
        assert on_hand(engine, "S01") == expected
    assert count(shop.ho, receipt) == 2


def test_joining_again_syncing_again_and_a_resent_opening_change_nothing(shop: Shop) -> None:
    trade_and_purge(shop)
    upstream.join(shop.store, shop.ho_url, shop.code)
    upstream.sync(shop.store)
    before = (on_hand(shop.ho, "S01"), count(shop.ho, receipt), count(shop.ho, stock_movement))

    again = upstream.join(shop.store, shop.ho_url, shop.code)  # registered: resumes, no-op
    assert again.rows_loaded == 0
    report = upstream.sync(shop.store)
    assert report.pushed == 0
    with read_tx(shop.store) as conn:
        secret = peers.parent(conn).secret  # type: ignore[union-attr]
    with read_tx(shop.ho) as conn:
        sku1 = opening_stock.movement_id("S01", "SKU1")
        sent = conn.execute(
            sa.select(stock_movement.c.qty).where(stock_movement.c.movement_id == sku1)
        ).scalar_one()
    with SyncClient(shop.ho_url, "S01", secret, protocol=SPEC.protocol) as client:
        answer = client.opening_stock([{"sku": "SKU1", "qty": sent}, {"sku": "LOCAL", "qty": 8}])
    assert answer == {"recorded": 0, "items": 2}
    after = (on_hand(shop.ho, "S01"), count(shop.ho, receipt), count(shop.ho, stock_movement))
    assert after == before
    assert on_hand(shop.ho, "S01") == on_hand(shop.store, "S01")


def test_a_store_that_never_purged_needs_no_opening_balance(shop: Shop) -> None:
    shop.sell(("SKU1", 2))
    shop.push_till()
    joined = upstream.join(shop.store, shop.ho_url, shop.code)
    assert joined.carried["opening_items"] == 0
    assert joined.carried["receipts"] == 1 and joined.carried["receipts_purged"] == 0
    upstream.sync(shop.store)
    assert count(shop.ho, stock_movement, stock_movement.c.reason == "opening_balance") == 0
    assert on_hand(shop.ho, "S01") == on_hand(shop.store, "S01")
    assert held(shop.ho) == []


@pytest.mark.postgres
def test_a_store_on_postgres_that_purged_joins_and_stock_agrees(pg_shop: Shop) -> None:
    numbers = trade_and_purge(pg_shop)
    joined = upstream.join(pg_shop.store, pg_shop.ho_url, pg_shop.code)
    assert (joined.carried["receipts"], joined.carried["receipts_purged"]) == (1, 2)
    upstream.sync(pg_shop.store)
    pg_shop.pull_till()
    assert held(pg_shop.ho) == []
    with read_tx(pg_shop.ho) as conn:
        assert list(conn.execute(sa.select(receipt.c.receipt_no)).scalars()) == [
            numbers["after_purge"]
        ]
    expected = {"LOCAL": 8, "SKU1": 44, "SKU2": 25}
    for engine in (pg_shop.ho, pg_shop.store, pg_shop.till.engine):
        assert on_hand(engine, "S01") == expected


class Cut(Exception):
    pass


def test_a_join_cut_short_and_an_answer_lost_do_not_double_the_opening(shop: Shop) -> None:
    trade_and_purge(shop)

    def cut(_stage: str, _rows: int) -> None:
        raise Cut  # registered, history captured again, the load begun: then killed

    with pytest.raises(Cut):
        upstream.join(shop.store, shop.ho_url, shop.code, progress=cut)
    assert count(shop.ho, stock_movement) == 0  # nothing of the store's yet
    upstream.join(shop.store, shop.ho_url, shop.code)  # run again: it carries on
    upstream.sync(shop.store)
    shop.pull_till()
    expected = {"LOCAL": 8, "SKU1": 44, "SKU2": 25}
    assert on_hand(shop.ho, "S01") == expected

    # The answer to the opening balance was lost: the store sends it again.
    with write_tx(shop.store) as conn:
        state.put(conn, joining_history.OPENING, '{"LOCAL": 8, "SKU1": 45, "SKU2": 20}')
    upstream.sync(shop.store)
    with read_tx(shop.store) as conn:
        assert joining_history.opening_to_send(conn) is None  # acknowledged this time
    for engine in (shop.ho, shop.store, shop.till.engine):
        assert on_hand(engine, "S01") == expected
    assert count(shop.ho, stock_movement, stock_movement.c.reason == "opening_balance") == 3


def test_a_store_whose_till_is_far_behind_is_refused_before_anything_changes(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    trade_and_purge(shop)  # T01 has not pulled the store's last changes
    with read_tx(shop.store) as conn:
        head = log.head(conn)
    monkeypatch.setattr(joining_history, "MAX_AHEAD", 2)  # the bound, made small
    with pytest.raises(RetailError, match="T01 has not taken"):
        upstream.join(shop.store, shop.ho_url, shop.code)
    with read_tx(shop.store) as conn:
        assert peers.parent(conn) is None and log.head(conn) == head
    shop.pull_till()  # the till catches up: nothing is ahead of it any more
    joined = upstream.join(shop.store, shop.ho_url, shop.code)  # the code still works
    assert joined.carried["receipts"] == 1
    upstream.sync(shop.store)
    assert on_hand(shop.ho, "S01") == on_hand(shop.store, "S01") == on_hand(shop.till.engine, "S01")

"""A store that traded before joining head office (issue 12): it sold items head office
never had, by cashiers of its own. Joining replaces its catalog with head office's
(those items are removed), but its history goes up whole: its receipts reach head
office, none is quarantined there (the store vouches for its own cashiers, as for its
tills' number series), and stock agrees on every tier. (Head office on SQLite and
PostgreSQL.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import cashiers, catalog, chain, integrity, sales, store_admin
from possync.retail import stock as stock_rules
from possync.retail.replication import SPEC
from possync.retail.schema import item, receipt
from possync.sync import peers, quarantine
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.parent import Parent
from possync.terminal.local import Terminal
from tests.property.chain_tiers import CATALOG, Edges, join, on_hand, provision, wire

OWN_CATALOG = CATALOG + "LOCAL,5000000000099,Local thing,1.00,STD\n"


@dataclass
class Trading:
    """Head office, and store S01 trading on its own with till T01."""

    ho: sa.Engine
    store: sa.Engine
    till: Terminal
    code: str

    def sell(self) -> None:
        with write_tx(self.till.engine) as conn:
            sales.record_sale(
                conn,
                self.till.till(),
                [sales.LineRequest("LOCAL", 2), sales.LineRequest("SKU1", 1)],
                [sales.PaymentRequest("CASH")],
                cashier_id="ANA",  # the store's own: head office never had her
            )

    def push_till(self) -> None:
        parent = Parent(self.store, SPEC, "S01", guard=integrity.guard)
        with read_tx(self.store) as conn:
            peer = peers.get(conn, "T01")
        assert peer is not None
        while (batch := self.till.child.outgoing(50)) is not None:
            self.till.child.acknowledged(parent.receive(peer, wire(batch.to_wire())))

    def sync_up(self) -> None:
        self.push_till()
        Edges(self.ho, {"S01": self.store}).push_store("S01")


@pytest.fixture
def trading(db_url: str, tmp_path: Path) -> Iterator[Trading]:
    ho = open_engine(db_url)
    chain.init_head_office(ho, "Acme Retail")
    with write_tx(ho) as conn:
        catalog.import_csv(conn, CATALOG)
    code = chain.add_store(ho, "S01").registration_code
    store = open_engine(f"sqlite:///{tmp_path / 'S01.db'}")
    store_admin.init_store(store, "S01", "Main Street")
    with write_tx(store) as conn:
        catalog.import_csv(conn, OWN_CATALOG)
        stock_rules.adjust(conn, "S01", "LOCAL", 10, "goods_receipt")
        stock_rules.adjust(conn, "S01", "SKU1", 50, "goods_receipt")
        cashiers.save(conn, "ANA", "Ana", pin="4821")
    provision(store, "S01", tmp_path / "T01", "T01")
    shop = Trading(ho, store, Terminal.open(tmp_path / "T01"), code)
    yield shop
    shop.till.close()
    store.dispose()
    ho.dispose()


def held(engine: sa.Engine) -> list[str]:
    with read_tx(engine) as conn:
        return [h.reason for h in quarantine.listing(conn)]


def receipts(engine: sa.Engine) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar_one())


def test_sales_of_items_head_office_lacks_go_up_with_the_history(trading: Trading) -> None:
    trading.sell()
    trading.push_till()  # at the store before it joins
    join(trading.ho, trading.store, "S01", trading.code)
    with read_tx(trading.store) as conn:  # the store sells head office's catalog now
        active = dict(conn.execute(sa.select(item.c.sku, item.c.active)).all())
    assert active == {"LOCAL": False, "SKU1": True, "SKU2": True, "SKU3": True}
    trading.sync_up()
    assert held(trading.ho) == []
    assert receipts(trading.ho) == receipts(trading.store) == 1
    assert on_hand(trading.ho, "S01") == on_hand(trading.store, "S01")
    assert on_hand(trading.ho, "S01") == {"LOCAL": 8, "SKU1": 49}


def test_an_offline_sale_of_an_item_the_join_removed_is_not_quarantined(
    trading: Trading,
) -> None:
    # Joining deactivates the items head office lacks rather than deleting them.
    trading.sell()  # offline: the till has not synced when the store joins
    join(trading.ho, trading.store, "S01", trading.code)
    trading.sync_up()
    assert held(trading.store) == []
    assert receipts(trading.ho) == receipts(trading.store) == 1
    assert on_hand(trading.store, "S01") == on_hand(trading.till.engine, "S01")

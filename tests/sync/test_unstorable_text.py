"""A SQLite store holds text PostgreSQL cannot (a NUL character): relayed to a
PostgreSQL head office, that row is quarantined there, and the rest of the batch
and every later batch go through (one row never blocks a store's channel)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from possync.retail import chain, store_admin
from possync.retail import stock as stock_rules
from possync.retail.schema import customer, item, stock_movement
from possync.store import upstream
from possync.sync import peers, quarantine
from possync.sync.db import open_engine, read_tx, write_tx

pytestmark = pytest.mark.postgres


def wire(value: object) -> object:
    return orjson.loads(orjson.dumps(value))


def test_a_nul_in_relayed_text_is_held_and_the_channel_goes_on(pg_url: str, tmp_path: Path) -> None:
    ho = open_engine(pg_url)
    chain.init_head_office(ho, "Acme")
    with write_tx(ho) as conn:
        conn.execute(
            item.insert().values(sku="SKU1", name="Tea", price=200, tax_code="STD", active=True)
        )
    code = chain.add_store(ho, "S01").registration_code
    shop = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    store_admin.init_store(shop, "S01", "Main Street")
    with write_tx(ho) as conn:
        peer, secret = peers.register(conn, "S01", code)
    with write_tx(shop) as conn:
        peers.set_parent(conn, "HO", "inproc://", secret, list(peer.route_keys))
        conn.execute(
            item.insert().values(sku="SKU1", name="Tea", price=200, tax_code="STD", active=True)
        )
        conn.execute(
            customer.insert().values(
                customer_id="c-nul", customer_no="S01-C1", name="Ann\x00Lee",
                created_at="2026-12-01T00:00:00Z",
            )
        )  # fmt: skip
        stock_rules.adjust(conn, "S01", "SKU1", 5, "goods_receipt")
    parent, child = chain.parent_of_stores(ho, "HO"), upstream.child(shop)

    def push() -> None:
        while (batch := child.outgoing(100)) is not None:
            with read_tx(ho) as conn:
                found = peers.get(conn, "S01")
            assert found is not None
            child.acknowledged(parent.receive(found, wire(batch.to_wire())))

    push()
    with write_tx(shop) as conn:
        stock_rules.adjust(conn, "S01", "SKU1", 2, "goods_receipt")
    push()  # the next batch is not blocked either
    with read_tx(ho) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(customer)).scalar_one() == 0
        moved = conn.execute(sa.select(sa.func.sum(stock_movement.c.qty))).scalar_one()
        held = quarantine.listing(conn, peer="S01")
    assert moved == 7
    assert [h.document for h in held] == ["customer:c-nul"]
    assert "cannot store" in held[0].reason
    assert child.pending() == 0

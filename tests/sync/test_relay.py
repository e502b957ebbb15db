"""Relay scope (issue 12): a store relays for its tills and nobody else.

Head office takes from a store rows of the store's own subtree (routed to it,
whichever of its tills owns them), refuses whole any batch holding a row routed
elsewhere or owned by a node without a route, never lets an owned row change its
route or owner, and holds each receipt once however often it is sent. A leaf
parent (a store to its tills) still refuses rows owned by another node. The retail
tests run head office on SQLite and PostgreSQL; the engine's rules run on a tiny
schema of their own, with a table the retail schema lacks (mutable, owned, routed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from possync.retail import sales
from possync.retail import stock as stock_rules
from possync.retail.schema import receipt, receipt_line, stock_level, stock_movement
from possync.sync import peers
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import BadBatch, OutOfScope, OutOfSequence
from tests.property.chain_tiers import HO, Chain, wire


@pytest.fixture
def tiers(db_url: str, tmp_path: Path) -> Iterator[Chain]:
    built = Chain(tmp_path / "chain", ho_url=db_url, tills=("T01",))
    yield built
    built.close()


def sell(tiers: Chain, store_id: str = "S01", qty: int = 2) -> str:
    term = tiers.tills[store_id, "T01"]
    with write_tx(term.engine) as conn:
        made = sales.record_sale(
            conn, term.till(), [sales.LineRequest("SKU1", qty)], [sales.PaymentRequest("CASH")]
        )
    return made.receipt_id


def ledger(engine: sa.Engine) -> dict[str, Any]:
    """What a refused or repeated batch must leave as it was."""
    with read_tx(engine) as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (receipt, receipt_line, stock_movement)
        } | {"levels": sorted(conn.execute(sa.select(stock_level)).all())}


def inbound(tiers: Chain, store_id: str) -> int:
    with read_tx(tiers.ho) as conn:
        found = peers.get(conn, store_id)
    assert found is not None
    return found.inbound_seq


def store_batch(tiers: Chain, store_id: str = "S01") -> dict[str, Any]:
    """What the store would push to head office now, as wire JSON."""
    batch = tiers.upstream[store_id].outgoing(100)
    assert batch is not None
    return wire(batch.to_wire())


def test_rows_of_the_stores_tills_and_its_own_are_taken(tiers: Chain) -> None:
    sold = sell(tiers)
    with write_tx(tiers.stores["S01"]) as conn:  # goods received at the store
        stock_rules.adjust(conn, "S01", "SKU2", 7, "goods_receipt")
    tiers.push_till("S01", "T01")
    tiers.push_store("S01")
    with read_tx(tiers.ho) as conn:
        got = conn.execute(sa.select(receipt.c.receipt_id, receipt.c.terminal_id)).all()
        moved = conn.execute(  # but the opening goods, given at head office
            sa.select(stock_movement.c.terminal_id, stock_movement.c.qty).where(
                stock_movement.c.qty != 100
            )
        ).all()
    assert got == [(sold, "T01")]
    assert sorted(moved, key=repr) == sorted([("T01", -2), (None, 7)], key=repr)


@pytest.mark.parametrize("table", ["receipt", "stock_movement"])
def test_a_store_cannot_send_rows_of_another_store(tiers: Chain, table: str) -> None:
    sell(tiers)
    with write_tx(tiers.stores["S01"]) as conn:
        stock_rules.adjust(conn, "S01", "SKU2", 7, "goods_receipt")
    tiers.push_till("S01", "T01")
    body = store_batch(tiers)
    for change in body["changes"]:  # the store claims rows of S02
        if change["table"] == table:
            change["row"]["store_id"] = "S02"
    before, cursor = ledger(tiers.ho), inbound(tiers, "S01")
    with pytest.raises(OutOfScope, match="store_id is 'S02'"):
        tiers.ho_parent.receive(tiers.ho_peer("S01"), body)
    assert ledger(tiers.ho) == before  # nothing of the batch, not even its good rows
    assert inbound(tiers, "S01") == cursor
    tiers.push_store("S01")  # the store's own batch, unaltered, is taken
    assert ledger(tiers.ho)["receipt"] == 1


def test_an_owned_row_without_a_route_is_refused(tiers: Chain) -> None:
    """The retail tables' routes are required columns, so the form check refuses it
    before the scope check would (which test_relay_rules.py tests on its own)."""
    sell(tiers)
    tiers.push_till("S01", "T01")
    body = store_batch(tiers)
    for change in body["changes"]:
        if change["table"] == "receipt_line":
            change["row"]["store_id"] = None  # whose subtree? nobody can tell
    before = ledger(tiers.ho)
    with pytest.raises((BadBatch, OutOfScope), match="store_id"):
        tiers.ho_parent.receive(tiers.ho_peer("S01"), body)
    assert ledger(tiers.ho) == before


def test_a_leaf_store_refuses_a_till_writing_for_another(tiers: Chain) -> None:
    """The store is the parent of its tills without relaying: a till writes only its
    own rows, even within its store."""
    sell(tiers)
    child = tiers.till_child("S01", "T01")
    batch = child.outgoing(100)
    assert batch is not None
    body = wire(batch.to_wire())
    for change in body["changes"]:
        change["row"]["terminal_id"] = "T02"
    before = ledger(tiers.stores["S01"])
    with pytest.raises(OutOfScope, match="T01 may only write its own rows"):
        tiers.store_parents["S01"].receive(tiers.till_peer("S01", "T01"), body)
    assert ledger(tiers.stores["S01"]) == before


def test_a_batch_sent_three_times_is_held_once(tiers: Chain) -> None:
    for _ in range(3):
        sell(tiers)
    tiers.push_till("S01", "T01")
    batch = tiers.upstream["S01"].outgoing(100)
    assert batch is not None
    acks = [tiers.receive_at_ho("S01", batch) for _ in range(3)]
    assert acks == [batch.through] * 3
    held = ledger(tiers.ho)
    assert (held["receipt"], held["receipt_line"]) == (3, 3)
    tiers.upstream["S01"].acknowledged(acks[0])
    assert tiers.upstream["S01"].outgoing(100) is None
    with read_tx(tiers.ho) as conn:
        assert stock_rules.on_hand(conn, "S01")["SKU1"] == 100 - 3 * 2


def test_a_rewound_cursor_sends_everything_again_and_nothing_is_held_twice(
    tiers: Chain,
) -> None:
    """Head office's cursor for the store goes back to 0 (head office restored from
    an old copy that already held the rows, or a fault): the store's next push is
    refused as out of sequence, the store starts again where head office stands, as
    the transport does, and every change arrives a second time."""
    sell(tiers)
    tiers.push_till("S01", "T01")
    tiers.push_store("S01")
    before = ledger(tiers.ho)
    sell(tiers, qty=1)  # one new sale on top of what head office holds
    tiers.push_till("S01", "T01")
    with write_tx(tiers.ho) as conn:
        peers.set_inbound_seq(conn, "S01", 0, pushed=False)
    batch = tiers.upstream["S01"].outgoing(100)
    assert batch is not None
    with pytest.raises(OutOfSequence) as refused:
        tiers.receive_at_ho("S01", batch)
    assert refused.value.details["expected_after"] == 0
    tiers.upstream["S01"].acknowledged(0)  # exchange._rewind
    tiers.push_store("S01", limit=3)
    after = ledger(tiers.ho)
    assert (after["receipt"], after["receipt_line"]) == (2, 2)
    assert after["stock_movement"] == before["stock_movement"] + 1
    with read_tx(tiers.ho) as conn:
        assert stock_rules.on_hand(conn, "S01")["SKU1"] == 100 - 2 - 1
    # The store's own cursor rewound too (its sync state restored): all again, ignored.
    with write_tx(tiers.stores["S01"]) as conn:
        peers.set_outbound_seq(conn, HO, 0, pulled=False)
    tiers.push_store("S01", limit=2)
    assert ledger(tiers.ho) == after

"""The store checks a till's fiscal chain as its documents arrive (the intake guard,
in process: the store's Parent with its guard, a real till database): a chain that
links is verified; a document that never arrived and one altered on the way are
recorded, and the documents are stored all the same."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail import catalog, fiscal_chain, sales, store_admin
from possync.retail.schema import receipt
from possync.sync import peers
from possync.sync.db import read_tx, write_tx
from possync.terminal.local import Terminal
from tests.property.retail_pair import CATALOG
from tests.property.test_customer_merge import Shop, wire


def _sell(shop: Shop, n: int) -> list[str]:
    term = shop.tills["T01"]
    numbers = []
    for _ in range(n):
        with write_tx(term.engine) as conn:
            sold = sales.record_sale(
                conn, term.till(), [sales.LineRequest("SKU1", 1)], [sales.PaymentRequest("CASH")]
            )
        numbers.append(sold.receipt_no)
    return numbers


def _status(shop: Shop) -> fiscal_chain.ChainStatus:
    with read_tx(shop.store) as conn:
        return fiscal_chain.status_by_terminal(conn)["T01"]


def _part_of(change: dict[str, Any], number: str, receipt_id: str) -> bool:
    row = change["row"]
    return row.get("receipt_id") == receipt_id or row.get("doc_ref") == number


def test_the_store_verifies_as_documents_arrive_and_records_a_gap_and_an_alteration() -> None:
    shop = Shop()
    try:
        with write_tx(shop.store) as conn:
            catalog.import_csv(conn, CATALOG)
        shop.settle()
        assert _status(shop).state == "none"  # T01 issued nothing yet
        _sell(shop, 3)
        shop.settle()
        first = _status(shop)
        assert (first.state, first.head_seq, first.problem) == ("ok", 3, None)

        fourth, fifth, sixth = _sell(shop, 3)
        child = shop.tills["T01"].child
        batch = wire(child.outgoing(1000).to_wire())  # type: ignore[union-attr]
        ids = {c["row"]["receipt_no"]: c["row"]["receipt_id"] for c in batch["changes"]
               if c["table"] == "receipt"}  # fmt: skip
        # The fourth document never reaches the store; the sixth arrives altered.
        batch["changes"] = [c for c in batch["changes"] if not _part_of(c, fourth, ids[fourth])]
        for change in batch["changes"]:
            if change["table"] == "receipt" and change["row"]["receipt_no"] == sixth:
                change["row"]["created_at"] = "2020-01-01T00:00:00.000Z"
        shop.parent.receive(shop.peer("T01"), batch)

        found = _status(shop)
        assert (found.state, found.problem, found.problem_seq) == ("broken", "gap", 4)
        assert found.head_seq == 6 and found.detected_at is not None
        with write_tx(shop.store) as conn:
            held = set(conn.execute(sa.select(receipt.c.receipt_no)).scalars())
            assert {fifth, sixth} <= held and fourth not in held  # stored all the same
            again = fiscal_chain.verify(conn, "S01", "T01")
        assert (again.problem, again.problem_seq, again.detected_at) == (
            "gap",
            4,
            found.detected_at,
        )
    finally:
        shop.close()


def test_a_till_of_protocol_3_sends_receipts_without_a_place_in_a_chain() -> None:
    """A till not yet upgraded (sync protocol 3) knows no chain columns: its receipts
    are completed with none, stored, and leave its chain unstarted."""
    shop = Shop()
    try:
        with write_tx(shop.store) as conn:
            catalog.import_csv(conn, CATALOG)
        shop.settle()
        [number] = _sell(shop, 1)
        batch = wire(shop.tills["T01"].child.outgoing(1000).to_wire())  # type: ignore[union-attr]
        batch["protocol"] = 3
        for change in batch["changes"]:
            if change["table"] == "receipt":
                del change["row"]["chain_seq"], change["row"]["chain_hash"]
            if change["table"] == "receipt_line":  # nor the discount's reason (schema 0010)
                del change["row"]["discount_reason"]
        shop.parent.receive(shop.peer("T01"), batch)
        with read_tx(shop.store) as conn:
            stored = conn.execute(
                sa.select(receipt.c.chain_seq, receipt.c.chain_hash).where(
                    receipt.c.receipt_no == number
                )
            ).one()
        assert tuple(stored) == (None, None) and _status(shop).state == "none"
    finally:
        shop.close()


def test_a_till_provisioned_again_goes_on_with_its_chain() -> None:
    """Till replaced: the store provisions T01 again; the new database's initial
    load carries where T01's chain stands, so its first document takes the next
    place, linked to the last one the store holds: no fork, the chain verifies."""
    shop = Shop()
    try:
        with write_tx(shop.store) as conn:
            catalog.import_csv(conn, CATALOG)
        shop.settle()
        _sell(shop, 2)
        shop.settle()
        shop.tills["T01"].close()

        code = store_admin.add_terminal(shop.store, "T01").registration_code
        term = Terminal.create(shop.directory / "T01-new", "T01")
        shop.tills["T01"] = term
        with write_tx(shop.store) as conn:
            peer, secret = peers.register(conn, "T01", code)
        with write_tx(term.engine) as conn:
            peers.set_parent(conn, "S01", "inproc://", secret, list(peer.route_keys))
        start = wire(shop.parent.start_load(peer).__dict__)
        term.child.begin_load(start["cursor"], start["tables"], start["baselines"], start["counts"])
        for table in start["tables"]:
            rows, last, more = shop.parent.load_chunk(peer, table, None, 10_000)
            term.child.apply_chunk(table, wire(rows), wire(last), more)
        term.child.finish_load()

        [third] = _sell(shop, 1)
        shop.settle()
        with write_tx(shop.store) as conn:
            seq = conn.execute(
                sa.select(receipt.c.chain_seq).where(receipt.c.receipt_no == third)
            ).scalar()
            [status] = fiscal_chain.verify_all(conn, "T01")
        assert seq == 3 and (status.state, status.head_seq) == ("ok", 3)
    finally:
        shop.close()

"""A receipt whose parts arrive in two batches (a till of release 0.1.0 cut its
batches anywhere): the first part is held as incomplete, and the batch that brings
the rest takes it up again and applies the whole, with no one's help."""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from possync.retail import catalog, sales
from possync.retail.schema import receipt, receipt_line
from possync.sync import quarantine
from possync.sync.db import read_tx, write_tx
from tests.property.retail_pair import CATALOG
from tests.property.test_customer_merge import Shop, wire


def test_a_receipt_split_across_batches_is_held_then_completed() -> None:
    shop = Shop()
    try:
        term = shop.tills["T01"]
        with write_tx(shop.store) as conn:
            catalog.import_csv(conn, CATALOG)
        shop.settle()  # the till takes the items
        with write_tx(term.engine) as conn:
            sold = sales.record_sale(
                conn,
                term.till(),
                [sales.LineRequest(sku, 1) for sku in ("SKU1", "SKU2", "SKU3")],
                [sales.PaymentRequest("CASH")],
            )
        batch = wire(term.child.outgoing(100).to_wire())
        changes = batch["changes"]
        assert [c["table"] for c in changes][:3] == ["receipt", "receipt_line", "receipt_line"]
        first, rest = changes[:3], changes[3:]
        peer = shop.peer("T01")
        part = {**batch, "through": first[-1]["seq"], "changes": first, "more": True}
        part.pop("head", None)  # a 0.1.0 till says no head
        assert shop.parent.receive(peer, orjson.loads(orjson.dumps(part))) == first[-1]["seq"]
        with read_tx(shop.store) as conn:
            [held] = quarantine.listing(conn, peer="T01")
            assert conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar() == 0
        assert held.code == "incomplete" and len(held.changes) == 3

        part = {**batch, "after": first[-1]["seq"], "changes": rest}
        part.pop("head", None)
        shop.parent.receive(shop.peer("T01"), orjson.loads(orjson.dumps(part)))
        with read_tx(shop.store) as conn:
            assert quarantine.listing(conn, peer="T01") == []
            [done] = quarantine.listing(conn, peer="T01", status="resubmitted")
            numbers = conn.execute(sa.select(receipt.c.receipt_no)).scalars().all()
            lines = conn.execute(sa.select(sa.func.count()).select_from(receipt_line)).scalar()
        assert done.decided_by == "possync" and numbers == [sold.receipt_no] and lines == 3
    finally:
        shop.close()

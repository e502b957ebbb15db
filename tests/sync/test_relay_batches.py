"""A store's batch to head office never cuts a till's document in two, although the
store's log holds each till push table by table (every receipt, then every line...):
with a batch far smaller than one push, head office takes every receipt whole and
holds nothing in its quarantine."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from possync.retail import sales
from possync.retail.schema import receipt
from possync.sync import quarantine
from possync.sync.db import read_tx, write_tx
from tests.property.chain_tiers import Chain, on_hand


def test_a_small_batch_extends_to_whole_documents(tmp_path: Path) -> None:
    tiers = Chain(tmp_path / "chain")
    try:
        term = tiers.tills["S01", "T01"]
        for _ in range(40):
            with write_tx(term.engine) as conn:
                sales.record_sale(
                    conn,
                    term.till(),
                    [sales.LineRequest("SKU1", 1), sales.LineRequest("SKU2", 2)],
                    [sales.PaymentRequest("CASH")],
                )
        tiers.push_till("S01", "T01", limit=10_000)  # one push: the log groups it by table
        batch = tiers.store_outgoing("S01", 50)
        assert batch is not None and len(batch.changes) > 50  # extended past the cut
        tiers.push_store("S01", limit=50)
        with read_tx(tiers.ho) as conn:
            received = conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar()
            held = quarantine.listing(conn, peer="S01")
        assert (received, held) == (40, [])
        assert on_hand(tiers.ho, "S01") == on_hand(tiers.stores["S01"], "S01")
    finally:
        tiers.close()

"""Cash-up rows reach the store like receipts (in process: the store's Parent with
its intake guard, real till databases): a session, its paid in/out and its Z
report arrive, the Z report extends the till's verified fiscal chain; a Z report
numbered outside the till's Z series is quarantined with the reason and the rest
is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possync.retail import cashup, catalog, fiscal_chain, purge, sales
from possync.retail.schema import cash_movement, drawer_session, z_report
from possync.sync import quarantine
from possync.sync.db import read_tx, write_tx
from tests.property.chain_tiers import Chain
from tests.property.retail_pair import CATALOG
from tests.property.test_customer_merge import Shop, wire


def a_drawer_session(engine: sa.Engine, till: sales.Till) -> dict[str, Any]:
    """A float of 50.00, a cash sale, 1.00 paid out for stamps, then the Z report
    (counted: one 50.00 note and 50 cents); returns the Z report."""
    with write_tx(engine) as conn:
        cashup.open_session(conn, till, 5000, None)
        sales.record_sale(
            conn, till, [sales.LineRequest("SKU1", 1)], [sales.PaymentRequest("CASH")]
        )
        cashup.move_cash(conn, till, "out", 100, "stamps")
        return cashup.close_session(conn, till, {5000: 1, 50: 1})


def test_a_closed_session_syncs_up_and_a_forged_z_report_is_held() -> None:
    shop = Shop()
    try:
        with write_tx(shop.store) as conn:
            catalog.import_csv(conn, CATALOG)
        shop.settle()
        term = shop.tills["T01"]
        till = term.till()
        z = a_drawer_session(term.engine, till)
        shop.settle()
        with read_tx(shop.store) as conn:
            held = conn.execute(sa.select(z_report)).one()
            session = conn.execute(sa.select(drawer_session)).one()
            moved = conn.execute(sa.select(cash_movement.c.amount)).scalars().all()
            status = fiscal_chain.status_by_terminal(conn)["T01"]
        assert (held.z_no, held.over_short, held.chain_hash) == (
            z["z_no"],
            z["over_short"],
            z["chain_hash"],
        )
        assert (session.closed_at, session.z_report_id) == (z["created_at"], z["z_report_id"])
        assert moved == [100]
        assert (status.state, status.head_seq, status.head_hash) == ("ok", 2, z["chain_hash"])

        # Forged on the way: a Z number of another till's series.
        with write_tx(term.engine) as conn:
            cashup.open_session(conn, till, 0)
            cashup.close_session(conn, till, {})
        child = term.child
        batch = wire(child.outgoing(1000).to_wire())  # type: ignore[union-attr]
        for change in batch["changes"]:
            if change["table"] == "z_report":
                change["row"]["z_no"] = "S01-T02-Z000009"
        shop.parent.receive(shop.peer("T01"), batch)
        with read_tx(shop.store) as conn:
            reasons = [h.reason for h in quarantine.listing(conn, peer="T01")]
            sessions = conn.execute(sa.select(sa.func.count()).select_from(drawer_session)).scalar()
        assert reasons == ["'S01-T02-Z000009' is not a number of the till's Z report series"]
        assert sessions == 2  # the session itself is stored

        # A purge of everything old keeps the till's newest Z report, its chain head,
        # and the session received since the tills last read the store's log.
        rows = purge.purge_rows(shop.store, purge.Rules("9999", keep_last_documents=True))
        assert (rows.purged.drawer_session, rows.kept_unacknowledged.drawer_session) == (1, 1)
        assert rows.purged.cash_movement == 1
        assert (rows.purged.z_report, rows.kept_last_documents) == (0, 2)
        with read_tx(shop.store) as conn:
            assert conn.execute(sa.select(z_report.c.z_no)).scalars().all() == [z["z_no"]]
    finally:
        shop.close()


def test_head_office_receives_a_tills_cash_up_relayed_by_its_store(tmp_path: Path) -> None:
    """Three tiers: a drawer session, its paid out and its Z report made at S01's till
    reach head office through the store, once, with the Z report extending the till's
    fiscal chain as head office checks it; S02 holds none of them."""
    shops = Chain(tmp_path / "chain")
    try:
        term = shops.tills[("S01", "T01")]
        till = term.till()
        z = a_drawer_session(term.engine, till)
        shops.push_till("S01", "T01")
        # The store's batch to head office arrives twice (an acknowledgement lost):
        # the second copy takes nothing new.
        batch = shops.store_outgoing("S01", 1000)
        assert batch is not None
        assert any(c.table == "z_report" for c in batch.changes)
        shops.receive_at_ho("S01", batch)
        shops.settle()
        shops.receive_at_ho("S01", batch)
        with read_tx(shops.ho) as conn:
            held = conn.execute(sa.select(z_report)).one()
            session = conn.execute(sa.select(drawer_session)).one()
            moved = conn.execute(sa.select(cash_movement.c.store_id, cash_movement.c.amount)).all()
        with write_tx(shops.ho) as conn:
            status = fiscal_chain.verify(conn, "S01", "T01")
        assert (held.store_id, held.z_no, held.over_short, held.chain_hash) == (
            "S01",
            z["z_no"],
            z["over_short"],
            z["chain_hash"],
        )
        assert (session.store_id, session.closed_at, session.z_report_id) == (
            "S01",
            z["created_at"],
            z["z_report_id"],
        )
        assert [tuple(m) for m in moved] == [("S01", 100)]
        assert (status.state, status.head_seq, status.head_hash) == ("ok", 2, z["chain_hash"])
        with read_tx(shops.stores["S02"]) as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(z_report)).scalar() == 0
    finally:
        shops.close()

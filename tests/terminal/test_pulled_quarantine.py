"""A change pulled from the store that clashes with data the till holds is held in
the till's own quarantine (direction "down"), whole; the till keeps syncing and
every other change arrives."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail import master_data
from possync.retail.schema import customer
from possync.sync import log, quarantine
from possync.sync.db import read_tx, write_tx
from possync.terminal.status import terminal_status
from tests.property.test_customer_merge import Shop


def test_a_pulled_change_that_clashes_is_held_and_the_till_keeps_syncing() -> None:
    shop = Shop()
    try:
        till = shop.tills["T01"]
        # A row the store never sent, holding the number the store gives next
        # (written past the capture triggers, as a faulty tool would).
        with write_tx(till.engine) as conn, log.capturing_as(conn, log.SUPPRESS):
            conn.execute(
                customer.insert().values(
                    customer_id="stray",
                    customer_no="S01-SC000003",
                    name="Stray",
                    origin_terminal_id=None,
                    created_at="2026-01-01T00:00:00.000Z",
                )
            )
        with write_tx(shop.store) as conn:
            for name in ("Hedy", "Ida"):  # S01-SC000003, then S01-SC000004
                master_data.save_customer(conn, "S01", None, name=name, email="", phone="")
        shop.settle()
        with read_tx(till.engine) as conn:
            [held] = quarantine.listing(conn)
            names = set(conn.execute(sa.select(customer.c.name)).scalars())
        assert (held.direction, held.code, held.peer) == ("down", "conflict", "S01")
        assert held.changes[0]["row"]["name"] == "Hedy" and "UNIQUE" in held.reason.upper()
        assert "Ida" in names and "Hedy" not in names  # the rest arrived
        assert terminal_status(till, probe_store=False)["quarantined"] == 1
        assert (
            till.child.inbound_cursor()
            == shop.parent.changes_for(shop.peer("T01"), till.child.inbound_cursor(), 50).through
        )  # in step with the store: nothing blocked
    finally:
        shop.close()

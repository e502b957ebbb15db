"""Cashiers assigned to stores at head office reach their store and its tills only
(``cashier.store_id`` routes the row; NULL reaches every store), in-process on the
three tiers of tests/property/chain_tiers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import cashiers, chain
from possync.retail.errors import RetailError
from possync.retail.schema import cashier
from possync.sync.db import read_tx
from possync.terminal import modes
from possync.terminal.web.app import create_app
from tests.property.chain_tiers import HO, STORES, Chain
from tests.terminal_web.screen import sign_in


def cashier_ids(engine: sa.Engine) -> set[str]:
    with read_tx(engine) as conn:
        return set(conn.execute(sa.select(cashier.c.cashier_id)).scalars())


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[Chain]:
    built = Chain(tmp_path / "chain")
    yield built
    built.close()


def test_a_cashier_reaches_the_store_they_work_at_and_its_tills_only(shops: Chain) -> None:
    chain.save_cashier(shops.ho, "ANA", "Ana", "4821", "S01")
    chain.save_cashier(shops.ho, "BO", "Bo", "7310", "S02")
    chain.save_cashier(shops.ho, "CY", "Cy", "5092", None)  # at every store
    shops.settle()

    expected = {"S01": {"ANA", "CY"}, "S02": {"BO", "CY"}}
    for store_id in STORES:
        assert cashier_ids(shops.stores[store_id]) == expected[store_id]
    for (store_id, _till), term in shops.tills.items():
        assert cashier_ids(term.engine) == expected[store_id]
        with read_tx(term.engine) as conn:  # and signs in there with the PIN set above
            if store_id == "S01":
                assert cashiers.verify(conn, "ANA", "4821")["name"] == "Ana"
            with pytest.raises(RetailError):
                cashiers.verify(conn, "ANA" if store_id == "S02" else "BO", "4821")

    # A change of name reaches where the cashier is, and nowhere else.
    chain.save_cashier(shops.ho, "ANA", "Ana B.", None, "S01")
    shops.settle()
    for (store_id, _till), term in shops.tills.items():
        with read_tx(term.engine) as conn:
            names = dict(conn.execute(sa.select(cashier.c.cashier_id, cashier.c.name)).all())
        assert names.get("ANA") == ("Ana B." if store_id == "S01" else None)


def test_a_cashier_of_an_unknown_store_is_refused_and_nothing_is_written(shops: Chain) -> None:
    with pytest.raises(RetailError, match="unknown store 'S09'"):
        chain.save_cashier(shops.ho, "DEE", "Dee", "1234", "S09")
    assert "DEE" not in cashier_ids(shops.ho)


def origins_of_cashier_changes(engine: sa.Engine) -> list[tuple[str | None, str | None]]:
    """(origin, route_key) of each cashier change in a node's log, in order."""
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT origin, route_key FROM sync_change WHERE table_name = 'cashier' "
                "ORDER BY seq"
            )
        )
        return [(origin, route) for origin, route in rows]


def test_a_cashier_moved_to_another_store_is_refused_where_they_were(shops: Chain) -> None:
    chain.save_cashier(shops.ho, "C07", "Ana", "4821", "S01")
    shops.settle()
    with read_tx(shops.tills["S01", "T01"].engine) as conn:
        assert cashiers.verify(conn, "C07", "4821")["name"] == "Ana"
    before = {s: len(origins_of_cashier_changes(e)) for s, e in shops.stores.items()}

    chain.save_cashier(shops.ho, "C07", "Ana", None, "S02")
    shops.settle()  # asserts too that nothing is left to send up

    # Every node that holds C07 holds them at S02: S02 and its tills by the new
    # route, S01 and its tills by the old one (relayed by S01).
    for _name, engine in shops.nodes():
        with read_tx(engine) as conn:
            found = conn.execute(sa.select(cashier.c.store_id).where(cashier.c.cashier_id == "C07"))
            assert found.scalar_one() == "S02"
    for till_id in ("T01", "T02"):
        with read_tx(shops.tills["S02", till_id].engine) as conn:
            assert cashiers.verify(conn, "C07", "4821")["name"] == "Ana"
        with read_tx(shops.tills["S01", till_id].engine) as conn:
            with pytest.raises(cashiers.WorksElsewhere, match=r"another store \(S02\)"):
                cashiers.verify(conn, "C07", "4821")
            with pytest.raises(RetailError, match="unknown cashier or wrong PIN"):
                cashiers.verify(conn, "C07", "0000")  # a wrong PIN learns nothing more
    with read_tx(shops.stores["S01"]) as conn, pytest.raises(cashiers.WorksElsewhere):
        cashiers.verify(conn, "C07", "4821")
    with read_tx(shops.stores["S02"]) as conn:
        assert cashiers.verify(conn, "C07", "4821")["name"] == "Ana"

    # S01 captured what it applied as head office's (so it never goes back up):
    # the row to its new route, and once more to S01, which its tills pull.
    assert origins_of_cashier_changes(shops.stores["S01"])[before["S01"] :] == [
        (HO, "S02"),
        (HO, "S01"),
    ]
    assert origins_of_cashier_changes(shops.stores["S02"])[before["S02"] :] == [(HO, "S02")]
    with read_tx(shops.ho) as conn:
        relayed = conn.execute(
            sa.text(
                "SELECT count(*) FROM sync_change "
                "WHERE table_name = 'cashier' AND origin IS NOT NULL"
            )
        ).scalar_one()
    assert relayed == 0  # every store's push left the cashier out

    # The cashier's screen says so at S01's till, in either mode, and lets C07 in at S02.
    for mode in (modes.OFFLINE, modes.ONLINE):
        shops.tills["S01", "T01"].put_state(modes.MODE, mode)
        with TestClient(create_app(shops.directory / "S01" / "T01")) as client:
            refused = sign_in(client, "C07", "4821")
        assert refused.status_code == 422, mode
        assert "C07 now works at another store (S02)" in refused.text
    with TestClient(create_app(shops.directory / "S02" / "T01")) as client:
        assert sign_in(client, "C07", "4821").status_code == 303

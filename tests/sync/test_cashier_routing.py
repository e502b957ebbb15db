"""Cashiers assigned to stores at head office reach their store and its tills only
(``cashier.store_id`` routes the row; NULL reaches every store), in-process on the
three tiers of tests/property/chain_tiers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import cashiers, chain
from possync.retail.errors import RetailError
from possync.retail.schema import cashier
from possync.sync.db import read_tx
from tests.property.chain_tiers import STORES, Chain


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

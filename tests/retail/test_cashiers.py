"""Cashiers and their PINs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from possync.retail import cashiers, store_admin
from possync.retail.errors import RetailError
from possync.retail.schema import cashier
from possync.sync.db import open_engine, read_tx, write_tx


@pytest.fixture
def store_engine(db_url: str) -> sa.Engine:
    engine = open_engine(db_url)
    store_admin.init_store(engine, "S01", "Shop")
    return engine


def test_a_cashier_signs_in_with_their_pin_only(store_engine: sa.Engine) -> None:
    with write_tx(store_engine) as conn:
        cashiers.save(conn, "C01", "Ana", pin="1234")
    with read_tx(store_engine) as conn:
        assert cashiers.verify(conn, "C01", "1234") == {"cashier_id": "C01", "name": "Ana"}
        stored = conn.execute(sa.select(cashier.c.pin_hash)).scalar_one()
        for pin, who in (("9999", "C01"), ("1234", "C02")):
            with pytest.raises(RetailError, match="unknown cashier or wrong PIN"):
                cashiers.verify(conn, who, pin)
    assert "1234" not in stored and stored.startswith("$argon2id$")


def test_renaming_keeps_the_pin_and_deactivating_blocks_sign_in(store_engine: sa.Engine) -> None:
    with write_tx(store_engine) as conn:
        cashiers.save(conn, "C01", "Ana", pin="1234")
        cashiers.save(conn, "C01", "Ana Silva", active=False)
    with read_tx(store_engine) as conn:
        assert cashiers.listing(conn) == [
            {"cashier_id": "C01", "name": "Ana Silva", "active": False}
        ]
        with pytest.raises(RetailError):
            cashiers.verify(conn, "C01", "1234")
    with write_tx(store_engine) as conn:
        cashiers.save(conn, "C01", "Ana Silva")
    with read_tx(store_engine) as conn:
        assert cashiers.verify(conn, "C01", "1234")["name"] == "Ana Silva"


@pytest.mark.parametrize(
    ("cashier_id", "name", "pin", "message"),
    [
        ("C01", "Ana", "12", "4 to 12 digits"),
        ("C01", "Ana", "12ab", "4 to 12 digits"),
        ("C 01", "Ana", "1234", "cashier id"),
        ("C01", " ", "1234", "name"),
        ("C01", "Ana", None, "needs a PIN"),
    ],
)
def test_bad_cashiers_are_refused(
    store_engine: sa.Engine, cashier_id: str, name: str, pin: str | None, message: str
) -> None:
    with write_tx(store_engine) as conn, pytest.raises(RetailError, match=message):
        cashiers.save(conn, cashier_id, name, pin=pin)
    with read_tx(store_engine) as conn:
        assert cashiers.listing(conn) == []

"""A store may require longer PINs (issue 11): ``possync store settings
--min-pin-length N``; PINs set afterwards, by the CLI or the console, must have at
least N digits; PINs set before keep working."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import cashiers
from possync.sync.db import read_tx, write_tx
from tests.e2e.helpers import cli, cli_json
from tests.store_console.conftest import field_errors


def test_a_longer_minimum_applies_to_pins_set_afterwards(
    store: sa.Engine, signed_in: tuple[TestClient, str]
) -> None:
    client, csrf = signed_in
    db = store.url.render_as_string(hide_password=False)
    with write_tx(store) as conn:
        cashiers.save(conn, "OLD", "Set before", pin="1234")
    assert cli_json("store", "settings", "--db", db) == {"min_pin_length": 4}
    assert cli_json("store", "settings", "--db", db, "--min-pin-length", "6") == {
        "min_pin_length": 6
    }
    for wrong in ("3", "13"):
        refused = cli("store", "settings", "--db", db, "--min-pin-length", wrong, expect=1)
        assert "the shortest PIN is 4 to 12 digits" in refused.stderr

    short = cli("store", "cashier", "add", "C1", "--db", db, "--name", "Ann", "--pin", "12345",
                expect=1)  # fmt: skip
    assert "pin: a PIN is 6 to 12 digits" in short.stderr
    cli("store", "cashier", "add", "C1", "--db", db, "--name", "Ann", "--pin", "123456")

    page = client.post(
        "/console/cashiers/new",
        data={"csrf_token": csrf, "cashier_id": "C2", "name": "Bo", "pin": "2468", "active": "1"},
    )
    assert field_errors(page.text) == ["a PIN is 6 to 12 digits"]  # beside the field
    with read_tx(store) as conn:
        assert cashiers.verify(conn, "C1", "123456")["name"] == "Ann"
        assert cashiers.verify(conn, "OLD", "1234")["name"] == "Set before"  # kept
        ids = conn.execute(sa.text("SELECT cashier_id FROM cashier ORDER BY 1")).scalars().all()
    assert ids == ["C1", "OLD"]

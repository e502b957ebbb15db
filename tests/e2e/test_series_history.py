"""Numbers only from one's own series, including series changed over time: a sale
numbered from a till's previous prefix, made offline before the till heard of its
new series, is still the till's own; and a prefix once given is never given to
another till."""

from __future__ import annotations

from pathlib import Path

import pytest

from possync.store.process import StoreProcess
from tests.e2e.helpers import ON_SQLITE, cli, cli_json, make_store, pos_init, receipt_numbers

pytestmark = pytest.mark.e2e


@ON_SQLITE
def test_numbers_of_an_earlier_series_stay_the_tills_own(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        till = tmp_path / "T01"
        pos_init(store, server.url, till, "T01")
        pos_init(store, server.url, tmp_path / "T02", "T02")
        offline = cli_json("pos", "sell", "--data", str(till), "SKU1:1", "--pay", "cash")
        assert offline["receipt_no"] == "S01-T01-000001"
        cli("store", "terminal", "series", "T01", "--db", db_url,
            "--kind", "receipt", "--prefix", "MS1-", "--next", "1")  # fmt: skip
        cli("pos", "sync", "--data", str(till))  # pushes the old number, pulls the new series
        after = cli_json("pos", "sell", "--data", str(till), "SKU1:1", "--pay", "cash")
        assert after["receipt_no"] == "MS1-000001"
        cli("pos", "sync", "--data", str(till))
        assert cli_json("store", "quarantine", "list", "--db", db_url) == []
        refused = cli("store", "terminal", "series", "T02", "--db", db_url,
                      "--kind", "receipt", "--prefix", "S01-T01-", expect=1)  # fmt: skip
        assert "could issue the same numbers" in " ".join(refused.stderr.split())
    assert receipt_numbers(store) == ["MS1-000001", "S01-T01-000001"]

"""Three terminals sell offline with the store server stopped, then sync: every
receipt arrives once and stock converges everywhere. Driven through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from possync.retail.schema import receipt_line, receipt_payment, stock_movement
from possync.store.process import StoreProcess
from tests.e2e.helpers import (
    ON_POSTGRES,
    ON_SQLITE,
    cli,
    cli_json,
    count,
    make_store,
    pos_init,
    receipt_numbers,
    stock_of,
    terminal_engine,
)

pytestmark = pytest.mark.e2e

BASKETS = [["SKU1:2", "SKU2:1"], ["SKU1:1"], ["SKU3:4", "SKU1:1", "SKU2:2"]]


def test_three_terminals_offline_converge(db_url: str, tmp_path: Path) -> None:
    engine = make_store(db_url, stock=100)
    terminals = {t: tmp_path / t for t in ("T01", "T02", "T03")}
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        for t, data in terminals.items():
            pos_init(engine, server.url, data, t)
    # the store is down from here on

    sold: dict[str, int] = {}
    for t, data in terminals.items():
        for basket in BASKETS:
            out = cli_json("pos", "sell", "--data", str(data), *basket, "--pay", "cash")
            assert out["receipt_no"].startswith(f"S01-{t}-")
            for spec in basket:
                sku, qty = spec.split(":")
                sold[sku] = sold.get(sku, 0) + int(qty)
        failed = cli("pos", "sync", "--data", str(data), expect=3)
        assert "cannot reach" in failed.stderr
        status = cli_json("pos", "status", "--data", str(data))
        assert status["store_reachable"] is False
        assert status["pending_changes"] > 0
        assert "cannot reach" in status["last_error"]

    with StoreProcess(db_url, port=server.port, log_path=tmp_path / "store.log"):
        for _ in range(2):  # the second round carries each terminal the others' movements
            for data in terminals.values():
                cli("pos", "sync", "--data", str(data))
        for data in terminals.values():
            status = cli_json("pos", "status", "--data", str(data))
            assert status["pending_changes"] == 0 and status["last_error"] is None
            assert status["store_reachable"] is True

    numbers = receipt_numbers(engine)
    assert numbers == sorted(
        f"S01-{t}-{n:06d}" for t in terminals for n in range(1, len(BASKETS) + 1)
    )
    assert count(engine, receipt_line) == 3 * sum(len(b) for b in BASKETS)
    assert count(engine, receipt_payment) == 3 * len(BASKETS)
    expected = {f"SKU{i}": 100 - sold.get(f"SKU{i}", 0) for i in range(1, 6)}
    assert stock_of(engine) == expected
    for data in terminals.values():
        assert stock_of(terminal_engine(data)) == expected
    # every movement exists once on the store: 5 goods receipts + one per line sold
    assert count(engine, stock_movement) == 5 + 3 * sum(len(b) for b in BASKETS)

    info = cli_json("store", "status", "--db", db_url)
    assert info["receipts"]["sales"] == 9
    assert {t["terminal_id"]: t["sales"] for t in info["terminals"]} == {
        "T01": 3,
        "T02": 3,
        "T03": 3,
    }
    assert all(t["backlog"] == 0 for t in info["terminals"])
    assert info["stock"] == expected


@ON_POSTGRES
def test_returns_customers_and_price_changes_flow_both_ways(db_url: str, tmp_path: Path) -> None:
    engine = make_store(db_url)
    t1, t2 = tmp_path / "T01", tmp_path / "T02"
    with StoreProcess(db_url) as server:
        for t, data in (("T01", t1), ("T02", t2)):
            pos_init(engine, server.url, data, t)
        sale = cli_json("pos", "sell", "--data", str(t1), "SKU1:3", "--pay", "card")
        ret = cli_json("pos", "return", "--data", str(t1), sale["receipt_no"], "SKU1:1")
        assert ret["receipt_no"] == "S01-T01-R000001"
        assert (sale["total"], ret["total"]) == ("6.03", "-2.01")  # SKU1 costs 2.01
        refused = cli("pos", "return", "--data", str(t1), sale["receipt_no"], "SKU1:3", expect=1)
        assert "only 2 of SKU1 can still be returned" in refused.stderr
        customer = cli_json("pos", "customer", "add", "--data", str(t1), "Ada Lovelace")
        assert customer["customer_no"] == "S01-T01-C000001"

        # a price change on the store reaches the terminals at their next sync
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE item SET price = 999 WHERE sku = 'SKU7'")
        assert cli_json("pos", "status", "--data", str(t2))["store_changes_waiting"] == 1
        for data in (t1, t2, t1):
            cli("pos", "sync", "--data", str(data))
        assert cli_json("pos", "status", "--data", str(t2))["store_changes_waiting"] == 0
        priced = cli_json("pos", "sell", "--data", str(t2), "SKU7", "--pay", "cash:20")
        assert priced["total"] == "9.99" and priced["change_due"] == "10.01"

    info = cli_json("store", "status", "--db", db_url)
    assert info["receipts"]["returns"] == 1
    t2_engine = terminal_engine(t2)
    with t2_engine.connect() as conn:
        names = conn.exec_driver_sql("SELECT name, origin_terminal_id FROM customer").all()
    assert names == [("Ada Lovelace", "T01")]  # created offline on T01, now on T02 too
    assert stock_of(t2_engine)["SKU1"] == stock_of(engine)["SKU1"] == 1000 - 3 + 1


@ON_SQLITE
def test_a_reprovisioned_terminal_never_repeats_a_number(db_url: str, tmp_path: Path) -> None:
    engine = make_store(db_url)
    with StoreProcess(db_url) as server:
        old = tmp_path / "old"
        pos_init(engine, server.url, old, "T01")
        for _ in range(3):
            cli_json("pos", "sell", "--data", str(old), "SKU1", "--pay", "cash")
        cli_json("pos", "customer", "add", "--data", str(old), "Ada")
        cli("pos", "sync", "--data", str(old))
        # the till is replaced: a new database, registered with a new code
        new = tmp_path / "new"
        pos_init(engine, server.url, new, "T01")
        sale = cli_json("pos", "sell", "--data", str(new), "SKU1", "--pay", "cash")
        customer = cli_json("pos", "customer", "add", "--data", str(new), "Bob")
        assert (sale["receipt_no"], customer["customer_no"]) == (
            "S01-T01-000004",
            "S01-T01-C000002",
        )
        cli("pos", "sync", "--data", str(new))
        refused = cli("pos", "sync", "--data", str(old), expect=1)  # old secret revoked
        assert "wrong secret" in refused.stderr
    assert len(receipt_numbers(engine)) == 4

"""Cloned installations are detected, never merged or dropped: the same offline
backup imported on two machines, and a till whose database went back to an older
copy. The store binds a terminal to the first installation that syncs; another is
refused with a clear message on both sides and an alert on the dashboard; its sales
stay on it and can be handed to the store's quarantine for a decision."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from possync.retail import store_admin
from possync.store.process import StoreProcess
from tests.e2e.helpers import (
    ON_POSTGRES,
    ON_SQLITE,
    cli,
    cli_json,
    make_store,
    pos_init,
    receipt_numbers,
)

pytestmark = pytest.mark.e2e


def _import(backup: Path, code: str, data: Path, url: str) -> None:
    cli("pos", "import", str(backup), "--data", str(data), "--terminal", "T03",
        "--code", code, "--store-url", url)  # fmt: skip


@ON_POSTGRES
def test_a_backup_imported_twice_is_refused_on_the_second_machine(
    db_url: str, tmp_path: Path
) -> None:
    store = make_store(db_url)
    store_admin.add_terminal(store, "T03")
    with StoreProcess(db_url) as server:
        made = cli_json(
            "store", "terminal", "backup", "T03", "--db", db_url, "--out",
            str(tmp_path / "T03.backup"), "--store-url", server.url,
        )  # fmt: skip
        first, second = tmp_path / "A", tmp_path / "B"
        _import(tmp_path / "T03.backup", made["import_code"], first, server.url)
        _import(tmp_path / "T03.backup", made["import_code"], second, server.url)
        for data, lines in (
            (first, ["SKU1:1", "SKU2:1"]),
            (second, ["SKU3:2", "SKU4:1", "SKU1:3"]),
        ):
            for line in lines:
                cli("pos", "sell", "--data", str(data), line, "--pay", "cash")
        cli("pos", "sync", "--data", str(first))  # the first to sync is T03
        refused = cli("pos", "sync", "--data", str(second), expect=1)
        said = " ".join(refused.stderr.split())
        assert "T03 is bound to another installation" in said, said
        assert "possync pos rescue" in said
        status = cli_json("pos", "status", "--data", str(second))
        assert status["pending_changes"] > 0 and "bound to another" in status["last_error"]
        # Nothing of the copy reached the store; the genuine till carries on.
        assert receipt_numbers(store) == ["S01-T03-000001", "S01-T03-000002"]
        cli("pos", "sell", "--data", str(first), "SKU5:1", "--pay", "cash")
        cli("pos", "sync", "--data", str(first))
        terminals = {
            t["terminal_id"]: t for t in cli_json("store", "status", "--db", db_url)["terminals"]
        }
        assert terminals["T03"]["refused_installation"] is not None  # the dashboard's alert
        assert terminals["T03"]["refused_installation"] != terminals["T03"]["installation_id"]

        # The copy's sales are not lost: handed to the quarantine, for a decision.
        rescued = cli_json("pos", "rescue", "--data", str(second))
        assert rescued["held"] == 3
        assert cli_json("pos", "rescue", "--data", str(second))["sent"] == 0  # once only
        held = cli_json("store", "quarantine", "list", "--db", db_url)
        assert [e["code"] for e in held] == ["foreign_installation"] * 3
        # Resubmitting one that reuses a number the genuine till issued is refused.
        again = cli_json(
            "store", "quarantine", "resubmit", str(held[0]["quarantine_id"]), "--db", db_url
        )
        assert again["applied"] is False and again["held_again"][0]["code"] == "conflict"
    assert receipt_numbers(store) == ["S01-T03-000001", "S01-T03-000002", "S01-T03-000003"]


@ON_SQLITE
def test_a_till_gone_back_to_an_older_copy_is_never_taken_for_a_resend(
    db_url: str, tmp_path: Path
) -> None:
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        till = tmp_path / "T01"
        pos_init(store, server.url, till, "T01")
        shutil.copytree(till, tmp_path / "old-copy")  # a copy taken now...
        for _ in range(3):
            cli("pos", "sell", "--data", str(till), "SKU1:1", "--pay", "cash")
        cli("pos", "sync", "--data", str(till))  # ...while the till goes on and syncs
        shutil.rmtree(till)
        shutil.copytree(tmp_path / "old-copy", till)  # then the till goes back to it
        cli("pos", "sell", "--data", str(till), "SKU2:1", "--pay", "cash")
        refused = cli("pos", "sync", "--data", str(till), expect=1)
        said = " ".join(refused.stderr.split())
        assert "restored from an older copy" in said and "log_diverged" in said, said
        # The store did not take the new sale (same number, other goods) for a re-send.
        assert receipt_numbers(store) == [f"S01-T01-00000{i}" for i in (1, 2, 3)]
        assert cli_json("pos", "rescue", "--data", str(till))["held"] == 1
        [held] = cli_json("store", "quarantine", "list", "--db", db_url)
        assert any(c["row"].get("sku") == "SKU2" for c in held["changes"])

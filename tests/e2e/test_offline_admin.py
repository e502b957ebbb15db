"""Enable Offline Store, Off-line Enabled terminals and Custom Series, against a
real store server process."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from possync.retail.schema import admin_log
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, read_tx
from possync.terminal import syncer
from possync.terminal.local import Terminal
from tests.e2e.helpers import ON_POSTGRES, ON_SQLITE, cli, cli_init, cli_json, make_store

pytestmark = pytest.mark.e2e


def add(db_url: str, terminal: str, *extra: str, expect: int | None = None) -> str:
    """The new terminal's registration code, or the refusal."""
    out = cli("store", "terminal", "add", terminal, "--db", db_url, "--json", *extra, expect=expect)
    return orjson.loads(out.stdout)["registration_code"] if out.returncode == 0 else out.stderr


@ON_SQLITE
def test_offline_store_switch_gates_registration_and_sync(db_url: str, tmp_path: Path) -> None:
    make_store(db_url)
    cli("store", "offline", "disable", "--db", db_url)
    refused = add(db_url, "T01", expect=1)
    assert "enable the store first" in refused
    online_code = add(db_url, "T02", "--online-only")
    cli("store", "offline", "enable", "--db", db_url)
    t1_code, t3_code = add(db_url, "T01"), add(db_url, "T03")
    with StoreProcess(db_url) as server:
        cli_init(tmp_path / "t1", server.url, "T01", t1_code)
        cli_init(tmp_path / "t2", server.url, "T02", online_code)
        assert cli_json("pos", "status", "--data", str(tmp_path / "t2"))["mode"] == "online"
        assert (
            "can only work online"
            in cli("pos", "offline", "--data", str(tmp_path / "t2"), expect=1).stderr
        )

        cli("store", "offline", "disable", "--db", db_url)
        refused = cli_init(tmp_path / "t3", server.url, "T03", t3_code, expect=1)
        assert "offline mode is disabled for store S01" in refused.stderr
        refused = cli("pos", "sync", "--data", str(tmp_path / "t1"), expect=1)
        assert "Enable Offline Store is off" in refused.stderr
        cli("pos", "sync", "--data", str(tmp_path / "t2"))  # online-only terminals carry on
        assert cli_json("pos", "sell", "--data", str(tmp_path / "t2"), "SKU1", "--pay", "cash")[
            "confirmed"
        ]

        cli("store", "offline", "enable", "--db", db_url)
        cli("pos", "sync", "--data", str(tmp_path / "t1"))
        cli_init(tmp_path / "t3", server.url, "T03", t3_code)  # the code was not used up


@ON_POSTGRES
def test_disabling_offline_with_unsynced_data_needs_force(db_url: str, tmp_path: Path) -> None:
    store = make_store(db_url)
    code = add(db_url, "T01")
    with StoreProcess(db_url) as server:
        cli_init(tmp_path / "t1", server.url, "T01", code)
        for _ in range(2):
            cli_json("pos", "sell", "--data", str(tmp_path / "t1"), "SKU1", "--pay", "cash")
        # the terminal tells the store about its log when it pulls, before it pushes
        syncer.sync(Terminal.open(tmp_path / "t1"), do_push=False)
        status = cli_json("store", "status", "--db", db_url)
        assert status["terminals"][0]["unsent"] == 8
        refused = cli("store", "terminal", "set", "T01", "--online-only", "--db", db_url, expect=1)
        assert "T01 still has 8 unsynced changes" in refused.stderr
        refused = cli("store", "offline", "disable", "--db", db_url, expect=1)
        assert "T01: 8 changes" in refused.stderr
        cli("store", "terminal", "set", "T01", "--online-only", "--db", db_url, "--force")
    with read_tx(store) as conn:
        actions = conn.execute(sa.select(admin_log.c.action)).scalars().all()
    assert "terminal_offline_disabled_forced" in actions


def series(db_url: str, terminal: str, *options: str, expect: int | None = None):  # type: ignore[no-untyped-def]
    return cli("store", "terminal", "series", terminal, "--db", db_url, *options, expect=expect)


@ON_POSTGRES
def test_custom_series_never_overlap_or_repeat(db_url: str, tmp_path: Path) -> None:
    make_store(db_url)
    code = add(db_url, "T01")
    add(db_url, "T02")
    with StoreProcess(db_url) as server:
        data = str(tmp_path / "t1")
        cli_init(tmp_path / "t1", server.url, "T01", code)
        for _ in range(2):
            cli_json("pos", "sell", "--data", data, "SKU1", "--pay", "cash")
        cli("pos", "sync", "--data", data)

        rows = cli_json(
            "store",
            "terminal",
            "series",
            "T01",
            "--db",
            db_url,
            "--kind",
            "receipt",
            "--prefix",
            "MAIN-1-",
            "--next",
            "500",
            "--padding",
            "4",
        )
        assert {
            "kind": "receipt",
            "prefix": "MAIN-1-",
            "start_no": 500,
            "padding": 4,
            "terminal_id": "T01",
        } in rows
        cli("pos", "sync", "--data", data)
        sale = cli_json("pos", "sell", "--data", data, "SKU1", "--pay", "cash")
        assert sale["receipt_no"] == "MAIN-1-0500"
        cli("pos", "sync", "--data", data)

        overlap = series(db_url, "T02", "--kind", "receipt", "--prefix", "MAIN-1-", expect=1)
        assert "could issue the same numbers" in overlap.stderr
        back = ("--kind", "receipt", "--prefix", "S01-T01-", "--padding", "6")
        repeat = series(db_url, "T01", *back, "--next", "2", expect=1)
        assert (
            "S01-T01-000002 has already been issued: the next number must be at least 3"
            in repeat.stderr
        )
        series(db_url, "T01", *back, "--next", "3")
        cli("pos", "sync", "--data", data)
        assert (
            cli_json("pos", "sell", "--data", data, "SKU1", "--pay", "cash")["receipt_no"]
            == "S01-T01-000003"
        )
    with read_tx(open_engine(db_url)) as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM admin_log WHERE action = 'series_changed'")
            ).scalar()
            == 2
        )

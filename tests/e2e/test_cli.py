"""The command line: documented, precise errors, settings that stick."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from possync.cli import main
from possync.retail import store_admin
from possync.store.process import StoreProcess
from possync.sync.db import open_engine
from tests.e2e.helpers import ON_SQLITE, cli, cli_json, make_store, terminal_engine

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _leaf_commands(command: object, path: tuple[str, ...] = ()) -> list[str]:
    """Every runnable command under ``command``, as typed after ``possync``."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        return [" ".join(path)]
    return [
        leaf
        for name, sub in sorted(subcommands.items())
        if not getattr(sub, "hidden", False)
        for leaf in _leaf_commands(sub, (*path, name))
    ]


# Taken from the CLI itself, so a command added without a line in the docs fails here.
COMMANDS = _leaf_commands(typer.main.get_command(main.app))
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").rglob("*.md")))


def test_the_command_tree_is_walked_into_every_group() -> None:
    # A walk that stopped at the top would pass the test below with nothing to check.
    assert {"store", "pos", "ho"} <= {c.split()[0] for c in COMMANDS}
    assert {"store quarantine resubmit", "ho stock transfer", "pos customer set"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command: str) -> None:
    assert re.search(rf"possync {command}(?![\w-])", DOCS), (
        f"possync {command}: not in README or docs/"
    )
    # In process: one interpreter start per command would cost a minute and a half.
    result = CliRunner().invoke(main.app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output


def test_the_installed_command_starts() -> None:
    # The walk above runs in process; this is the entry point a shell runs.
    words = cli("--help").stdout.split()
    assert "Usage:" in words
    assert {"store", "pos", "ho", "demo"} <= set(words)


def test_malformed_catalog_names_the_line_and_imports_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    cli("store", "init", "--db", db, "--store", "S01", "--name", "Main")
    csv = tmp_path / "catalog.csv"
    csv.write_text("sku,barcode,name,price,tax_code\nA,1,Apple,1.00,STD\nB,2,Pear,abc,STD\n")
    refused = cli("store", "items", "import", str(csv), "--db", db, expect=1)
    assert "line 3: price: not an amount: 'abc'" in refused.stderr
    assert "nothing changed" in refused.stderr
    assert cli_json("store", "status", "--db", db)["stock"] == {}
    with open_engine(db).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM item").scalar() == 0


@ON_SQLITE
def test_terminal_database_is_durable(tmp_path: Path, db_url: str) -> None:
    store = make_store(db_url)
    with StoreProcess(db_url) as server:
        code = store_admin.add_terminal(store, "T01").registration_code
        cli(
            "pos",
            "init",
            "--data",
            str(tmp_path / "t"),
            "--store-url",
            server.url,
            "--terminal",
            "T01",
            "--code",
            code,
        )
    with terminal_engine(tmp_path / "t").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


@ON_SQLITE
def test_store_url_can_change_for_good_or_for_one_sync(tmp_path: Path, db_url: str) -> None:
    store = make_store(db_url)
    data = str(tmp_path / "t")
    with StoreProcess(db_url) as first:
        code = store_admin.add_terminal(store, "T01").registration_code
        cli(
            "pos",
            "init",
            "--data",
            data,
            "--store-url",
            first.url,
            "--terminal",
            "T01",
            "--code",
            code,
        )
    cli_json("pos", "sell", "--data", data, "SKU1", "--pay", "cash")
    with StoreProcess(db_url) as moved:  # the server comes back on another port
        # the old address is dead (or, under parallel tests, reused by another server)
        assert cli("pos", "sync", "--data", data, check=False).returncode in (1, 3)
        once = cli_json("pos", "sync", "--data", data, "--store-url", moved.url)
        assert once["pushed"] > 0
        assert cli_json("pos", "status", "--data", data)["store_url"] == first.url
        cli("pos", "config", "--data", data, "--store-url", moved.url)
        assert cli_json("pos", "status", "--data", data)["store_url"] == moved.url
        cli("pos", "sync", "--data", data)


def test_selling_before_set_up_says_what_to_do(tmp_path: Path) -> None:
    refused = cli(
        "pos", "sell", "--data", str(tmp_path / "none"), "SKU1", "--pay", "cash", expect=1
    )
    assert "possync pos init" in refused.stderr

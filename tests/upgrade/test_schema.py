"""Schema upgrades of single databases: what an upgraded database looks like, what
is refused, and an upgrade killed at any point."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from possync import __version__
from possync.retail import schema_version, store_admin
from possync.retail.schema_version import FAILPOINT_ENV, HEAD, RELEASES, SINCE_0_1_0
from possync.store.process import StoreProcess
from possync.sync.db import open_engine, read_tx
from tests.e2e.helpers import cli, cli_json
from tests.upgrade.checks import revision, till_engine
from tests.upgrade.conftest import Shop

ROOT = Path(__file__).resolve().parents[2]
LOCAL_TABLES = ("pos_basket", "sqlite_")  # created by the apps as they start


def schema_of(engine: sa.Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability, default), keys, indexes and triggers."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables: dict[str, Any] = {}
        for name in sorted(inspector.get_table_names()):
            if name.startswith(LOCAL_TABLES):
                continue
            tables[name] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                    for c in inspector.get_columns(name)
                ],
                "key": inspector.get_pk_constraint(name)["constrained_columns"],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(name)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
                ),
            }
        if engine.dialect.name == "sqlite":
            triggers = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            ).all()
        else:
            triggers = conn.exec_driver_sql(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal ORDER BY tgname"
            ).all()
    return {"tables": tables, "triggers": [tuple(t) for t in triggers]}


def test_an_upgraded_0_1_0_database_has_the_schema_of_a_new_one(
    shop_0_1_0: Shop, tmp_path: Path
) -> None:
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main Street")
    old = open_engine(shop_0_1_0.store_url)
    assert revision(old) == "0001"
    assert schema_of(old) != schema_of(fresh)
    schema_version.upgrade(old)
    assert revision(old) == revision(fresh) == HEAD
    assert schema_of(old) == schema_of(fresh)


@pytest.mark.postgres
def test_on_postgres_too(pg_url: str, pg_admin_url: str, old_release: Path, tmp_path: Path) -> None:
    from tests.upgrade import release

    release.run(old_release, "store", "init", "--db", pg_url, "--store", "S01", "--name", "M")
    old = open_engine(pg_url)
    assert revision(old) == "0001"
    schema_version.upgrade(old)
    fresh_url = pg_url + "_fresh"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{fresh_url.rsplit("/", 1)[1]}"')
    fresh = open_engine(fresh_url)
    try:
        store_admin.init_store(fresh, "S01", "M")
        assert schema_of(old) == schema_of(fresh)
    finally:
        fresh.dispose()
        old.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{fresh_url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _logged(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.text("SELECT row_data FROM sync_change WHERE table_name = :t ORDER BY seq"),
            {"t": table},
        ).scalars()
        return [orjson.loads(r) for r in rows]


def test_changes_right_after_an_upgrade_are_captured_whole(shop_0_1_0: Shop) -> None:
    """The capture triggers list the columns: they are made again by the upgrade,
    and changes logged before it get the new columns."""
    store = open_engine(shop_0_1_0.store_url)
    schema_version.upgrade(store)
    store_admin.set_details(store, address="1 Main St", vat_number="FR12")
    assert _logged(store, "store")[-1] == {
        "store_id": "S01",
        "name": "Main Street",
        "currency": "EUR",
        "offline_enabled": 1,
        "address": "1 Main St",
        "vat_number": "FR12",
        "locale": None,
        "time_zone": None,
    }

    till = shop_0_1_0.till
    cli("pos", "upgrade", "--data", str(till))
    unsent_before = _logged(till_engine(till), "receipt_line")
    assert unsent_before and all(line["discount"] == 0 for line in unsent_before)
    cli("pos", "sell", "--data", str(till), "SKU7:2", "--pay", "cash")
    newest = _logged(till_engine(till), "receipt_line")[-1]
    assert (newest["sku"], newest["qty"], newest["discount"]) == ("SKU7", 2, 0)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


NEWER = f"{int(HEAD) + 1:04d}"  # a revision of a release after this one


def test_a_database_of_a_newer_release_is_refused_and_left_untouched(shop_0_1_0: Shop) -> None:
    shop = shop_0_1_0
    cli("store", "upgrade", "--db", shop.store_url)
    cli("pos", "upgrade", "--data", str(shop.till))
    for db in (shop.store_db, shop.till_db):
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (NEWER,))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    before = {db: _digest(db) for db in (shop.store_db, shop.till_db)}

    newer = f"was written by a newer release (schema {NEWER})"
    for args in (
        ("pos", "sell", "--data", str(shop.till), "SKU1", "--pay", "cash"),
        ("pos", "status", "--data", str(shop.till)),
        ("pos", "upgrade", "--data", str(shop.till)),
        ("pos", "run", "--data", str(shop.till), "--no-ui"),
        ("store", "status", "--db", shop.store_url),
        ("store", "upgrade", "--db", shop.store_url),
        ("store", "init", "--db", shop.store_url, "--store", "S01", "--name", "x"),
    ):
        refused = cli(*args, expect=1)
        assert newer in " ".join(refused.stderr.split()), (args, refused.stderr)
    with pytest.raises(RuntimeError, match="store server exited with 1"):
        StoreProcess(shop.store_url).start()
    assert {db: _digest(db) for db in before} == before


def test_an_old_database_names_the_command_that_upgrades_it(shop_0_1_0: Shop) -> None:
    shop = shop_0_1_0
    refused = cli("pos", "sell", "--data", str(shop.till), "SKU1", "--pay", "cash", expect=1)
    said = " ".join(refused.stderr.split())  # as one line, however the console wrapped it
    assert "has the schema of release 0.1.0" in said
    assert f"run 'possync pos upgrade --data {shop.till}' first" in said
    refused = cli("store", "status", "--db", shop.store_url, expect=1)
    said = " ".join(refused.stderr.split())
    assert f"run 'possync store upgrade --db {shop.store_url}' first" in said
    log = shop.store_db.with_name("serve.log")
    with pytest.raises(RuntimeError, match="store server exited with 1"):
        StoreProcess(shop.store_url, log_path=log).start()
    assert "possync store upgrade" in log.read_text()
    plan = cli_json("store", "upgrade", "--db", shop.store_url, "--dry-run")
    assert [s["revision"] for s in plan["pending"]] == SINCE_0_1_0 and plan["applied"] == []
    assert revision(open_engine(shop.store_url)) == "0001"  # a dry run changes nothing


def _pending(till: Path) -> int:
    return int(cli_json("pos", "status", "--data", str(till))["pending_changes"])


def _revision(db: Path) -> str:
    """The schema revision of a SQLite file, read without keeping it open."""
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        found = (
            conn.execute("SELECT version_num FROM alembic_version").fetchone()
            if "alembic_version" in tables
            else None
        )
    conn.close()
    return found[0] if found else "0001"


def _has_discount(db: Path) -> bool:
    with sqlite3.connect(db) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(receipt_line)")}
    conn.close()
    return "discount" in columns


@pytest.mark.parametrize(
    ("point", "ends_with"),
    [("upgrade-before-commit", "0001"), ("upgrade-after-commit", HEAD)],
)
def test_an_upgrade_killed_at_a_failpoint_leaves_one_schema_and_finishes_when_run_again(
    shop_0_1_0: Shop, point: str, ends_with: str
) -> None:
    till = shop_0_1_0.till
    killed = subprocess.run(
        [sys.executable, "-m", "possync", "pos", "upgrade", "--data", str(till)],
        env={**os.environ, FAILPOINT_ENV: point},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -9  # SIGKILL, at the failpoint
    assert _revision(shop_0_1_0.till_db) == ends_with
    assert _has_discount(shop_0_1_0.till_db) is (ends_with == HEAD)  # never a mix
    assert (till / f"terminal.db.pre-{RELEASES[HEAD]}").exists()
    again = cli_json("pos", "upgrade", "--data", str(till), "--json")
    assert again["applied"] == (SINCE_0_1_0 if ends_with == "0001" else [])
    assert _revision(shop_0_1_0.till_db) == HEAD and _pending(till) == 27


def test_upgrades_killed_at_random_instants_leave_old_or_new_and_recover(
    shop_0_1_0: Shop, tmp_path: Path
) -> None:
    """SIGKILL from outside, at random instants of the whole command; each kill is
    classified by what it left (before the commit: old schema; after: new)."""
    rng = random.Random(9)
    cases: dict[str, int] = {"old schema": 0, "new schema": 0}
    pristine = shop_0_1_0.till_db.read_bytes()
    for _ in range(6):
        shop_0_1_0.till_db.write_bytes(pristine)
        for leftover in shop_0_1_0.till.glob("terminal.db*-*"):
            leftover.unlink()
        proc = subprocess.Popen(
            [sys.executable, "-m", "possync", "pos", "upgrade", "--data", str(shop_0_1_0.till)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.5))  # python start-up is about 0.5 s of it
        proc.kill()
        proc.wait()
        found = _revision(shop_0_1_0.till_db)
        assert found in ("0001", HEAD)
        assert _has_discount(shop_0_1_0.till_db) is (found == HEAD)
        cases["old schema" if found == "0001" else "new schema"] += 1
        cli("pos", "upgrade", "--data", str(shop_0_1_0.till))
        assert _revision(shop_0_1_0.till_db) == HEAD
        assert _pending(shop_0_1_0.till) == 27
    assert sum(cases.values()) == 6


def test_the_version_is_one_everywhere() -> None:
    shown = cli("--version").stdout.strip()
    assert shown == f"possync {__version__}" == f"possync {RELEASES[HEAD]}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{__version__}"' in pyproject
    changelog = (ROOT / "CHANGELOG.md").read_text()
    first = next(line for line in changelog.splitlines() if line.startswith("## "))
    assert first.startswith(f"## {__version__} ")


def test_the_migrations_end_at_this_release() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(schema_version.MIGRATIONS))
    assert scripts.get_current_head() == HEAD
    assert sorted(s.revision for s in scripts.walk_revisions()) == sorted(RELEASES)


def test_the_packed_release_is_the_one_in_git_history() -> None:
    from tests.upgrade import release

    archive = release.from_git()
    if archive is None:
        pytest.skip("no git history in this clone: the packed copy stands in for it")
    assert gzip.decompress(release.PACKAGE.read_bytes()) == archive

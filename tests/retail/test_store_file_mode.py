"""A store database created by ``possync store init`` is readable by its owner only
(issue 11): it holds credential hashes and the backup key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from possync.retail import store_admin
from possync.sync.db import open_engine
from tests.e2e.helpers import cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_init_creates_the_database_and_its_wal_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which gave 0644
    try:
        db = tmp_path / "store.db"
        cli("store", "init", "--db", f"sqlite:///{db}", "--store", "S01", "--name", "Main")
        assert mode(db) == 0o600
        engine = open_engine(f"sqlite:///{db}")
        try:  # a write while a connection is open: SQLite makes the -wal and -shm files
            store_admin.add_terminal(engine, "T01")
            made = [Path(f"{db}{suffix}") for suffix in ("-wal", "-shm")]
            assert all(p.exists() for p in made)
            assert {p.name: mode(p) for p in made} == {
                "store.db-wal": 0o600,
                "store.db-shm": 0o600,
            }
        finally:
            engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    engine = open_engine(f"sqlite:///{db}")
    try:
        store_admin.init_store(engine, "S01", "Main")
        db.chmod(0o640)  # e.g. readable by a backup group, on purpose
        store_admin.init_store(engine, "S01", "Main")  # run again
    finally:
        engine.dispose()
    assert mode(db) == 0o640

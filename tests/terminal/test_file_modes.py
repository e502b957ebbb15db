"""A terminal's database holds its secret: it is created 0600 in a 0700 directory,
by ``pos init`` and by ``pos import`` alike (issue 11)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from possync.retail import offline_backup, store_admin
from possync.sync.db import write_tx
from possync.terminal import restore
from possync.terminal.local import Terminal
from tests.e2e.helpers import make_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask, which gave 0644
    yield
    os.umask(old)


def test_a_new_terminal_database_and_its_wal_are_0600(tmp_path: Path) -> None:
    data = tmp_path / "t01"
    terminal = Terminal.create(data, "T01")
    try:
        with write_tx(terminal.engine) as conn:  # SQLite makes -wal and -shm on a write
            conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        files = {p.name: mode(p) for p in data.iterdir() if p.name.startswith("terminal.db")}
        assert files == {"terminal.db": 0o600, "terminal.db-wal": 0o600, "terminal.db-shm": 0o600}
        assert mode(data) == 0o700
    finally:
        terminal.close()


def test_an_imported_terminal_database_is_0600(tmp_path: Path) -> None:
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    store_admin.add_terminal(store, "T01")
    file = tmp_path / "T01.possync-backup"
    made = offline_backup.create(store, "T01", file, store_url="http://127.0.0.1:9")
    store.dispose()
    data = tmp_path / "t01"
    restore.import_backup(file, data, "T01", made.import_code)
    assert mode(data / "terminal.db") == 0o600 and mode(data) == 0o700


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    data = tmp_path / "t01"
    Terminal.create(data, "T01").close()
    os.chmod(data / "terminal.db", 0o640)  # its owner's choice
    Terminal.create(data, "T01").close()  # a registration resumed
    assert mode(data / "terminal.db") == 0o640

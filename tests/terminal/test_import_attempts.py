"""Wrong import codes for one backup on one machine (issue 11): after 5 failed
imports, ``pos import`` refuses that backup, even with the right code, and says
so; the count is kept beside the data directory and outlives the process; a
success forgets it; another backup is counted apart."""

from __future__ import annotations

from pathlib import Path

from possync.retail import offline_backup, store_admin
from possync.terminal.import_attempts import FILE, MAX_FAILURES, backup_key
from tests.e2e.helpers import cli, make_store

WRONG = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"


def _backups(tmp_path: Path) -> tuple[tuple[Path, str], tuple[Path, str]]:
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    made = []
    for terminal in ("T01", "T02"):
        store_admin.add_terminal(store, terminal)
        file = tmp_path / f"{terminal}.possync-backup"
        backup = offline_backup.create(store, terminal, file, store_url="http://127.0.0.1:9")
        made.append((file, backup.import_code))
    store.dispose()
    return made[0], made[1]


def pos_import(file: Path, data: Path, terminal: str, code: str, expect: int) -> str:
    done = cli(
        "pos", "import", str(file), "--data", str(data), "--terminal", terminal, "--code", code,
        expect=expect,
    )  # fmt: skip
    return " ".join((done.stdout + done.stderr).split())


def test_five_wrong_codes_and_the_backup_is_refused_here_even_with_the_right_one(
    tmp_path: Path,
) -> None:
    (one, code1), (two, code2) = _backups(tmp_path)
    tills = tmp_path / "tills"
    for _ in range(MAX_FAILURES):  # each a process of its own: the count is on disk
        said = pos_import(one, tills / "T01", "T01", WRONG, expect=1)
        assert "no longer accepted" not in said
    refused = pos_import(one, tills / "T01", "T01", code1, expect=1)
    assert (
        f"{one.name} was refused {MAX_FAILURES} times on this machine (a wrong import code, "
        "or a file that is not right): it is no longer accepted here; ask the store for a "
        "new backup"
    ) in refused
    assert not (tills / "T01").exists()
    assert (tills / FILE).exists()
    assert backup_key(one) != backup_key(two)

    # Another backup is counted apart, and a success forgets its failures.
    for _ in range(MAX_FAILURES - 1):
        pos_import(two, tills / "T02", "T02", WRONG, expect=1)
    pos_import(two, tills / "T02", "T02", code2, expect=0)
    assert (tills / "T02" / "terminal.db").exists()

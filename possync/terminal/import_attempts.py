"""Limiting wrong import codes for one backup file on one machine (issue 11).

``pos import`` sets a till up from a backup and its import code, into a new data
directory, so there is no till database yet to count in: the failures are kept in
a small SQLite file beside the data directory (``.possync-import-attempts.db`` in
its parent), per backup (by the backup's id). After MAX_FAILURES failed checks of
one backup, that backup is refused here for good: the store makes a new one (with
a new code). A success forgets the count.

Like every limit in possync, an attempt is counted before the check runs, in a
transaction holding the file's write lock, and a success takes it back: two
imports at once cannot both pass under the limit. What this stops is guessing at
the till; the backup file itself can be copied elsewhere, where only the code's
size protects it (see docs/security.md).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import orjson

from possync.sync import guess_limits
from possync.sync.backup_keys import BackupError
from possync.sync.db import open_engine, write_tx
from possync.sync.schema import guess_limit

MAX_FAILURES = 5
FILE = ".possync-import-attempts.db"
SCOPE = "import"
T = TypeVar("T")


def checked(backup_file: Path, data_dir: Path, verify: Callable[[], T]) -> T:
    """``verify()`` (the check of ``backup_file`` with its import code), counted: a
    BackupError counts as a failure; past MAX_FAILURES for this backup, refused
    without calling ``verify``."""
    key = backup_key(backup_file)
    counts = _counts_file(data_dir)
    engine = open_engine(f"sqlite:///{counts}")
    try:
        with write_tx(engine) as conn:
            guess_limit.create(conn, checkfirst=True)
            row = guess_limits.locked(conn, SCOPE, [key])[key]
            if row.failures >= MAX_FAILURES:
                raise BackupError(
                    f"{backup_file.name} was refused {row.failures} times on this machine (a "
                    "wrong import code, or a file that is not right): it is no longer "
                    "accepted here; ask the store for a new backup"
                )
            row.failures += 1
            row.last_at = time.time()
            guess_limits.save(conn, row)
        result = verify()  # a BackupError leaves the failure counted
        with write_tx(engine) as conn:
            guess_limits.forget(conn, SCOPE, key)
        return result
    finally:
        engine.dispose()


def backup_key(backup_file: Path) -> str:
    """The backup's id, from its header line (the second); a digest of its first
    lines if it has none (a file too damaged to name itself still counts)."""
    try:
        with open(backup_file, "rb") as f:
            lead = f.readline(64) + f.readline(64 * 1024)
    except OSError as exc:
        raise BackupError(f"cannot read {backup_file}: {exc.strerror}") from None
    try:
        header = orjson.loads(lead.split(b"\n", 1)[1])
        found = header.get("backup_id") if isinstance(header, dict) else None
    except (orjson.JSONDecodeError, IndexError):
        found = None
    if isinstance(found, str) and 0 < len(found) <= 100:
        return found
    return "sha256:" + hashlib.sha256(lead).hexdigest()


def _counts_file(data_dir: Path) -> Path:
    parent = data_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {parent}: {exc.strerror}") from None
    return parent / FILE

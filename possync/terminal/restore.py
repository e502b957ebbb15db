"""Import Database: provision a terminal from an offline backup, without the store.

The file is checked whole (format version, terminal and store, the store's
signature, the import code and the key it names, size, checksum) before anything
is written; its data is decrypted with the code as it is loaded. The database is
then built in a temporary directory beside the data directory, by the same
initial-load steps as ``possync pos init``, and moved into place with one rename
only once it is complete; a failure at any point removes the temporary directory and leaves the
data directory as it was (or absent).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from possync.sync import backup, failpoints
from possync.sync.backup_header import Header
from possync.sync.backup_keys import BackupError
from possync.terminal.import_attempts import checked
from possync.terminal.local import DB_FILE, Terminal


@dataclass(frozen=True)
class Imported:
    data_dir: Path
    header: Header
    store_url: str
    rows: int
    signed_by: str  # the fingerprint of the store key that signed the file

    def as_dict(self) -> dict[str, Any]:
        h = self.header
        return {
            "data_dir": str(self.data_dir),
            "terminal_id": h.node,
            "store_id": h.parent,
            "store_url": self.store_url,
            "backup_id": h.backup_id,
            "created_at": h.created_at,
            "cursor": h.cursor,
            "rows": self.rows,
            "signed_by": self.signed_by,
            "tls_pin": h.tls_pin,
        }


def import_backup(
    file: Path,
    data_dir: Path,
    terminal_id: str,
    code: str,
    *,
    store_url: str | None = None,
    store_id: str | None = None,
) -> Imported:
    """Create the terminal database in ``data_dir`` (new or empty) from ``file``.

    ``store_url`` overrides the address written into the backup; one of the two is
    needed. ``store_id``, if given, refuses a backup made by another store."""
    verified = checked(
        file, data_dir, lambda: backup.verify(file, code, node=terminal_id, parent=store_id)
    )
    url = (store_url or verified.header.parent_url or "").rstrip("/")
    if not url:
        raise BackupError("the backup does not name the store's address: give it with --store-url")
    if not url.startswith(("http://", "https://")):
        raise BackupError(f"the store address must start with http:// or https://, got {url!r}")
    if verified.header.tls_pin is not None and url.startswith("http://"):
        # The till will check the store by this pin: never a silent drop to plain HTTP.
        raise BackupError(
            f"the backup carries the store's TLS certificate pin, but {url} is plain HTTP: "
            "give the store's https:// address with --store-url"
        )
    target = data_dir.absolute()
    _check_target(target)

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{target.name}.import-", dir=target.parent))
    except OSError as exc:
        raise BackupError(f"cannot create a directory in {target.parent}: {exc}") from None
    try:
        rows = _build(verified, building, terminal_id, url)
        failpoints.hit("import-before-rename")
        try:
            # Atomic; replaces an empty directory, never a non-empty one.
            os.rename(building, target)
        except OSError as exc:
            raise BackupError(
                f"{target} changed during the import ({exc.strerror}); nothing was imported"
            ) from None
    except BaseException as exc:
        shutil.rmtree(building, ignore_errors=True)
        if isinstance(exc, OSError):  # disk full, unplugged...: one line, not a traceback
            raise BackupError(f"the import failed ({exc}); nothing was imported") from exc
        raise
    failpoints.hit("import-after-rename")
    backup.fsync_dir(target.parent)  # make the rename itself durable
    return Imported(target, verified.header, url, rows, verified.signer_fingerprint)


def _build(verified: backup.Verified, directory: Path, terminal_id: str, url: str) -> int:
    terminal = Terminal.create(directory, terminal_id)
    try:
        rows = backup.restore(verified, terminal.child, url)
    finally:
        terminal.close()  # the last connection folds the WAL into terminal.db
    backup.fsync_dir(directory)  # its entries are durable before it is renamed
    return rows


def _check_target(target: Path) -> None:
    """Never touch an existing terminal: refuse anything but a new or empty directory
    (without opening any database that may be in it)."""
    if (target / DB_FILE).exists():
        raise BackupError(
            f"{target} already holds a terminal database; import only into a new "
            "directory (move this one away first if the terminal is to be replaced)"
        )
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; import into a new or empty directory")

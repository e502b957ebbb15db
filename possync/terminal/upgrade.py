"""Upgrading a till's own database to this release's schema.

``pos run`` does it at start and ``pos upgrade`` by hand: the same steps. The
sync lock is held throughout, so no sync runs on a half-upgraded till; the safety
copy (``terminal.db.pre-<release>``) stays until the next successful sync, so a
till can be rolled back by hand until it has handed newer data to its store.
"""

from __future__ import annotations

from pathlib import Path

from possync.retail import schema_version
from possync.retail.schema_version import Plan, Progress
from possync.terminal.local import DB_FILE, Terminal

COPY_GLOB = f"{DB_FILE}.pre-*"


def upgrade(data_dir: Path, *, dry_run: bool = False, progress: Progress | None = None) -> Plan:
    terminal = Terminal.open(data_dir, check_schema=False)
    try:
        with terminal.sync_lock(wait=60.0):
            return schema_version.upgrade(terminal.engine, dry_run=dry_run, progress=progress)
    finally:
        terminal.close()

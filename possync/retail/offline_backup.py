"""Create Offline Backup: a terminal's data in one file, made on the store.

For a terminal that cannot reach the store to take its initial load (a new till
on a site without network yet, a replacement shipped pre-loaded), the store writes
the load to a file; the terminal imports it with the import code and syncs
normally from then on, starting exactly where the file ends.

Making a backup re-provisions the terminal, as ``store terminal add`` does for an
existing one: its series move past the numbers the store has received, a new
secret replaces the old (which stops working at once) and the store's cursors for
it start again. The new secret travels in the file, sealed with the import code.

The file is signed with the store's signing key, kept in a file of its own outside
the database (possync.sync.signing_key); a store made by an older release gets one
on its first backup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possync.retail import policy, store_admin
from possync.retail.errors import RetailError
from possync.retail.replication import SPEC
from possync.retail.schema import pos_terminal
from possync.sync import backup, peers, signing_key
from possync.sync.backup_header import Header
from possync.sync.db import read_tx
from possync.sync.errors import SyncError
from possync.sync.parent import Parent


@dataclass(frozen=True)
class TerminalBackup:
    path: Path
    import_code: str
    header: Header
    series: list[dict[str, Any]]  # where the terminal's series now start
    lost_changes: int  # changes the old terminal said it had not sent yet
    key: signing_key.SigningKey  # what signed it; its note says if it was just made

    def as_dict(self) -> dict[str, Any]:
        h = self.header
        return {
            "file": str(self.path),
            "bytes": self.path.stat().st_size,
            "store_id": h.parent,
            "terminal_id": h.node,
            "backup_id": h.backup_id,
            "created_at": h.created_at,
            "cursor": h.cursor,
            "store_url": h.parent_url,
            "rows": h.rows,
            "import_code": self.import_code,
            "series": self.series,
            "lost_changes": self.lost_changes,
            "signing_key": {"file": str(self.key.path), "fingerprint": self.key.fingerprint},
            "tls_pin": h.tls_pin,
        }


def create(
    engine: sa.Engine,
    terminal_id: str,
    out: Path,
    *,
    store_url: str | None = None,
    key_file: Path | None = None,
) -> TerminalBackup:
    """Re-provision ``terminal_id`` and write its offline backup to ``out``, signed
    with the key in ``key_file`` (default: see signing_key.key_path).

    Everything that can be refused is checked first, so a refusal changes nothing."""
    if store_url is not None and not store_url.startswith(("http://", "https://")):
        raise RetailError(f"--store-url must start with http:// or https://, got {store_url!r}")
    backup.check_destination(out)
    with read_tx(engine) as conn:
        store_id = store_admin.store_row(conn).store_id
        known = conn.execute(
            sa.select(pos_terminal.c.terminal_id).where(pos_terminal.c.terminal_id == terminal_id)
        ).first()
        old = peers.get(conn, terminal_id)
        # The store server's own admission policy: a terminal that may not register
        # over the network may not be provisioned by file either.
        refused = policy.admission(conn, terminal_id) if known is not None else None
    if known is None:
        raise RetailError(
            f"store {store_id} has no terminal {terminal_id}; add it first with "
            "'possync store terminal add'"
        )
    if refused:
        raise RetailError(refused)
    backup.parent_tls_pin(engine)  # a malformed pin refuses here, not half-way
    key = signing_key.ensure(engine, key_file)  # so does an unreadable key
    lost = old.unsent if old is not None and old.registered else 0

    # From here the old terminal is revoked: continue its series, new code...
    provisioned = store_admin.add_terminal(engine, terminal_id)
    parent = Parent(engine, SPEC, store_id, admission=policy.admission)
    try:
        # ...exchanged at once for the secret that goes into the file.
        peer, secret = parent.register(terminal_id, provisioned.registration_code)
        written = backup.write(
            out,
            parent,
            peer,
            secret,
            key=key,
            parent_url=store_url.rstrip("/") if store_url else None,
        )
    except (OSError, SyncError) as exc:
        raise RetailError(
            f"terminal {terminal_id} was re-provisioned, but its backup could not be "
            f"written ({exc}); run the command again"
        ) from exc
    return TerminalBackup(out, written.import_code, written.header, provisioned.series, lost, key)

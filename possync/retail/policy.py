"""Who may sync offline: the store's "Enable Offline Store" switch and each
terminal's "Off-line Enabled" flag, as the sync engine's admission policy."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail.schema import pos_terminal, store


def admission(conn: sa.Connection, node_id: str) -> str | None:
    """Why ``node_id`` may not register or sync now, or None if it may."""
    the_store = conn.execute(sa.select(store.c.store_id, store.c.offline_enabled)).first()
    terminal = conn.execute(
        sa.select(pos_terminal.c.offline_enabled).where(pos_terminal.c.terminal_id == node_id)
    ).first()
    if the_store is None or terminal is None:
        return f"{node_id} is not a terminal of this store"
    if terminal.offline_enabled and not the_store.offline_enabled:
        return (
            f"offline mode is disabled for store {the_store.store_id} (Enable Offline Store is "
            f"off): terminal {node_id} is offline-enabled and may not register or sync offline "
            "data until an administrator enables it"
        )
    return None

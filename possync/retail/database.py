"""Creating a retail database (any tier): tables, stock trigger, sync engine."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail import schema_version, stock
from possync.retail.replication import SPEC
from possync.retail.schema import metadata
from possync.sync import install as sync_install
from possync.sync.db import open_engine, write_tx

STORE_UPGRADE = "run 'possync store upgrade --db URL' first"


def install(engine: sa.Engine, node_id: str, how_to_upgrade: str = STORE_UPGRADE) -> None:
    """Create a database of this release's schema, or check an existing one (safe
    to run again; an older schema must be upgraded first: ``how_to_upgrade``)."""
    # Imported here: the module hashes a dummy password when loaded (~0.25 s), which
    # every terminal command that imports this module would otherwise pay.
    from possync.webui import accounts

    with write_tx(engine) as conn:
        schema_version.check(conn, how_to_upgrade)
        fresh = schema_version.revision(conn) is None
        metadata.create_all(conn)
        accounts.install(conn)  # the console's, in every database (migration 0012)
        stock.install_triggers(conn)
        if fresh:
            schema_version.stamp_head(conn)
    sync_install.install(engine, SPEC, node_id)


def how_to_upgrade_store(url: str) -> str:
    shown = sa.make_url(url).render_as_string(hide_password=True)
    return f"run 'possync store upgrade --db {shown}' first"


def open_store(url: str) -> sa.Engine:
    """The store database at ``url``, refused unless its schema is this release's."""
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            schema_version.check(conn, how_to_upgrade_store(url))
    except Exception:
        engine.dispose()
        raise
    return engine

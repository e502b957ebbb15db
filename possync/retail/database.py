"""Creating a retail database (any tier): tables, stock trigger, sync engine."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail import stock
from possync.retail.replication import SPEC
from possync.retail.schema import metadata
from possync.sync import install as sync_install
from possync.sync.db import write_tx

SCHEMA_VERSION = "1"


def install(engine: sa.Engine, node_id: str) -> None:
    with write_tx(engine) as conn:
        metadata.create_all(conn)
        stock.install_triggers(conn)
    sync_install.install(engine, SPEC, node_id)

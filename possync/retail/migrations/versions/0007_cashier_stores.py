"""Cashiers assigned to a store by head office: ``cashier.store_id`` (NULL: every
store, as every cashier was before). It routes the cashier's row to that store and
its tills only. Cashier changes already in the change log get the column, empty, so
the log holds rows of one shape. Replicated: sync protocol 4 (release 0.3.0, not
released before this revision).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from possync.retail.replication import SPEC
from possync.sync import capture, log

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cashier") as table:
        table.add_column(sa.Column("store_id", sa.String(16)))
    conn = op.get_bind()
    log.complete_rows(conn, "cashier", {"store_id": None})
    capture.refresh_triggers(conn, SPEC, ("cashier",))


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

"""Release 0.2.0: the store's address and VAT number; a discount on receipt lines.

* ``store.address``, ``store.vat_number`` (nullable): printed on receipts.
* ``receipt_line.discount`` (NOT NULL, default 0): what discounts took off the
  line, tax included. Lines written before have none.

Both tables replicate (sync protocol 2). Changes already in the change log were
captured with the old columns: they get the new ones here, so that the log holds
rows of one shape only; and the capture triggers, which list the columns, are
made again for the tables that changed.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from possync.retail.replication import SPEC
from possync.sync import capture, log

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store") as store:
        store.add_column(sa.Column("address", sa.String(200)))
        store.add_column(sa.Column("vat_number", sa.String(32)))
    with op.batch_alter_table("receipt_line") as line:
        line.add_column(sa.Column("discount", sa.BigInteger, nullable=False, server_default="0"))

    conn = op.get_bind()
    log.complete_rows(conn, "store", {"address": None, "vat_number": None})
    log.complete_rows(conn, "receipt_line", {"discount": 0})
    capture.refresh_triggers(conn, SPEC, ("store", "receipt_line"))


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

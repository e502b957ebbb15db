"""The store's locale and time zone: ``store.locale`` (NULL: English) and
``store.time_zone`` (NULL: UTC), for how its tills, console and receipts write
amounts and times, and which day a sale belongs to. Store changes already in the
change log get both, empty, so the log holds rows of one shape. Replicated: sync
protocol 4 (release 0.3.0, not released before this revision).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from possync.retail.replication import SPEC
from possync.sync import capture, log

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store") as table:
        table.add_column(sa.Column("locale", sa.String(16)))
        table.add_column(sa.Column("time_zone", sa.String(64)))
    conn = op.get_bind()
    log.complete_rows(conn, "store", {"locale": None, "time_zone": None})
    capture.refresh_triggers(conn, SPEC, ("store",))


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

"""Discounts, voids and cancellations: reason codes for discounts
(``discount_reason``: master data, down to the tills), a cashier's discount limit
and whether they are a manager (``cashier.discount_limit_bp``, ``cashier.manager``),
the reason of each receipt line's discount (``receipt_line.discount_reason``: not in
the fiscal chain's form, whose amounts it only explains), and what happened at a
till with no document of its own (``till_event``: lines voided, sales cancelled,
discounts a manager approved; up from the tills). Rows already in the change log
get the new columns (empty, and "not a manager"), so the log holds rows of one
shape. Replicated: sync protocol 4 (release 0.3.0, not released before this
revision).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from possync.retail.replication import SPEC
from possync.sync import capture, log

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cashier") as table:
        table.add_column(sa.Column("discount_limit_bp", sa.Integer))
        table.add_column(
            sa.Column("manager", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("receipt_line") as table:
        table.add_column(sa.Column("discount_reason", sa.String(64)))
    op.create_table(
        "discount_reason",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "till_event",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("store_id", sa.String(16), nullable=False),
        sa.Column("terminal_id", sa.String(16), nullable=False),
        sa.Column("cashier_id", sa.String(16)),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("approved_by", sa.String(16)),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("till_event_by_terminal", "till_event", ["terminal_id", "created_at"])
    conn = op.get_bind()
    log.complete_rows(conn, "cashier", {"discount_limit_bp": None, "manager": False})
    log.complete_rows(conn, "receipt_line", {"discount_reason": None})
    capture.refresh_triggers(
        conn, SPEC, ("cashier", "receipt_line", "discount_reason", "till_event")
    )


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

"""Cash-up: drawer sessions (a float, then counted cash at close), paid in and paid
out (``cash_movement``) and Z reports, each numbered from its till's own
``z_report`` series and chained in its till's fiscal chain. Replicated up from the
tills (sync protocol 4, release 0.3.0, not released before this revision). On the
store, every till it gave series to gets its Z report series, which the change log
takes down to the till; a till's own database gets it that way, never by itself (it
could not invent a prefix no other till has).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from possync.retail import numbering
from possync.retail.replication import SPEC
from possync.sync import capture

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.String(36)
TIMESTAMP = sa.String(32)
TILL = sa.String(16)


def upgrade() -> None:
    op.create_table(
        "drawer_session",
        sa.Column("session_id", ID, primary_key=True),
        sa.Column("store_id", TILL, nullable=False),
        sa.Column("terminal_id", TILL, nullable=False),
        sa.Column("opened_by", TILL),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("opening_float", sa.BigInteger, nullable=False),
        sa.Column("closed_by", TILL),
        sa.Column("closed_at", TIMESTAMP),
        sa.Column("z_report_id", ID),
    )
    op.create_index("drawer_session_by_terminal", "drawer_session", ["terminal_id", "closed_at"])
    op.create_table(
        "cash_movement",
        sa.Column("movement_id", ID, primary_key=True),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("store_id", TILL, nullable=False),
        sa.Column("terminal_id", TILL, nullable=False),
        sa.Column("cashier_id", TILL),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("cash_movement_by_session", "cash_movement", ["session_id"])
    op.create_table(
        "z_report",
        sa.Column("z_report_id", ID, primary_key=True),
        sa.Column("z_no", sa.String(40), nullable=False, unique=True),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("store_id", TILL, nullable=False),
        sa.Column("terminal_id", TILL, nullable=False),
        sa.Column("cashier_id", TILL),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("business_day", sa.String(10), nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("opening_float", sa.BigInteger, nullable=False),
        sa.Column("expected_cash", sa.BigInteger, nullable=False),
        sa.Column("counted_cash", sa.BigInteger, nullable=False),
        sa.Column("over_short", sa.BigInteger, nullable=False),
        sa.Column("totals", sa.Text, nullable=False),
        sa.Column("chain_seq", sa.BigInteger),
        sa.Column("chain_hash", sa.String(64)),
        sa.Column("chain_previous", sa.String(64)),
    )
    op.create_index("z_report_by_chain", "z_report", ["terminal_id", "chain_seq"])
    op.create_index("z_report_by_day", "z_report", ["store_id", "business_day"])

    conn = op.get_bind()
    capture.refresh_triggers(conn, SPEC, ("drawer_session", "cash_movement", "z_report"))
    numbering.add_missing_series(conn, numbering.Z_REPORT)


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

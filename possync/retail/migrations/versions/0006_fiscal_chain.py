"""The fiscal chain: ``receipt.chain_seq`` and ``receipt.chain_hash``, each till's
chain head (``fiscal_chain_head``), where a till provisioned again goes on
(``fiscal_chain_start``, replicated to that till) and what the store found
checking each till's chain (``fiscal_chain_check``).

Receipts issued before the upgrade keep no hash (NULL): a till's chain starts with
its first document after its upgrade. Unsent receipts already in the change log
get the two columns, empty, so the log holds rows of one shape. The receipt
columns and ``fiscal_chain_start`` replicate: sync protocol 4. Release 0.3.0.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from possync.retail.replication import SPEC
from possync.sync import capture, log

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipt") as table:
        table.add_column(sa.Column("chain_seq", sa.BigInteger))
        table.add_column(sa.Column("chain_hash", sa.String(64)))
    op.create_index("receipt_by_chain", "receipt", ["terminal_id", "chain_seq"])
    op.create_table(
        "fiscal_chain_head",
        sa.Column("issuer_id", sa.String(16), primary_key=True),
        sa.Column("store_id", sa.String(16), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "fiscal_chain_start",
        sa.Column("terminal_id", sa.String(16), primary_key=True),
        sa.Column("store_id", sa.String(16), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "fiscal_chain_check",
        sa.Column("store_id", sa.String(16), primary_key=True),
        sa.Column("terminal_id", sa.String(16), primary_key=True),
        sa.Column("anchor_seq", sa.BigInteger, nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("problem", sa.String(16)),
        sa.Column("problem_seq", sa.BigInteger),
        sa.Column("problem_detail", sa.Text),
        sa.Column("detected_at", sa.String(32)),
        sa.Column("checked_at", sa.String(32), nullable=False),
    )

    conn = op.get_bind()
    log.complete_rows(conn, "receipt", {"chain_seq": None, "chain_hash": None})
    capture.refresh_triggers(conn, SPEC, ("receipt",))


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

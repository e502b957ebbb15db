"""Guessing limits kept in the database: the ``guess_limit`` table (engine, local).

Failed attempts at console passwords, till PINs, registration codes and import
codes, counted per scope and key (possync/sync/guess_limits.py). Never replicated:
not in the SyncSpec, no capture triggers; every node has its own. Release 0.3.0.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guess_limit",
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.BigInteger, nullable=False),
        sa.Column("locked_until", sa.Float, nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("last_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

"""Store prices: ``store_price``, a store's own price of an item, set at head office.

Replicated down (head office -> that store -> its tills), routed by store id; its
capture triggers are made at the end of the upgrade with every other table's. Sync
protocol 3. Release 0.3.0.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_price",
        sa.Column("store_id", sa.String(16), primary_key=True),
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("price", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

"""The cashier's basket's own tables (see :mod:`.basket`): in the terminal's
database, never replicated (not in the sync spec, so no capture trigger sees them
and no sync sends them)."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail.schema import CODE, ID, TIMESTAMP

local_metadata = sa.MetaData()

basket = sa.Table(
    "pos_basket",
    local_metadata,
    sa.Column("cashier_id", sa.String(16), primary_key=True),
    sa.Column("customer_id", ID),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

basket_line = sa.Table(
    "pos_basket_line",
    local_metadata,
    sa.Column("cashier_id", sa.String(16), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("sku", CODE, nullable=False),
    sa.Column("qty", sa.BigInteger, nullable=False),
)


# Discounts given in the basket: a line's (line_no >= 1) or the basket's (line 0).
BASKET_LINE = 0
basket_discount = sa.Table(
    "pos_basket_discount",
    local_metadata,
    sa.Column("cashier_id", sa.String(16), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # percent | amount
    sa.Column("value", sa.BigInteger, nullable=False),  # basis points or minor units
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("approved_by", sa.String(16)),  # the manager, above the cashier's limit
)


# Baskets set aside (retail/parked.py): each whole, as JSON, with a label.
parked_sale = sa.Table(
    "pos_parked",
    local_metadata,
    sa.Column("park_id", ID, primary_key=True),
    sa.Column("label", sa.String(60), nullable=False),
    sa.Column("cashier_id", sa.String(16), nullable=False),  # who parked it
    sa.Column("parked_at", TIMESTAMP, nullable=False),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),  # as it was when parked
    sa.Column("content", sa.Text, nullable=False),  # JSON: customer, lines, discounts
)

"""A row moved to another route is sent to its old route too: the capture triggers
of the tables with a route column capture an update that changes the route twice,
routed to the new route and, the same new row, to the old one (sync/capture.py), so
that a store and tills a cashier was moved away from learn it. No table changes;
the wire shape is the same (sync protocol 4).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

from possync.retail.replication import SPEC
from possync.sync import capture

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    routed = tuple(t.name for t in SPEC.tables if t.route_column is not None)
    capture.refresh_triggers(op.get_bind(), SPEC, routed)


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

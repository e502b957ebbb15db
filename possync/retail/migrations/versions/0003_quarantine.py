"""The quarantine, installations, and the prefixes each terminal's series ever had.

* ``sync_quarantine`` (engine): documents a receiver set aside, whole, with why.
* ``sync_peer.installation_id``, ``refused_installation(_at)`` (engine): the
  installation a child's identity is bound to, and the last other one refused.
* ``doc_series_used`` (store): every prefix given to a terminal's series, filled
  here with the series as they stand.
* ``customer.field_clocks`` (replicates: part of sync protocol 2, which release
  0.2.0 introduces) and ``sync_conflict`` (engine): contact fields edited on several
  nodes merge field by field with hybrid logical clocks; concurrent edits of one
  field are recorded.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from possync.retail.replication import SPEC
from possync.sync import capture, log

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_peer") as peer:
        peer.add_column(sa.Column("installation_id", sa.String(64)))
        peer.add_column(sa.Column("refused_installation", sa.String(64)))
        peer.add_column(sa.Column("refused_installation_at", sa.String(32)))
    op.create_table(
        "sync_quarantine",
        sa.Column("quarantine_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("document", sa.String(120), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("decided_at", sa.String(32)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("note", sa.Text),
    )
    op.create_index("sync_quarantine_by_peer", "sync_quarantine", ["peer", "status"])
    with op.batch_alter_table("customer") as customer:
        customer.add_column(sa.Column("field_clocks", sa.Text))
    op.create_table(
        "sync_conflict",
        sa.Column("conflict_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("row_key", sa.Text, nullable=False),
        sa.Column("column_name", sa.String(64), nullable=False),
        sa.Column("kept_value", sa.Text),
        sa.Column("kept_clock", sa.String(96), nullable=False),
        sa.Column("lost_value", sa.Text),
        sa.Column("lost_clock", sa.String(96), nullable=False),
        sa.Column("peer", sa.String(64)),
        sa.Column("recorded_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "doc_series_used",
        sa.Column("prefix", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("terminal_id", sa.String(16), nullable=False),
        sa.Column("since", sa.String(32), nullable=False),
    )
    op.execute(
        "INSERT INTO doc_series_used (prefix, kind, terminal_id, since) "
        "SELECT prefix, kind, terminal_id, '1970-01-01T00:00:00.000Z' FROM doc_series"
    )

    conn = op.get_bind()
    log.complete_rows(conn, "customer", {"field_clocks": None})
    capture.refresh_triggers(conn, SPEC, ("customer",))


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

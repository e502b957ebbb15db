"""The engine's own bookkeeping tables (the change log itself lives in log.py)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Every node this node exchanges changes with: its parent (at most one) and its
# children. The cursors are the heart of exactly-once delivery:
#   inbound_seq  - the last sequence number of the peer's log applied here; stored
#                  in the same transaction as the changes it covers.
#   outbound_seq - the last sequence number of this node's log the peer has
#                  acknowledged (a child acknowledges by asking for what follows).
sync_peer = sa.Table(
    "sync_peer",
    metadata,
    sa.Column("node_id", sa.String(64), primary_key=True),
    sa.Column("relation", sa.String(8), nullable=False),  # "parent" | "child"
    sa.Column("route_keys", sa.Text, nullable=False, default="[]"),  # JSON list
    sa.Column("url", sa.Text),  # how to reach a parent
    sa.Column("secret", sa.Text),  # a parent's credential, kept by the child only
    sa.Column("secret_hash", sa.String(64)),  # a child's credential, as its hash
    sa.Column("code_hash", sa.String(64)),  # one-time registration code, as its hash
    sa.Column("code_expires_at", sa.String(32)),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("inbound_seq", sa.BigInteger, nullable=False, default=0),
    sa.Column("outbound_seq", sa.BigInteger, nullable=False, default=0),
    # The head of the child's own log as it last reported it: with inbound_seq,
    # tells how much the child still has to send (0 if it never said).
    sa.Column("reported_head", sa.BigInteger, nullable=False, default=0),
    sa.Column("registered_at", sa.String(32)),
    sa.Column("last_contact_at", sa.String(32)),
    sa.Column("last_push_at", sa.String(32)),
    sa.Column("last_pull_at", sa.String(32)),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", sa.String(32)),
    # For dashboards: the highest sequence number served to the child in a pull
    # (served but not yet acknowledged = sent_through - outbound_seq, as changes),
    # when the child was last fully in step, and the working mode it reports
    # (opaque to the engine, e.g. "online" / "offline").
    sa.Column("sent_through", sa.BigInteger, nullable=False, default=0),
    sa.Column("last_sync_at", sa.String(32)),
    sa.Column("reported_mode", sa.String(16)),
    # An administrator may suspend a child's sync until this instant (UTC).
    sa.Column("suspended_until", sa.String(32)),
)

# Local settings of this node (its id, its parent, initial-load state...).
sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# A child's progress through its initial load, one row per table, committed with
# each chunk so that an interrupted load resumes from the last committed chunk.
sync_load_progress = sa.Table(
    "sync_load_progress",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("last_key", sa.Text),  # JSON list of key values, null = from the start
    sa.Column("rows_loaded", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_total", sa.BigInteger, nullable=False, default=0),  # as the parent said
    sa.Column("done", sa.Boolean, nullable=False, default=False),
)

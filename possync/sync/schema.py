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
    # The installation of the child bound to its identity: the first that synced
    # after it was provisioned. Another one (a copied database, a backup imported
    # twice) is refused, and the last one refused is kept for the dashboard.
    sa.Column("installation_id", sa.String(64)),
    sa.Column("refused_installation", sa.String(64)),
    sa.Column("refused_installation_at", sa.String(32)),
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

# Documents set aside by the receiver (see quarantine.py): well formed, but refused
# by a rule or clashing with data held. Each row keeps a whole document's changes.
sync_quarantine = sa.Table(
    "sync_quarantine",
    metadata,
    sa.Column("quarantine_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("peer", sa.String(64), nullable=False),  # the node the changes came from
    sa.Column("direction", sa.String(8), nullable=False),  # "up" (pushed) | "down" (pulled)
    sa.Column("document", sa.String(120), nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # held | resubmitted | discarded
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.Column("changes", sa.Text, nullable=False),  # JSON list of changes, as on the wire
    sa.Column("decided_at", sa.String(32)),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Index("sync_quarantine_by_peer", "peer", "status"),
)

# Concurrent edits of one merged column (sync/hlc.py): the value kept and the one
# that lost, kept where both met (the parent), for people to look at.
sync_conflict = sa.Table(
    "sync_conflict",
    metadata,
    sa.Column("conflict_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("row_key", sa.Text, nullable=False),  # JSON list of the key's values
    sa.Column("column_name", sa.String(64), nullable=False),
    sa.Column("kept_value", sa.Text),  # JSON
    sa.Column("kept_clock", sa.String(96), nullable=False),
    sa.Column("lost_value", sa.Text),  # JSON
    sa.Column("lost_clock", sa.String(96), nullable=False),
    sa.Column("peer", sa.String(64)),  # who sent the change that met the other
    sa.Column("recorded_at", sa.String(32), nullable=False),
)

# Failed attempts at something guessable (a password, a PIN, a code), per scope and
# key (sync/guess_limits.py). Local to each node, never replicated: a restart of the
# server process does not forgive, and every process sharing the database counts
# together. Times are seconds since the epoch (they must survive a restart).
guess_limit = sa.Table(
    "guess_limit",
    metadata,
    sa.Column("scope", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.BigInteger, nullable=False, default=0),
    sa.Column("locked_until", sa.Float, nullable=False, default=0.0),
    sa.Column("window_start", sa.Float, nullable=False, default=0.0),
    sa.Column("last_at", sa.Float, nullable=False, default=0.0),
)

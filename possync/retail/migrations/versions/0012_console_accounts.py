"""Console accounts in the schema: ``console_admin`` and ``console_session`` (and the
index of sessions by user name) are made here where they are missing, as a new
database's install makes them. Until now the console made them when it started
(and ``store admin add`` when it added the first administrator), outside the
migrations; so a database of an older release may have them already, with its
administrators and sessions, which are kept as they are. Their shape has not
changed since release 0.1.0. Not replicated: no trigger, no sync protocol change.

Every database gets them, a terminal's too, although no console signs in to a
terminal: possync keeps one schema and one migration history for every database,
whatever its tier (schema_version.py), so that a fresh install and an upgrade make
the same tables everywhere and one comparison of shapes covers them all. A
terminal's are two empty tables; deciding by the database's tier would make the
schema depend on data.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The name SQLAlchemy gave the index (index=True) when the console made the tables.
SESSIONS_BY_USER = "ix_console_session_username"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("console_admin"):
        op.create_table(
            "console_admin",
            sa.Column("username", sa.String(64), primary_key=True),
            sa.Column("password_hash", sa.String(200), nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("last_sign_in_at", sa.String(32)),
        )
    if not inspector.has_table("console_session"):
        op.create_table(
            "console_session",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("username", sa.String(64), nullable=False),
            sa.Column("csrf_token", sa.String(64), nullable=False),
            sa.Column("expires_at", sa.String(32), nullable=False),
        )
        indexes: set[str] = set()
    else:
        indexes = {i["name"] for i in inspector.get_indexes("console_session")}
    if SESSIONS_BY_USER not in indexes:
        op.create_index(SESSIONS_BY_USER, "console_session", ["username"])


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

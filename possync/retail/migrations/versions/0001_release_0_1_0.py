"""Release 0.1.0: the baseline.

Release 0.1.0 (commit e2cf611) created every table with ``create_all`` and stored
no schema version. Its databases are recognised by their ``sync_state`` table and
stamped with this revision before they are upgraded; a database created since
starts at the head revision.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    raise NotImplementedError("possync does not downgrade: restore the safety copy")

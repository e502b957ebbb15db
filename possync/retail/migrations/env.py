"""Alembic's entry point for possync's databases.

possync runs Alembic from code (possync.retail.schema_version), never from an
alembic.ini: the caller opens the transaction and hands its connection over in
``config.attributes["connection"]``, so that every step of an upgrade and the
version stamp commit together, or not at all.
"""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    # SQLite can change a table only by copying it: Alembic's batch mode does that
    # (and plain ALTER where SQLite allows it, e.g. adding a column).
    render_as_batch=True,
    on_version_apply=config.attributes.get("on_step"),
)
# The caller's transaction is already open: this adds none of its own.
with context.begin_transaction():
    context.run_migrations()

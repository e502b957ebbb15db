"""Purging a store database (SQLite or PostgreSQL).

The store forgets its change log once every peer has acknowledged it (its
registered, enabled terminals and, if it has one, its head office), and purges
terminal transactions (receipts with their lines and payments, stock movements)
older than its retention, once every peer has acknowledged the changes that carry
them: with a head office, nothing it has not received goes.

The default retention is 365 days: a full year of trading stays on the store for
its own reports (a year compared with the last), for returns and exchanges and for
any dispute that surfaces within a year. Keeping transactions for the legal
retention period (often 6 to 10 years) is the job of head office and accounting,
not of the store server.

The highest receipt of each series is kept however old, because numbering after a
re-provisioned terminal or a changed series continues after the highest number the
store holds: a purge must never let a number be issued twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail import purge_job
from possync.retail.store_admin import store_row
from possync.sync import failpoints
from possync.sync.db import read_tx

DEFAULT_RETENTION_DAYS = 365
# VACUUM of an SQLite store rewrites the file while terminals wait to push: only
# when a quarter of it is free. (Free pages are reused by new rows anyway.)
SQLITE_MIN_FREE = 0.25


def purge_store(
    engine: sa.Engine, older_than_days: int = DEFAULT_RETENTION_DAYS, *, dry_run: bool = False
) -> purge_job.PurgeReport:
    with read_tx(engine) as conn:
        store_row(conn)  # refuse a database that is not a store
    failpoints.hit("purge-before")
    return purge_job.run(
        engine,
        older_than_days,
        keep_last_documents=True,
        dry_run=dry_run,
        min_free=SQLITE_MIN_FREE,
    )

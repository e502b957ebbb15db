"""Purging a terminal: keep its database small for years of trading.

Receipts (with their lines and payments) and stock movements older than the
retention go once the store has acknowledged them; anything not yet synced stays,
however old. The change log is compacted up to what the store acknowledged and the
file is shrunk. Stock levels and document counters are never touched, so numbers
carry on after a purge.

The default retention, 30 days, is the usual return window: a return is taken on
the terminal that made the sale, which needs the sale in its database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from possync.retail import purge_job
from possync.sync import failpoints
from possync.sync.db import read_tx
from possync.sync.errors import SyncError
from possync.terminal.local import Terminal

DEFAULT_RETENTION_DAYS = 30
LAST_DAILY_PURGE = "purge_last_day"  # sync_state key: the calendar day it last ran
# The daily purge gives space back only when a fifth of the file is free: in steady
# state a day's purge frees a few percent, which the next day's sales reuse, and
# VACUUM rewrites the whole file while sales wait for it.
DAILY_MIN_FREE = 0.2

log = logging.getLogger("possync.purge")


class PurgeFailed(SyncError):
    code = "purge_failed"


def purge_terminal(
    term: Terminal,
    older_than_days: int = DEFAULT_RETENTION_DAYS,
    *,
    dry_run: bool = False,
    min_free: float = 0.0,
) -> purge_job.PurgeReport:
    """Purge what the store has acknowledged and is older than the retention."""
    # Refuse a terminal that was never registered: with no parent recorded, nothing
    # says what the store has, and the engine would treat the whole log as read.
    with read_tx(term.engine) as conn:
        term.child.parent(conn)  # raises NotProvisioned
    failpoints.hit("purge-before")
    return purge_job.run(
        term.engine,
        older_than_days,
        keep_last_documents=False,  # the terminal's doc_counter carries the numbers
        dry_run=dry_run,
        min_free=min_free,
    )


def daily_purge(
    term: Terminal,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    *,
    today: Callable[[], date] = date.today,
) -> Callable[[], None]:
    """A ``SyncAgent(maintenance=...)`` callback that purges at most once per
    calendar day (local time, so it runs in the first maintenance after midnight,
    usually when the shop is closed).

    The day is recorded before the purge runs: a purge that fails is retried the
    next day, not after every sync. Failures are raised as :class:`PurgeFailed` (a
    SyncError), which the agent logs without stopping.
    """
    if retention_days < 1:
        raise ValueError("the retention must be at least one day")

    def maintenance() -> None:
        day = today().isoformat()
        try:
            if term.get_state(LAST_DAILY_PURGE) == day:
                return
            term.put_state(LAST_DAILY_PURGE, day)
            report = purge_terminal(term, retention_days, min_free=DAILY_MIN_FREE)
        except SyncError:
            raise
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            # e.g. the database stayed locked: the agent must keep syncing anyway.
            raise PurgeFailed(f"daily purge failed: {exc}") from exc
        purged = report.rows.purged
        log.info(
            "daily purge: %d receipts, %d stock movements, %d log entries%s",
            purged.receipt,
            purged.stock_movement,
            report.log_entries,
            "; file shrunk" if report.vacuumed else "",
        )

    return maintenance

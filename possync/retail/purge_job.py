"""One purge of a retail database (terminal or store), start to end: the old rows,
then the change log, then the disk space, with a report of each step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from possync.retail import purge
from possync.sync import log
from possync.sync import purge as engine_purge
from possync.sync.db import is_sqlite, read_tx, write_tx


@dataclass
class PurgeReport:
    """The stable shape of ``possync pos|store purge --json``."""

    older_than_days: int
    cutoff: str
    dry_run: bool
    rows: purge.RowPurge
    log_entries: int  # change-log entries forgotten (or that would be)
    log_compacted_through: int
    log_held_back_by: str | None  # the slowest peer, if the log could not all go
    vacuumed: bool
    size_before: int | None  # bytes on disk
    size_after: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "older_than_days": self.older_than_days,
            "cutoff": self.cutoff,
            "dry_run": self.dry_run,
            "purged": self.rows.purged.as_dict(),
            "kept_unacknowledged": self.rows.kept_unacknowledged.as_dict(),
            "kept_last_documents": self.rows.kept_last_documents,
            "log_entries": self.log_entries,
            "log_compacted_through": self.log_compacted_through,
            "log_held_back_by": self.log_held_back_by,
            "vacuumed": self.vacuumed,
            "size_before": self.size_before,
            "size_after": self.size_after,
        }


def run(
    engine: sa.Engine,
    older_than_days: int,
    *,
    keep_last_documents: bool,
    dry_run: bool = False,
    min_free: float = 0.0,
) -> PurgeReport:
    """Purge rows older than ``older_than_days`` that every peer has acknowledged,
    compact the log as far as every peer has acknowledged it, and give the space
    back if at least ``min_free`` of the file is free (see sync.purge.reclaim_space).
    """
    rules = purge.Rules(purge.cutoff(older_than_days), keep_last_documents)
    size_before = engine_purge.database_bytes(engine)
    # PostgreSQL: number the changes already committed, as every reader of the log
    # does first (a dry run too: it is bookkeeping, not data), so that the floor
    # compares with them. Changes committed later count as not acknowledged.
    if not is_sqlite(engine):
        with write_tx(engine) as conn:
            log.publish(conn)
    rows = purge.purge_rows(engine, rules, dry_run=dry_run)
    if dry_run:
        with read_tx(engine) as conn:
            entries = engine_purge.compactable_entries(conn)
            floor = engine_purge.compaction_floor(conn)
            through = max(floor.seq, log.compacted_through(conn))
            head = log.head(conn)
        vacuumed = False
    else:
        entries, floor = engine_purge.compact_log(engine)
        with read_tx(engine) as conn:
            through = log.compacted_through(conn)
            head = log.head(conn)
        vacuumed = engine_purge.reclaim_space(engine, min_free)
    return PurgeReport(
        older_than_days=older_than_days,
        cutoff=rules.cutoff,
        dry_run=dry_run,
        rows=rows,
        log_entries=entries,
        log_compacted_through=through,
        log_held_back_by=floor.held_by if floor.seq < head else None,
        vacuumed=vacuumed,
        size_before=size_before,
        size_after=size_before if dry_run else engine_purge.database_bytes(engine),
    )

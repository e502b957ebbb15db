"""``possync pos purge`` and ``possync store purge``: remove old, already-synced data.

Imported by main.py for its side effect: it adds a ``purge`` command to the ``pos``
and ``store`` command groups.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possync.cli import pos, store
from possync.cli.common import DataDir, DbUrl, JsonFlag, console, print_json, user_errors
from possync.retail import database
from possync.retail.purge_job import PurgeReport
from possync.store.purge import DEFAULT_RETENTION_DAYS as STORE_RETENTION
from possync.store.purge import purge_store
from possync.terminal.local import Terminal
from possync.terminal.purge import DEFAULT_RETENTION_DAYS as TERMINAL_RETENTION
from possync.terminal.purge import purge_terminal

DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would go; change nothing")]


OlderThan = Annotated[
    int,
    typer.Option("--older-than", min=1, metavar="DAYS", help="Keep what is younger than DAYS"),
]


def _mib(size: int | None) -> str:
    return "?" if size is None else f"{size / 1_048_576:.1f} MiB"


def show(report: PurgeReport) -> None:
    verb = "would purge" if report.dry_run else "purged"
    p = report.rows.purged
    console.print(
        f"{verb} (created before {report.cutoff}): {p.receipt} receipts "
        f"({p.receipt_line} lines, {p.receipt_payment} payments), "
        f"{p.stock_movement} stock movements, {p.z_report} Z reports, "
        f"{p.drawer_session} drawer sessions ({p.cash_movement} paid in/out), "
        f"{p.till_event} till events"
    )
    kept = report.rows.kept_unacknowledged
    if kept.receipt or kept.stock_movement:
        console.print(
            f"kept, not yet acknowledged by every peer: {kept.receipt} receipts, "
            f"{kept.stock_movement} stock movements"
        )
    if report.rows.kept_last_documents:
        console.print(
            "kept as the last document of their till's series or chain: "
            f"{report.rows.kept_last_documents} receipts and Z reports"
        )
    held = f" (held back by {report.log_held_back_by})" if report.log_held_back_by else ""
    went = "would go" if report.dry_run else "forgotten"
    console.print(
        f"change log: {report.log_entries} entries {went}, "
        f"compacted through {report.log_compacted_through}{held}"
    )
    if not report.dry_run:
        console.print(f"size: {_mib(report.size_before)} -> {_mib(report.size_after)}")


@pos.app.command("purge")
def pos_purge(
    data: DataDir,
    older_than: OlderThan = TERMINAL_RETENTION,
    dry_run: DryRun = False,
    json: JsonFlag = False,
) -> None:
    """Delete receipts and stock movements older than DAYS that the store has
    acknowledged (never anything unsynced), compact the change log, shrink the file."""
    with user_errors():
        report = purge_terminal(Terminal.open(data), older_than, dry_run=dry_run)
    if json:
        print_json(report.as_dict())
    else:
        show(report)


@store.app.command("purge")
def store_purge(
    db: DbUrl,
    older_than: OlderThan = STORE_RETENTION,
    dry_run: DryRun = False,
    json: JsonFlag = False,
) -> None:
    """Compact the change log as far as every terminal (and head office) has
    acknowledged it, and delete terminal transactions older than DAYS."""
    with user_errors():
        report = purge_store(database.open_store(db), older_than, dry_run=dry_run)
    if json:
        print_json(report.as_dict())
    else:
        show(report)

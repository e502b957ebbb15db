"""``possync store quarantine``: documents the store set aside (see
docs/reliability.md), and what an administrator decides about them.

Imported by main.py for its side effect: it adds the ``quarantine`` group to the
``store`` commands.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from possync.cli import store
from possync.cli.common import DbUrl, JsonFlag, console, print_json, user_errors
from possync.retail import database, quarantine_admin

app = typer.Typer(
    help="Documents set aside by the store (well formed, but refused by a rule or a clash).",
    no_args_is_help=True,
)
store.app.add_typer(app, name="quarantine")

Entry = Annotated[int, typer.Argument(help="The entry's number, as listed")]
By = Annotated[str, typer.Option("--by", help="Who decides (default: the system user)")]


@app.command("list")
def held(
    db: DbUrl,
    terminal: Annotated[str | None, typer.Option("--terminal", help="One terminal's only")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Decided entries too")] = False,
    json: JsonFlag = False,
) -> None:
    """List the documents held (with --all, those decided too)."""
    with user_errors():
        entries = quarantine_admin.listing(
            database.open_store(db), terminal=terminal, status=None if all_ else "held"
        )
    if json:
        print_json(entries)
        return
    if not entries:
        console.print("nothing held")
        return
    table = Table("#", "terminal", "document", "code", "reason", "status", "received")
    for e in entries:
        table.add_row(
            str(e["quarantine_id"]), e["peer"], e["document"], e["code"], e["reason"],
            e["status"], e["received_at"],
        )  # fmt: skip
    console.print(table)


@app.command()
def show(entry: Entry, db: DbUrl) -> None:
    """One entry, whole: every change it holds (JSON)."""
    with user_errors():
        print_json(quarantine_admin.entry(database.open_store(db), entry))


@app.command()
def resubmit(
    entry: Entry,
    db: DbUrl,
    note: Annotated[str | None, typer.Option("--note", help="Written to the admin log")] = None,
    by: By = "",
    json: JsonFlag = False,
) -> None:
    """Apply a held document again (after fixing what it needed)."""
    with user_errors():
        result = quarantine_admin.resubmit(
            database.open_store(db), entry, by=by or getpass.getuser(), note=note
        )
    if json:
        print_json(result)
    elif result["applied"]:
        console.print(f"entry {entry} applied")
    else:
        again = result["held_again"][0]
        console.print(f"entry {entry} held again as {again['quarantine_id']}: {again['reason']}")


@app.command()
def discard(
    entry: Entry,
    db: DbUrl,
    note: Annotated[str, typer.Option("--note", help="Why (required; written to the admin log)")],
    by: By = "",
) -> None:
    """Set a held document aside for good, saying why."""
    with user_errors():
        quarantine_admin.discard(
            database.open_store(db), entry, by=by or getpass.getuser(), note=note
        )
    console.print(f"entry {entry} discarded")

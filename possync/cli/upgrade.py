"""``possync store upgrade`` and ``possync pos upgrade``: bring a database to this
release's schema (see docs/upgrades.md).

Imported by main.py for its side effect: it adds an ``upgrade`` command to the
``pos`` and ``store`` command groups.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possync.cli import pos, store
from possync.cli.common import DataDir, DbUrl, JsonFlag, console, print_json, user_errors
from possync.retail import schema_version
from possync.retail.schema_version import Plan
from possync.sync.db import open_engine
from possync.terminal import upgrade as terminal_upgrade

DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; change nothing")]


def _say(message: str) -> None:
    console.print(message, highlight=False)


def show(plan: Plan, dry_run: bool) -> None:
    current = f"schema {plan.current} (release {schema_version.release(plan.current)})"
    if not plan.steps:
        console.print(f"up to date: {current}", highlight=False)
        return
    if dry_run:
        console.print(f"{current}; would apply:", highlight=False)
        for step in plan.steps:
            console.print(f"  {step.revision}  {step.release}  {step.description}", highlight=False)


@store.app.command("upgrade")
def upgrade_store(db: DbUrl, dry_run: DryRun = False, json: JsonFlag = False) -> None:
    """Apply pending schema migrations to the store database (one transaction; on
    SQLite a copy of the file is made first, as <file>.pre-<release>)."""
    with user_errors():
        engine = open_engine(db)
        if engine.dialect.name != "sqlite" and not dry_run and not json:
            _say("PostgreSQL: one transaction; take a pg_dump first if you want a copy")
        plan = schema_version.upgrade(engine, dry_run=dry_run, progress=None if json else _say)
    if json:
        print_json({"dry_run": dry_run, **plan.as_dict()})
    else:
        show(plan, dry_run)


@pos.app.command("upgrade")
def upgrade_terminal(data: DataDir, dry_run: DryRun = False, json: JsonFlag = False) -> None:
    """Apply pending schema migrations to this till's database, after a safety copy
    (terminal.db.pre-<release>, kept until the next successful sync). 'pos run' does
    the same at start."""
    with user_errors():
        plan = terminal_upgrade.upgrade(data, dry_run=dry_run, progress=None if json else _say)
    if json:
        print_json({"dry_run": dry_run, **plan.as_dict()})
    else:
        show(plan, dry_run)

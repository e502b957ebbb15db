"""``possync store discount-reason`` and ``possync store till-events``: the reasons a
discount may be given for (master data, down to the tills), and what the tills
logged (voided lines, cancelled sales, discounts a manager approved).

Imported by main.py for its side effect: it adds these commands to ``store``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possync.cli import store
from possync.cli.common import DbUrl, JsonFlag, console, print_json, user_errors
from possync.retail import database, discounts, till_events
from possync.sync.db import read_tx, write_tx

reason_app = typer.Typer(help="Reasons a discount may be given for.", no_args_is_help=True)
store.app.add_typer(reason_app, name="discount-reason")


@reason_app.command("add")
def add_reason(
    code: Annotated[str, typer.Argument(help="Reason code, e.g. DAMAGED")],
    db: DbUrl,
    name: Annotated[str, typer.Option(help="What the cashier picks, e.g. 'Damaged packaging'")],
    active: Annotated[bool, typer.Option("--active/--inactive")] = True,
) -> None:
    """Add a discount reason or change one (the tills take it at their next sync)."""
    with user_errors(), write_tx(database.open_store(db)) as conn:
        discounts.save_reason(conn, code, name, active=active)
    console.print(f"discount reason {code} ({name}) saved", highlight=False)


@reason_app.command("list")
def list_reasons(db: DbUrl, json: JsonFlag = False) -> None:
    """The discount reasons, active or not."""
    with user_errors(), read_tx(database.open_store(db)) as conn:
        found = discounts.reasons(conn, active_only=False)
    if json:
        print_json(found)
        return
    for r in found:
        console.print(
            f"{r['code']:<16} {r['name']}{'' if r['active'] else '  (inactive)'}", highlight=False
        )


@store.app.command("till-events")
def list_events(
    db: DbUrl,
    terminal: Annotated[str | None, typer.Option(help="One till only")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    json: JsonFlag = False,
) -> None:
    """What the tills logged, newest first: voided lines, cancelled sales and
    discounts a manager approved, each with its reason."""
    with user_errors(), read_tx(database.open_store(db)) as conn:
        found = till_events.recent(conn, terminal_id=terminal, limit=limit)
    if json:
        print_json(found)
        return
    for e in found:
        approved = f" approved by {e['approved_by']}" if e["approved_by"] else ""
        console.print(
            f"{e['created_at']} {e['terminal_id']} {e['cashier_id'] or '-'} "
            f"{till_events.KIND_WORDS.get(e['kind'], e['kind'])}: {e['reason']}{approved}",
            highlight=False,
        )

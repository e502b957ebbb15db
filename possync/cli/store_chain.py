"""``possync store verify-chain``: check every till's fiscal chain again, over every
document the store holds.

Imported by main.py for its side effect: it adds the command to the ``store``
commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possync.cli import store
from possync.cli.common import EXIT_REFUSED, DbUrl, JsonFlag, console, print_json, user_errors
from possync.retail import database, fiscal_chain
from possync.sync.db import write_tx


@store.app.command("verify-chain")
def verify_chain(
    db: DbUrl,
    terminal: Annotated[
        str | None, typer.Option("--terminal", help="Only this terminal's chain")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Re-verify each till's fiscal chain from its anchor (the genesis value, or the
    newest document a purge removed) over the documents held here, and record what
    is found (the console shows it). Exits 1 if a chain is broken."""
    with user_errors(), write_tx(database.open_store(db)) as conn:
        found = fiscal_chain.verify_all(conn, terminal)
    broken = [s for s in found if s.state == "broken"]
    if json:
        print_json({"ok": not broken, "terminals": [s.as_dict() for s in found]})
    else:
        for s in found:
            line = f"{s.terminal_id}: {s.state}"
            if s.head_seq:
                line += f", head {s.head_seq} ({s.head_short})"
            if s.problem:
                line += f"; {s.problem} at {s.problem_seq}: {s.problem_detail}"
            console.print(line, highlight=False)
        if not found:
            console.print("no terminals", highlight=False)
    if broken:
        raise typer.Exit(EXIT_REFUSED)

"""``possync store settings``: the store's own settings, which never leave it.

Imported by main.py for its side effect: it adds the ``settings`` command to the
``store`` commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possync.cli import store
from possync.cli.common import DbUrl, JsonFlag, console, print_json, user_errors
from possync.retail import cashiers, database
from possync.sync.db import write_tx


@store.app.command("settings")
def settings(
    db: DbUrl,
    min_pin_length: Annotated[
        int | None,
        typer.Option(
            "--min-pin-length",
            help="The shortest cashier PIN accepted from now on (4 to 12 digits)",
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Show or change the store's settings. A longer minimum PIN applies to PINs set
    afterwards (store cashier add, the console); PINs already set keep working."""
    with user_errors(), write_tx(database.open_store(db)) as conn:
        if min_pin_length is not None:
            cashiers.set_min_pin_length(conn, min_pin_length)
        shown = {"min_pin_length": cashiers.min_pin_length(conn)}
    if json:
        print_json(shown)
        return
    console.print(f"shortest cashier PIN: {shown['min_pin_length']} digits", highlight=False)

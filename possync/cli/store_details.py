"""``possync store details``: what the store's receipts print and how its tills
write amounts and times (address, VAT number, locale, time zone). Unlike
``store settings``, these replicate: the tills take them at their next sync.

Imported by main.py for its side effect: it adds the ``details`` command to the
``store`` commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possync.cli.common import DbUrl, JsonFlag, console, print_json, user_errors
from possync.cli.store import app
from possync.retail import database, store_admin


@app.command()
def details(
    db: DbUrl,
    address: Annotated[str | None, typer.Option(help="Printed on receipts ('' clears it)")] = None,
    vat_number: Annotated[
        str | None, typer.Option("--vat-number", help="Printed on receipts ('' clears it)")
    ] = None,
    locale: Annotated[
        str | None,
        typer.Option(help="How amounts are written, e.g. fr_FR: 12,50 € ('' : English)"),
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option(
            "--time-zone", help="The store's IANA time zone, e.g. Europe/Paris ('' : UTC)"
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Show or change the store's address, VAT number, locale and time zone (the
    tills take them at their next sync). The time zone also decides which day a sale
    belongs to in reports."""
    with user_errors():
        row = store_admin.set_details(
            database.open_store(db),
            address=address,
            vat_number=vat_number,
            locale=locale,
            time_zone=time_zone,
        )
    if json:
        print_json(row)
        return
    console.print(f"[bold]{row['store_id']}[/] {row['name']}")
    console.print(f"address: {row['address'] or '-'}", highlight=False)
    console.print(f"VAT number: {row['vat_number'] or '-'}", highlight=False)
    console.print(f"locale: {row['locale'] or 'en (default)'}", highlight=False)
    console.print(f"time zone: {row['time_zone'] or 'UTC (default)'}", highlight=False)

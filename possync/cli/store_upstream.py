"""``possync store join`` and ``store sync``: a store server under head office."""

from __future__ import annotations

from typing import Annotated

import typer

from possync.cli.common import DbUrl, JsonFlag, console, print_json, user_errors
from possync.cli.store import app
from possync.retail import database
from possync.store import upstream


@app.command()
def join(
    db: DbUrl,
    ho_url: Annotated[str, typer.Option("--ho-url", help="Head office's address")],
    code: Annotated[str, typer.Option(help="The one-time code from 'possync ho store add'")],
    json: JsonFlag = False,
) -> None:
    """Join head office: register, then take the chain's master data in place of the
    store's own (a report says what changed). Run it again to resume."""
    with user_errors():
        engine = database.open_store(db)
        shown = None if json else (lambda _stage, n: console.print(f"loaded {n} rows"))
        report = upstream.join(engine, ho_url, code, progress=shown)
    if json:
        print_json(report.__dict__)
        return
    console.print(f"joined head office {report.head_office}; {report.rows_loaded} rows loaded")
    if report.history:
        console.print(report.history, highlight=False)
    for table, kinds in report.changes.items():
        shown = ", ".join(f"{k} {v['count']}" for k, v in kinds.items() if v["count"])
        if shown:
            console.print(f"  {table}: {shown}", highlight=False)


@app.command(name="sync")
def sync_now(db: DbUrl, json: JsonFlag = False) -> None:
    """Sync with head office now: send what the store and its tills recorded, then
    take what head office routes to this store."""
    with user_errors():
        report = upstream.sync(database.open_store(db), wait_for_lock=30.0)
    if json:
        print_json(report.as_dict())
        return
    console.print(f"pushed {report.pushed} changes, pulled {report.pulled}")

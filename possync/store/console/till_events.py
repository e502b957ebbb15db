"""Transactions > Till events: what the tills logged that no receipt records (lines
voided, sales cancelled, discounts a manager approved), newest first, with reasons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from possync.retail import till_events
from possync.store.console.auth import Admin, ConsoleApp
from possync.sync.db import read_tx

router = APIRouter(prefix="/console")
SHOWN = 500


@router.get("/till-events")
def listing(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    terminal: Annotated[str, Query(max_length=16)] = "",
    kind: Annotated[str, Query(max_length=24)] = "",
) -> HTMLResponse:
    with read_tx(console.engine) as conn:
        events = till_events.recent(
            conn,
            terminal_id=terminal or None,
            kind=kind if kind in till_events.KINDS else None,
            limit=SHOWN,
        )
    return console.render(
        request,
        "till_events.html",
        events=events,
        terminal=terminal,
        kind=kind,
        kinds=till_events.KIND_WORDS,
        shown=SHOWN,
    )

"""Replication > Quarantine: documents the store set aside, and the decisions on them
(resubmit after a fix, or discard with a reason). Rules in retail/quarantine_admin.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from possync.retail import quarantine_admin
from possync.retail.errors import RetailError
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import redirect

router = APIRouter(prefix="/console/quarantine")
PAGE = "/console/quarantine"
# An entry's id, within what its column holds (an INTEGER: 32 bits on PostgreSQL);
# beyond it, the database's overflow was a 500
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def listing(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    terminal: str | None = None,
    show_all: Annotated[bool, Query(alias="all")] = False,
) -> HTMLResponse:
    entries = quarantine_admin.listing(
        console.engine, terminal=terminal or None, status=None if show_all else "held"
    )
    return console.render(
        request, "quarantine.html", entries=entries, terminal=terminal or "", show_all=show_all
    )


@router.get("/conflicts")
def clashes(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    """Concurrent edits of one customer field on several tills: what was kept."""
    found = quarantine_admin.conflicts(console.engine)
    return console.render(request, "conflicts.html", conflicts=found)


@router.get("/{entry_id}")
def entry(request: Request, console: ConsoleApp, _: Admin, entry_id: EntryId) -> Response:
    try:
        found = quarantine_admin.entry(console.engine, entry_id)
    except RetailError as exc:
        return redirect(PAGE, str(exc), "bad")
    return console.render(request, "quarantine_entry.html", entry=found)


@router.post("/{entry_id}/resubmit")
def resubmit(
    console: ConsoleApp,
    admin: Admin,
    entry_id: EntryId,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        result = quarantine_admin.resubmit(
            console.engine, entry_id, by=admin.username, note=note.strip() or None
        )
    except RetailError as exc:
        return redirect(f"{PAGE}/{entry_id}", str(exc), "bad")
    if result["applied"]:
        return redirect(PAGE, f"Entry {entry_id} was applied.")
    again = result["held_again"][0]
    return redirect(
        f"{PAGE}/{again['quarantine_id']}",
        f"Entry {entry_id} was refused again: {again['reason']}",
        "bad",
    )


@router.post("/{entry_id}/discard")
def discard(
    console: ConsoleApp,
    admin: Admin,
    entry_id: EntryId,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        quarantine_admin.discard(console.engine, entry_id, by=admin.username, note=note)
    except RetailError as exc:
        return redirect(f"{PAGE}/{entry_id}", str(exc), "bad")
    return redirect(PAGE, f"Entry {entry_id} was discarded.")

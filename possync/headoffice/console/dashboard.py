"""Head office's replication dashboard: one row per store (its link, what waits
each way, quarantine, errors, suspension) and the tills each store relays,
refreshing itself; suspending and resuming a store's sync."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from possync.headoffice.console.settings import ConsoleSettings
from possync.retail import chain
from possync.retail.errors import RetailError
from possync.sync.clock import seconds_since, seconds_until
from possync.webui.console import Console, ago, redirect
from possync.webui.signin import Admin, ConsoleApp

router = APIRouter(prefix="/console")

CONNECTED, SILENT, NEVER_JOINED = "connected", "not heard from", "never joined"


def store_rows(stores: list[dict[str, Any]], settings: ConsoleSettings) -> list[dict[str, Any]]:
    rows = []
    for s in stores:
        contact = s["last_contact_at"]
        silent = seconds_since(contact) if contact else None
        if not s["joined"]:
            connection = NEVER_JOINED
        elif silent is not None and silent <= settings.connected_within:
            connection = CONNECTED
        else:
            connection = SILENT
        until = s["suspended_until"]
        rows.append(
            {
                **s,
                "connection": connection,
                # Joined but silent too long (or never synced since joining).
                "stale": s["joined"] and (silent is None or silent > settings.stale_after),
                "suspended": bool(until) and seconds_until(until) > 0,
                "contact_ago": ago(contact),
                "sync_ago": ago(s["last_sync_at"]),
                "tills": [{**t, "sync_ago": ago(t.get("last_sync_at"))} for t in s["tills"]],
            }
        )
    return rows


def _context(console: Console) -> dict[str, Any]:
    info = chain.overview(console.engine)
    settings: ConsoleSettings = console.settings
    return {
        "chain_name": info["head_office"]["name"],
        "rows": store_rows(info["stores"], settings),
        "settings": settings,
        "stale_minutes": round(settings.stale_after / 60),
    }


@router.get("/")
def dashboard(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(request, "dashboard.html", **_context(console))


@router.get("/dashboard/rows")
def dashboard_body(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(request, "_dashboard.html", **_context(console))


@router.post("/stores/{store_id}/suspend")
def suspend(
    store_id: str,
    console: ConsoleApp,
    admin: Admin,
    minutes: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    if not minutes.strip().isascii() or not minutes.strip().isdigit():
        return redirect("/console/", "Not suspended: give the minutes as a whole number.", "bad")
    try:
        until = chain.suspend_store(console.engine, store_id, int(minutes), by=admin.username)
    except RetailError as exc:
        return redirect("/console/", f"Not suspended: {exc}", "bad")
    return redirect("/console/", f"Sync of store {store_id} suspended until {until}.")


@router.post("/stores/{store_id}/resume")
def resume(store_id: str, console: ConsoleApp, admin: Admin) -> Response:
    try:
        chain.suspend_store(console.engine, store_id, None, by=admin.username)
    except RetailError as exc:
        return redirect("/console/", f"Not resumed: {exc}", "bad")
    return redirect("/console/", f"Sync of store {store_id} resumed.")

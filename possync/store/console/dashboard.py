"""Replication dashboard: one row per terminal, refreshing itself; suspend/resume."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from possync.retail import offline_admin, reports
from possync.retail.errors import RetailError
from possync.store import tls_state
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import ConsoleSettings, redirect
from possync.sync.clock import seconds_since, seconds_until
from possync.sync.db import read_tx

router = APIRouter(prefix="/console")


def ago(stamp: str | None) -> str:
    """'3 min ago' for people; the exact time goes in a title attribute."""
    if not stamp:
        return "never"
    s = max(seconds_since(stamp), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{int(s // size)} {unit} ago"
    return f"{int(s)} s ago"


def dashboard_rows(terminals: list[dict[str, Any]], settings: ConsoleSettings) -> list[dict]:
    rows = []
    for t in terminals:
        contact = t["last_contact_at"]
        silent = seconds_since(contact) if contact else None
        suspended = t["suspended_until"] and seconds_until(t["suspended_until"]) > 0
        rows.append(
            {
                **t,
                "connected": silent is not None and silent <= settings.connected_within,
                # Provisioned but never heard from counts as stale too.
                "stale": (silent is None and t["registered"])
                or (silent is not None and silent > settings.stale_after),
                "suspended": bool(suspended),
                "contact_ago": ago(contact),
                "sync_ago": ago(t["last_sync_at"]),
            }
        )
    return rows


async def _rows(console: Any) -> list[dict]:
    terminals = await run_in_threadpool(reports.terminal_activity, console.engine)
    return dashboard_rows(terminals, console.settings)


def _serving(engine: Any) -> dict[str, Any] | None:
    with read_tx(engine) as conn:
        return tls_state.serving(conn)


@router.get("/")
async def dashboard(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(
        request,
        "dashboard.html",
        rows=await _rows(console),
        # how the server started: plain HTTP is shown on every visit, not hidden
        serving=await run_in_threadpool(_serving, console.engine),
        settings=console.settings,
        stale_minutes=round(console.settings.stale_after / 60),
    )


@router.get("/dashboard/rows")
async def dashboard_body(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(
        request,
        "_dashboard_rows.html",
        rows=await _rows(console),
        stale_minutes=round(console.settings.stale_after / 60),
    )


@router.post("/dashboard/{terminal_id}/suspend")
async def suspend(
    terminal_id: str,
    console: ConsoleApp,
    _: Admin,
    minutes: Annotated[int, Form()],
) -> Response:
    try:
        until = await run_in_threadpool(
            offline_admin.suspend_sync, console.engine, terminal_id, minutes
        )
    except RetailError as exc:
        return redirect("/console/", f"Not suspended: {exc}", "bad")
    return redirect("/console/", f"Sync of {terminal_id} suspended until {until}.")


@router.post("/dashboard/{terminal_id}/resume")
async def resume(terminal_id: str, console: ConsoleApp, _: Admin) -> Response:
    try:
        await run_in_threadpool(offline_admin.suspend_sync, console.engine, terminal_id, None)
    except RetailError as exc:
        return redirect("/console/", f"Not resumed: {exc}", "bad")
    return redirect("/console/", f"Sync of {terminal_id} resumed.")

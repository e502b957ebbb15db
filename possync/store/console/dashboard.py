"""Replication dashboard: one row per terminal, refreshing itself; suspend/resume.

A terminal's working mode is a neutral label (offline is an offline-enabled till's
normal mode); its link to the store is the coloured signal. Times are shown in the
store's time zone (``store details --time-zone``; the zone of the machine the store
server runs on while the store has none set); the exact instant goes in a title
attribute.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from possync.retail import fiscal_chain, offline_admin, reports, store_admin
from possync.retail.errors import RetailError
from possync.store import tls_state
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import ConsoleSettings, redirect
from possync.sync.clock import seconds_since, seconds_until
from possync.sync.db import read_tx
from possync.webui.console import ago

router = APIRouter(prefix="/console")


def store_zone(engine: Any) -> tzinfo | None:
    """The store's time zone; None (the machine's) while the store has none set."""
    with read_tx(engine) as conn:
        name = store_admin.store_row(conn).time_zone
    return ZoneInfo(name) if name else None


def _instant(stamp: str | None, zone: tzinfo | None = None) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).astimezone(zone)
    except ValueError:
        return None


def store_time(stamp: str | None, zone: tzinfo | None = None) -> str:
    """An instant as the store's local time: '14:35' today, '2 Dec 14:35' otherwise."""
    at = _instant(stamp, zone)
    if at is None:
        return stamp or ""
    if at.date() == datetime.now(zone).astimezone(zone).date():
        return at.strftime("%H:%M")
    return at.strftime("%d %b %H:%M").lstrip("0")


def store_time_exact(stamp: str | None, zone: tzinfo | None = None) -> str:
    """For title attributes: the full local time with its offset from UTC."""
    at = _instant(stamp, zone)
    return at.strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)") if at else (stamp or "")


# an instant inside a message ("suspended ... until 2026-12-01T10:40:00.000Z")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[0-9:.]*(?:Z|[+-]\d{2}:\d{2})")


def with_store_times(message: str | None, zone: tzinfo | None = None) -> str:
    """``message`` with the instants it names written as the store's local time."""
    return _INSTANT.sub(lambda found: store_time(found[0], zone), message or "")


def _latest(*stamps: str | None) -> str | None:
    known = [(at, s) for s in stamps if (at := _instant(s)) is not None]
    return max(known)[1] if known else None


def dashboard_rows(
    terminals: list[dict[str, Any]], settings: ConsoleSettings, zone: tzinfo | None = None
) -> list[dict]:
    rows = []
    for t in terminals:
        contact = t["last_contact_at"]
        silent = seconds_since(contact) if contact else None
        suspended = t["suspended_until"] and seconds_until(t["suspended_until"]) > 0
        connected = silent is not None and silent <= settings.connected_within
        # Provisioned but never heard from counts as stale too.
        stale = (silent is None and t["registered"]) or (
            silent is not None and silent > settings.stale_after
        )
        # The terminal reports what it still has to send when it pulls, and what it
        # sent is counted when it pushes: the figure is as of the later of the two.
        reported = _latest(t["last_push_at"], t["last_pull_at"])
        rows.append(
            {
                **t,
                "connected": connected,
                "stale": stale,
                "link_level": "ok" if connected else "bad" if stale else "warn",
                "suspended": bool(suspended),
                "contact_ago": ago(contact),
                "sync_ago": ago(t["last_sync_at"]),
                "unsent_as_of": store_time(reported, zone) if reported else None,
                "unsent_as_of_exact": store_time_exact(reported, zone),
                "suspended_until_local": store_time(t["suspended_until"], zone),
                "suspended_until_exact": store_time_exact(t["suspended_until"], zone),
                "contact_exact": store_time_exact(contact, zone),
                "error_shown": with_store_times(t["last_error"], zone),
                "sync_exact": store_time_exact(t["last_sync_at"], zone),
                "refused_local": store_time(t["refused_installation_at"], zone),
                "refused_exact": store_time_exact(t["refused_installation_at"], zone),
            }
        )
    return rows


def _activity(engine: Any) -> list[dict[str, Any]]:
    """Each terminal's activity, with the first fault of its fiscal chain if any."""
    terminals = reports.terminal_activity(engine)
    with read_tx(engine) as conn:
        chains = fiscal_chain.status_by_terminal(conn)
    for t in terminals:
        chain = chains.get(t["terminal_id"])
        broken = chain is not None and chain.state == "broken"
        t["chain_fault"] = f"{chain.problem} at {chain.problem_seq}" if broken else None
    return terminals


def _rows(console: Any) -> list[dict]:
    return dashboard_rows(_activity(console.engine), console.settings, store_zone(console.engine))


def _serving(engine: Any) -> dict[str, Any] | None:
    with read_tx(engine) as conn:
        return tls_state.serving(conn)


@router.get("/")
def dashboard(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(
        request,
        "dashboard.html",
        rows=_rows(console),
        # how the server started: plain HTTP is shown on every visit, not hidden
        serving=_serving(console.engine),
        settings=console.settings,
        stale_minutes=round(console.settings.stale_after / 60),
    )


@router.get("/dashboard/rows")
def dashboard_body(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(
        request,
        "_dashboard_rows.html",
        rows=_rows(console),
        stale_minutes=round(console.settings.stale_after / 60),
    )


@router.post("/dashboard/{terminal_id}/suspend")
def suspend(
    terminal_id: str,
    console: ConsoleApp,
    _: Admin,
    minutes: Annotated[int, Form()],
) -> Response:
    try:
        until = offline_admin.suspend_sync(console.engine, terminal_id, minutes)
    except RetailError as exc:
        return redirect("/console/", f"Not suspended: {exc}", "bad")
    zone = store_zone(console.engine)
    return redirect(
        "/console/",
        f"Sync of {terminal_id} suspended until {store_time(until, zone)} (store time).",
    )


@router.post("/dashboard/{terminal_id}/resume")
def resume(terminal_id: str, console: ConsoleApp, _: Admin) -> Response:
    try:
        offline_admin.suspend_sync(console.engine, terminal_id, None)
    except RetailError as exc:
        return redirect("/console/", f"Not resumed: {exc}", "bad")
    return redirect("/console/", f"Sync of {terminal_id} resumed.")

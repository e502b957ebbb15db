"""Retail Configuration > POS: terminals, Off-line Enabled, Custom Series, one-time
registration codes and Create Offline Backup."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from possync.retail import fiscal_chain, numbering, offline_admin, offline_backup, store_admin
from possync.retail.errors import RetailError
from possync.store import tls_state
from possync.store.console.auth import Admin, ConsoleApp
from possync.store.console.base import Console, redirect
from possync.store.console.forms import FormFields, parse_int
from possync.sync.db import read_tx
from possync.sync.errors import SyncError

router = APIRouter(prefix="/console")
NO_STORE = {"Cache-Control": "no-store"}  # pages showing a code or secret are never cached
BACKUP_NAME = re.compile(r"^[A-Za-z0-9_-]{1,16}-[0-9a-f]{8,32}\.possync$")
BACKUP_KEEP_SECONDS = 24 * 3600


def _terminal(console: Console, terminal_id: str) -> dict[str, Any] | None:
    for t in store_admin.terminal_listing(console.engine):
        if t["terminal_id"] == terminal_id:
            return t
    return None


def _terminal_or_404(console: Console, terminal_id: str) -> dict[str, Any]:
    found = _terminal(console, terminal_id)
    if found is None:
        raise RetailError(f"no terminal {terminal_id!r} in this store")
    found["chain"] = _chain_of(console, terminal_id)
    return found


def _chain_of(console: Console, terminal_id: str) -> fiscal_chain.ChainStatus | None:
    """The terminal's fiscal chain as the store last checked it."""
    with read_tx(console.engine) as conn:
        found = fiscal_chain.statuses(conn, terminal_id)
    return found[0] if found else None


def _series_form(form: dict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The series fields of a form (receipt_prefix, receipt_next, ...), parsed;
    kinds left entirely blank are not changed."""
    changes: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for kind in numbering.KINDS:
        prefix = form.get(f"{kind}_prefix", "").strip()
        next_no = parse_int(form, f"{kind}_next", errors)
        padding = parse_int(form, f"{kind}_padding", errors)
        if prefix or next_no is not None or padding is not None:
            changes[kind] = {"prefix": prefix or None, "next_no": next_no, "padding": padding}
    return changes, errors


def _field_of(exc: RetailError, terminal_id: str) -> str:
    """Which field of the new-terminal form a refusal is about."""
    if isinstance(exc, numbering.SeriesError):
        mine = [kind for terminal, kind in exc.owners if terminal == terminal_id]
        return f"{mine[0]}_{exc.field}" if mine else "series"
    if "offline mode is disabled" in str(exc):
        return "offline_enabled"
    return "terminal_id"


def _store_pin(engine: Any) -> str | None:
    with read_tx(engine) as conn:
        return tls_state.pin(conn)


def _code_page(request: Request, console: Console, new: store_admin.NewTerminal) -> Response:
    """The one-time registration code, shown once and never cached, with the pin of
    the store's certificate the till checks the store by."""
    return console.render(
        request,
        "terminal_code.html",
        terminal_id=new.terminal_id,
        code=new.registration_code,
        series=new.series,
        pin=_store_pin(console.engine),
        headers=NO_STORE,
    )


@router.get("/terminals")
def listing(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    terminals = store_admin.terminal_listing(console.engine)
    return console.render(request, "terminals.html", terminals=terminals)


@router.get("/terminals/new")
def new_form(request: Request, console: ConsoleApp, _: Admin) -> HTMLResponse:
    return console.render(request, "terminal_new.html", form={"offline_enabled": "1"})


@router.post("/terminals/new")
def create(request: Request, console: ConsoleApp, _: Admin, form: FormFields) -> Response:
    errors: dict[str, str] = {}
    terminal_id = form.get("terminal_id", "").strip()
    changes, errors = _series_form(form)
    series = []
    for kind, change in changes.items():
        if not change["prefix"]:
            errors[f"{kind}_prefix"] = "give a prefix for a custom series"
            continue
        series.append(
            {
                "kind": kind,
                "prefix": change["prefix"],
                "start_no": change["next_no"] or 1,
                "padding": change["padding"] or numbering.DEFAULT_PADDING,
            }
        )
    if not errors:
        try:
            new = store_admin.add_terminal(
                console.engine,
                terminal_id,
                name=form.get("name", "").strip() or None,
                offline_enabled=form.get("offline_enabled") == "1",
                series=series,
            )
        except RetailError as exc:
            errors[_field_of(exc, terminal_id)] = str(exc)
        else:
            return _code_page(request, console, new)
    return console.render(request, "terminal_new.html", form=form, errors=errors, status=422)


@router.get("/terminals/{terminal_id}")
def detail(request: Request, terminal_id: str, console: ConsoleApp, _: Admin) -> Response:
    try:
        terminal = _terminal_or_404(console, terminal_id)
    except RetailError as exc:
        return redirect("/console/terminals", str(exc), "bad")
    return console.render(request, "terminal.html", t=terminal, form={}, series_errors={})


@router.post("/terminals/{terminal_id}")
def save(
    request: Request, terminal_id: str, console: ConsoleApp, _: Admin, form: FormFields
) -> Response:
    terminal = _terminal_or_404(console, terminal_id)
    errors: dict[str, str] = {}
    try:
        store_admin.set_terminal_name(console.engine, terminal_id, form.get("name", ""))
    except RetailError as exc:
        errors["name"] = str(exc)
    wanted = form.get("offline_enabled") == "1"
    if not errors and wanted != terminal["offline_enabled"]:
        try:
            offline_admin.set_terminal_offline(
                console.engine, terminal_id, wanted, force=form.get("force") == "1"
            )
        except RetailError as exc:
            errors["offline_enabled"] = str(exc)
    if errors:
        terminal = _terminal_or_404(console, terminal_id)
        return console.render(
            request,
            "terminal.html",
            t=terminal,
            form=form,
            errors=errors,
            series_errors={},
            status=422,
        )
    return redirect(f"/console/terminals/{terminal_id}", f"Terminal {terminal_id} saved.")


@router.post("/terminals/{terminal_id}/series")
def series(
    request: Request, terminal_id: str, console: ConsoleApp, _: Admin, form: FormFields
) -> Response:
    changes, errors = _series_form(form)
    if not errors and changes:
        try:
            offline_admin.change_series_many(console.engine, terminal_id, changes)
        except offline_admin.SeriesRefused as exc:
            errors = exc.errors
        except RetailError as exc:
            errors = {"series": str(exc)}
    if errors:
        terminal = _terminal_or_404(console, terminal_id)
        return console.render(
            request,
            "terminal.html",
            t=terminal,
            form={},
            series_form=form,
            series_errors=errors,
            status=422,
        )
    return redirect(f"/console/terminals/{terminal_id}", "Custom Series saved.")


@router.post("/terminals/{terminal_id}/code")
def new_code(request: Request, terminal_id: str, console: ConsoleApp, _: Admin) -> Response:
    """Re-provision: a new one-time code; the terminal's old secret stops working."""
    _terminal_or_404(console, terminal_id)
    new = store_admin.add_terminal(console.engine, terminal_id)
    return _code_page(request, console, new)


@router.post("/terminals/{terminal_id}/backup")
def backup(request: Request, terminal_id: str, console: ConsoleApp, _: Admin) -> Response:
    """Create Offline Backup: written to the console's backup directory, then offered
    for download with its import code (shown once, on this page only)."""
    folder = console.settings.backup_dir
    _prune(folder)
    out = folder / f"{terminal_id}-{time.time_ns():x}.possync"
    store_url = str(request.base_url).rstrip("/")
    try:
        made = offline_backup.create(console.engine, terminal_id, out, store_url=store_url)
    except (RetailError, SyncError) as exc:
        return redirect(f"/console/terminals/{terminal_id}", f"No backup made: {exc}", "bad")
    return console.render(
        request, "backup_ready.html", backup=made.as_dict(), name=out.name, headers=NO_STORE
    )


@router.get("/backups/{name}")
def download(name: str, console: ConsoleApp, _: Admin) -> Response:
    path = console.settings.backup_dir / name
    if not BACKUP_NAME.match(name) or not path.is_file():
        return redirect("/console/terminals", f"No backup file {name!r} (kept 24 hours).", "bad")
    return FileResponse(
        path, media_type="application/octet-stream", filename=name, headers=NO_STORE
    )


def _prune(folder: Path) -> None:
    """Backups wait a day to be downloaded; they hold a terminal's secret, so not longer."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in folder.glob("*.possync"):
        if time.time() - old.stat().st_mtime > BACKUP_KEEP_SECONDS:
            old.unlink(missing_ok=True)

"""What every page handler shares: the app's state, rendering, htmx helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from possync.terminal import syncer
from possync.terminal.local import Terminal
from possync.terminal.lockout import PinLockout
from possync.terminal.operations import Operations
from possync.terminal.status import terminal_status
from possync.terminal.web import link
from possync.terminal.web.sessions import CashierSession, Sessions


@dataclass
class PosState:
    terminal: Terminal
    templates: Jinja2Templates
    sessions: Sessions
    lockout: PinLockout
    operations: Operations
    till: dict[str, str]  # store_id, store_name, terminal_id, currency: fixed while running


def pos_state(request: Request) -> PosState:
    return request.app.state.pos


Pos = Annotated[PosState, Depends(pos_state)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def status_facts(state: PosState) -> dict[str, Any]:
    """What the status bar shows (no network: the bar is refreshed every few seconds)."""
    facts = terminal_status(state.terminal, probe_store=False)
    facts["operation"] = state.operations.running()
    facts["failing_since"] = state.terminal.get_state(syncer.FAILING_SINCE)
    facts["link"] = link.describe(facts)
    facts["mode_words"] = link.MODE_WORDS.get(facts["mode"] or "", ("", ""))
    return facts


def render(
    request: Request,
    template: str,
    session: CashierSession | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A template with what every page and fragment may use. Full pages (not htmx
    fragments) also get the status bar's facts."""
    state = pos_state(request)
    fragment = template.startswith("_")  # partial templates are named _*.html
    values: dict[str, Any] = {
        "cashier": session,
        "csrf_token": session.csrf if session else "",
        "till": state.till,
        "status": None if fragment else status_facts(state),
    }
    values.update(context)  # the sign-in page brings its own csrf_token
    return state.templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )


def redirect(request: Request, url: str) -> Response:
    """Go to ``url``: htmx follows HX-Redirect (a full page load), a plain form a
    303 See Other."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def localtime(iso: str | None) -> str:
    """An ISO-8601 UTC timestamp as this till's local time, for people."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso

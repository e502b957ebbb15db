"""What every page handler shares: the app's state, rendering, htmx helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from possync.retail.prepared import Prepared
from possync.retail.schema import store
from possync.retail.store_locale import StoreLocale
from possync.sync.db import read_tx
from possync.terminal import syncer
from possync.terminal.local import Terminal
from possync.terminal.lockout import PinLockout
from possync.terminal.operations import Operations
from possync.terminal.status import terminal_status
from possync.terminal.web import link
from possync.terminal.web.sessions import CashierSession, Sessions
from possync.webui.formatting import Shown

_STORE = Prepared(
    sa.select(store.c.locale, store.c.currency, store.c.time_zone).where(
        store.c.store_id == sa.bindparam("store_id")
    )
)


@dataclass
class PosState:
    terminal: Terminal
    templates: Jinja2Templates
    sessions: Sessions
    lockout: PinLockout
    operations: Operations
    till: dict[str, str]  # store_id, store_name, terminal_id, currency: fixed while running

    @property
    def shown(self) -> Shown:
        """How this till writes amounts and times: its store's locale and time zone,
        read afresh (a sync may have changed them; one indexed row)."""
        with read_tx(self.terminal.engine) as conn:
            return self.shown_in(conn)

    def shown_in(self, conn: sa.Connection) -> Shown:
        """:attr:`shown`, read in the caller's transaction."""
        locale, currency, time_zone = _STORE.first(conn, {"store_id": self.till["store_id"]})
        row = {"locale": locale, "currency": currency, "time_zone": time_zone}
        return Shown(StoreLocale.of(row), bool(locale))

    @property
    def locale(self) -> StoreLocale:
        """The store's locale: ``state.locale.parse_amount(text, negative=False)`` reads
        an amount the cashier typed (``12,50`` in fr_FR; a point works too)."""
        return self.shown.locale


def pos_state(request: Request) -> PosState:
    return request.app.state.pos


async def _pos(request: Request) -> PosState:
    """:func:`pos_state` as a dependency: async, so that FastAPI does not hand it to
    its thread pool (a hop between threads on every request, for a look-up)."""
    return pos_state(request)


Pos = Annotated[PosState, Depends(_pos)]


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


def shown_of(request: Request) -> Shown:
    """The till's way of writing amounts and times, for the page filters."""
    return pos_state(request).shown

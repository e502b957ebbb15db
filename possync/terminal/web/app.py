"""The cashier's screen: ``create_app(data_dir)``, served by ``possync pos run``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import escape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from possync import __version__
from possync.retail import basket, item_search
from possync.retail.schema import store
from possync.sync.db import read_tx, write_tx
from possync.terminal import modes
from possync.terminal.local import Terminal
from possync.terminal.lockout import PinLockout
from possync.terminal.operations import Operations
from possync.terminal.web import basket as basket_routes
from possync.terminal.web import checkout, customers, link, operations, returns, signin, today
from possync.terminal.web import discounts as discount_routes
from possync.terminal.web import drawer as drawer_routes
from possync.terminal.web import parked as parked_routes
from possync.terminal.web.context import PosState, is_htmx, redirect, render, shown_of
from possync.terminal.web.sessions import CsrfRefused, Sessions, SignInRequired, optional_session
from possync.webui import formatting, rendering
from possync.webui.limits import KIB, BodyLimit

HERE = Path(__file__).parent
STATIC_URL = "/static/pos"
# The screen only ever loads its own files: no inline script or style, no eval, no
# frames (htmx is told not to eval and not to inject its indicator style).
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
# Every form of the screen is a few short fields; the sign-in (open to anyone on
# the network) is smaller still. Bodies are refused past these before parsing.
FORM_LIMIT = 64 * KIB
SIGN_IN_LIMIT = 8 * KIB


def body_limit(path: str) -> int:
    return SIGN_IN_LIMIT if path == "/signin" else FORM_LIMIT


class ScreenHeaders:
    """Adds the security headers and ``Server-Timing: app;dur=<ms>`` (the server's
    own time for the request: what bench/bench_scan.py reports, and what the
    browser's developer tools show)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        static = scope["path"].startswith(("/static/",))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={took:.2f}".encode()))
                headers += SECURITY_HEADERS[:-1] if static else SECURITY_HEADERS
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _till(term: Terminal) -> dict[str, str]:
    till = term.till()  # refuses a terminal whose initial load is not done
    with read_tx(term.engine) as conn:
        name = conn.execute(store.select().where(store.c.store_id == till.store_id)).first()
    return {
        "store_id": till.store_id,
        "store_name": name.name if name else till.store_id,
        "terminal_id": till.terminal_id,
        "currency": till.currency,
    }


def create_app(
    data_dir: Path,
    *,
    lockout: PinLockout | None = None,
    sessions: Sessions | None = None,
) -> FastAPI:
    """The cashier's screen of the terminal in ``data_dir`` (set up and loaded). When
    the server stops, a Store Operation under way ends (a sync between two batches)."""
    term = Terminal.open(data_dir)
    till = _till(term)
    with write_tx(term.engine) as conn:  # local tables and index, never replicated
        basket.install(conn)
        item_search.install(conn)

    operations_ = Operations(term)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # pos run is stopping: let a Store Operation end cleanly, then let go of the
        # database
        await run_in_threadpool(operations_.shutdown)
        term.close()

    app = FastAPI(
        lifespan=lifespan,
        title=f"possync POS {till['terminal_id']}",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    templates = rendering.templates(
        HERE / "templates", pos_static=STATIC_URL, offline=modes.OFFLINE
    )
    formatting.install(templates.env, shown_of)  # the store's locale and time zone
    templates.env.filters["plain_error"] = link.plain_error
    app.state.pos = PosState(
        terminal=term,
        templates=templates,
        sessions=sessions or Sessions(),
        lockout=lockout or PinLockout(),
        operations=operations_,
        till=till,
    )
    rendering.mount_static(app)
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="pos-static")
    for module in (signin, basket_routes, checkout, returns, customers, operations, today):
        app.include_router(module.router)
    for module in (discount_routes, parked_routes):  # discounts, park and resume
        app.include_router(module.router)
    app.include_router(drawer_routes.router)  # cash-up: /drawer
    app.add_api_route("/favicon.ico", lambda: Response(status_code=204), include_in_schema=False)
    _install_error_pages(app)
    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(ScreenHeaders)  # outermost: a 413 carries the headers too
    return app


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: Exception) -> Response:
        if is_htmx(request):  # htmx follows HX-Redirect whatever the status
            return Response(status_code=401, headers={"HX-Redirect": "/signin"})
        return redirect(request, "/signin")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: Exception) -> Response:
        return _problem(
            request,
            403,
            "Refused",
            "This screen was out of date (its security token did not match). "
            "Nothing was changed: reload the page (F5) and try again.",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _problem(request, 422, "Invalid request", f"{where}: {first.get('msg', '')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _problem(request, exc.status_code, "Not found", str(exc.detail))


def _problem(request: Request, status: int, title: str, message: str) -> Response:
    """An error page, or for htmx an alert placed in the page's message area (so it
    never replaces the basket)."""
    if is_htmx(request):
        return HTMLResponse(
            f'<p class="notice bad" role="alert">{escape(message)}</p>',
            status_code=status,
            headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"},
        )
    return render(
        request,
        "message.html",
        optional_session(request),
        status_code=status,
        title=title,
        message=message,
    )

"""Mounting a management console on an app: what the store's console and head
office's share (accounts, sign-in, static files, body limits, security headers,
and the answers to a missing session or a forged form). Each app adds its pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from possync.webui import rendering, signin
from possync.webui.console import Console, CsrfRefused, SignInRequired
from possync.webui.headers import SecurityHeaders
from possync.webui.limits import KIB, BodyLimit

# Console forms are a few fields: 64 KiB is far more than any needs, and the
# sign-in form, the one anybody can post to, gets less. A page that takes a file
# names its own limit (``larger``).
FORM_LIMIT = 64 * KIB
SIGN_IN_LIMIT = 8 * KIB

_CSRF_PAGE = (
    "<!doctype html><title>Refused</title><p>This form was not sent by a page of this "
    "console, or your session changed. Go back, reload the page and try again.</p>"
)


def body_limits(larger: Mapping[str, int] | None = None) -> Callable[[str], int | None]:
    """The most a request body may hold on a path (None: not the console's)."""
    exceptions = dict(larger or {})

    def limit_for(path: str) -> int | None:
        if path in exceptions:
            return exceptions[path]
        if path == "/console/login":
            return SIGN_IN_LIMIT
        if path == "/console" or path.startswith("/console/"):
            return FORM_LIMIT
        return None

    return limit_for


def is_console_page(path: str) -> bool:
    return path == "/" or path == "/console" or path.startswith("/console/")


def mount(
    app: FastAPI, console: Console, *, limit_for: Callable[[str], int | None] | None = None
) -> None:
    """Mount the console's shared parts on ``app``; the caller includes its pages."""
    app.state.console = console
    rendering.mount_static(app)
    app.add_middleware(BodyLimit, limit_for=limit_for or body_limits())
    app.add_middleware(SecurityHeaders, covers=is_console_page)  # outer: 413s get them too
    app.include_router(signin.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        target = "/console/login?next=" + quote(request.url.path)
        if request.headers.get("hx-request"):  # htmx follows this header, not a 303
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return HTMLResponse(_CSRF_PAGE, status_code=403)

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

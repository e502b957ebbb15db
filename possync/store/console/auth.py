"""Signing administrators in and out, and the guard every console page uses.

The guard takes the session from its cookie and, for anything but GET/HEAD, checks
the request's CSRF token against the session's. Failed sign-ins are throttled per
user name: after five in a row, that name is refused for a minute.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from possync.store.console import accounts
from possync.store.console.app import Console, SignInRequired, console_of, redirect
from possync.sync.db import read_tx, write_tx
from possync.webui import csrf

COOKIE = "possync_console"
MAX_FAILURES = 5
LOCKOUT_SECONDS = 60.0

router = APIRouter(prefix="/console")
ConsoleApp = Annotated[Console, Depends(console_of)]


class CsrfRefused(Exception):
    pass


def _secure(request: Request, console: Console) -> bool:
    return console.settings.secure_cookies == "always" or csrf.is_https(request)


async def admin_session(request: Request, console: ConsoleApp) -> accounts.Session:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired()

    def lookup() -> accounts.Session | None:
        with read_tx(console.engine) as conn:
            return accounts.session_for(conn, token)

    session = await run_in_threadpool(lookup)
    if session is None:
        raise SignInRequired()
    if request.method not in ("GET", "HEAD") and not csrf.same(
        session.csrf_token, await csrf.submitted_token(request)
    ):
        raise CsrfRefused()
    request.state.console_session = session
    return session


Admin = Annotated[accounts.Session, Depends(admin_session)]


class Throttle:
    """Consecutive failed sign-ins per user name (in memory: a restart forgives)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}

    def locked_for(self, username: str) -> float:
        with self._lock:
            count, since = self._failures.get(username, (0, 0.0))
        left = since + LOCKOUT_SECONDS - time.monotonic()
        return left if count >= MAX_FAILURES and left > 0 else 0.0

    def failed(self, username: str) -> None:
        with self._lock:
            count, since = self._failures.get(username, (0, 0.0))
            if count >= MAX_FAILURES and time.monotonic() - since >= LOCKOUT_SECONDS:
                count = 0  # the lock-out is over: count afresh
            self._failures[username] = (count + 1, time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


def _throttle(request: Request) -> Throttle:
    """One per app (a restart forgives; so does a second server, which is fine)."""
    state = request.app.state
    if not hasattr(state, "console_throttle"):
        state.console_throttle = Throttle()
    return state.console_throttle


def _login_page(
    request: Request, console: Console, *, error: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    token = csrf.new_token()
    response = console.render(
        request,
        "signin.html",
        status=status,
        login_csrf=token,
        error=error,
        username=username,
        next=request.query_params.get("next", "/console/"),
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        token,
        path="/console/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request, console),
    )
    return response


@router.get("/login")
async def login_form(request: Request, console: ConsoleApp) -> HTMLResponse:
    return _login_page(request, console)


@router.post("/login")
async def login(
    request: Request,
    console: ConsoleApp,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=300)] = "/console/",
) -> Response:
    if not csrf.same(request.cookies.get(csrf.LOGIN_COOKIE), csrf_token):
        return _login_page(
            request,
            console,
            error="The sign-in form expired or was not sent by this site; please try again.",
            username=username,
            status=403,
        )
    locked = _throttle(request).locked_for(username)
    if locked:
        return _login_page(
            request,
            console,
            error=f"Too many failed attempts for {username}: wait {locked:.0f} seconds.",
            username=username,
            status=429,
        )

    def attempt() -> str | None:
        with write_tx(console.engine) as conn:
            if not accounts.check_password(conn, username, password):
                return None
            token, _ = accounts.open_session(conn, username)
            return token

    token = await run_in_threadpool(attempt)
    if token is None:
        _throttle(request).failed(username)
        return _login_page(
            request, console, error="Wrong user name or password.", username=username, status=401
        )
    _throttle(request).succeeded(username)
    # Only ever go on to a console page (no open redirect to another site).
    target = next if next.startswith("/console/") and not next.startswith("//") else "/console/"
    response = redirect(target)
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request, console),
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def logout(request: Request, console: ConsoleApp, _: Admin) -> Response:
    token = request.cookies.get(COOKIE, "")

    def close() -> None:
        with write_tx(console.engine) as conn:
            accounts.close_session(conn, token)

    await run_in_threadpool(close)
    response = redirect("/console/login", "Signed out.")
    response.delete_cookie(COOKIE, path="/")
    return response

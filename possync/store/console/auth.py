"""Signing administrators in and out, and the guard every console page uses.

The guard takes the session from its cookie and, for anything but GET/HEAD, checks
the request's CSRF token against the session's. Failed sign-ins are throttled (see
:class:`Throttle` and docs/security.md): per user name *and* client address with a
growing lock, and per user name over all addresses with a pace that slows guessing
down without ever locking the name out.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from possync.store.console import accounts
from possync.store.console.app import Console, SignInRequired, console_of, redirect
from possync.sync.db import read_tx, write_tx
from possync.webui import csrf

COOKIE = "possync_console"
# Per (user name, client address): MAX_FAILURES wrong passwords in a row are free,
# then the pair is locked for LOCKOUT_SECONDS, doubled by every further failure
# (one guess per lock) up to MAX_LOCKOUT_SECONDS.
MAX_FAILURES = 5
LOCKOUT_SECONDS = 60.0
MAX_LOCKOUT_SECONDS = 900.0
# Per user name, over every address (a guesser with many addresses): past
# USER_CEILING failures within USER_WINDOW seconds, sign-ins for that name are paced
# to one evaluated attempt per USER_PACE seconds. A pace, never a lock: the name
# stays usable, and addresses it signed in from before are not paced at all.
USER_CEILING = 50
USER_WINDOW = 900.0
USER_PACE = 5.0
MAX_TRACKED = 10_000  # (user, address) pairs and names remembered at most

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


@dataclass
class _Pair:
    """One (user name, client address): failures since its last success."""

    failures: int = 0  # counted when an attempt is admitted, before it is evaluated
    locked_until: float = 0.0


@dataclass(frozen=True)
class Admission:
    """The throttle's answer: ``wait`` > 0 refuses (seconds to wait, and why)."""

    wait: float = 0.0
    reason: str = ""
    stamp: float = 0.0  # the failure counted in advance, taken back on success


class Throttle:
    """Guessing limits of the console's sign-in, in the memory of the server
    process (a restart forgives; no schema change for now, see docs/security.md).

    Every attempt is counted as a failure when it is admitted, under one lock and
    before the slow password hash runs, so parallel attempts cannot all pass the
    check before any of them is counted: at most MAX_FAILURES are ever evaluated
    for one (name, address), however many arrive at once. A success takes its count
    back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._recent: dict[str, deque[float]] = {}  # per name: when its failures were
        self._paced_until: dict[str, float] = {}  # per name: the next paced slot
        self._trusted: dict[str, set[str]] = {}  # per name: addresses it signed in from

    def admit(self, username: str, address: str) -> Admission:
        now = self.clock()
        with self._lock:
            self._prune(now)
            pair = self._pairs.setdefault((username, address), _Pair())
            if pair.locked_until > now:
                return Admission(pair.locked_until - now, "address")
            recent = self._recent.setdefault(username, deque())
            while recent and recent[0] <= now - USER_WINDOW:
                recent.popleft()
            if len(recent) >= USER_CEILING and address not in self._trusted.get(username, ()):
                slot = self._paced_until.get(username, 0.0)
                if slot > now:
                    return Admission(slot - now, "name")
                self._paced_until[username] = now + USER_PACE
            pair.failures += 1
            if pair.failures >= MAX_FAILURES:
                # This attempt is still evaluated; the ones after it wait.
                doublings = min(pair.failures - MAX_FAILURES, 16)
                pair.locked_until = now + min(LOCKOUT_SECONDS * 2**doublings, MAX_LOCKOUT_SECONDS)
            recent.append(now)
            return Admission(stamp=now)

    def succeeded(self, username: str, address: str, admission: Admission) -> None:
        with self._lock:
            self._pairs.pop((username, address), None)
            recent = self._recent.get(username)
            if recent is not None:
                with contextlib.suppress(ValueError):  # already out of the window
                    recent.remove(admission.stamp)
            trusted = self._trusted.setdefault(username, set())
            if len(trusted) < 64:
                trusted.add(address)

    def _prune(self, now: float) -> None:
        """Keep memory bounded against someone cycling names or addresses: forget
        pairs that are not locked (they start afresh at 0 failures: the cost of a
        reset is MAX_TRACKED slow attempts), and names with no recent failure."""
        if len(self._pairs) >= MAX_TRACKED:
            self._pairs = {k: p for k, p in self._pairs.items() if p.locked_until > now}
        if len(self._recent) >= MAX_TRACKED:
            self._recent = {
                name: times
                for name, times in self._recent.items()
                if times and times[-1] > now - USER_WINDOW
            }
            self._paced_until = {n: t for n, t in self._paced_until.items() if t > now}
        if len(self._trusted) >= MAX_TRACKED:
            self._trusted.clear()  # only ever costs those names a pace


def _throttle(request: Request) -> Throttle:
    """One per app (a restart forgives; so does a second server process)."""
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
    address = request.client.host if request.client else "unknown"
    # Counted now, before the password hash runs: see Throttle. Nothing is awaited
    # between this check and the count, and the count is taken under a lock.
    admission = _throttle(request).admit(username, address)
    if admission.wait:
        wait = math.ceil(admission.wait)
        why = (
            f"Too many failed attempts for {username} from this address: wait {wait} seconds."
            if admission.reason == "address"
            else f"Too many failed attempts for {username} from many addresses: sign-ins for "
            f"this name are slowed down; try again in {wait} seconds."
        )
        page = _login_page(request, console, error=why, username=username, status=429)
        page.headers["Retry-After"] = str(wait)
        return page

    def attempt() -> str | None:
        with write_tx(console.engine) as conn:
            if not accounts.check_password(conn, username, password):
                return None
            token, _ = accounts.open_session(conn, username)
            return token

    token = await run_in_threadpool(attempt)
    if token is None:  # already counted
        return _login_page(
            request, console, error="Wrong user name or password.", username=username, status=401
        )
    _throttle(request).succeeded(username, address, admission)
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

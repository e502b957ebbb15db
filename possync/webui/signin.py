"""Signing administrators in and out, and the guard every console page uses (the
store console's and head office's alike).

The guard takes the session from its cookie and, for anything but GET/HEAD, checks
the request's CSRF token against the session's. Failed sign-ins are throttled (see
:class:`Throttle` and docs/security.md), in the console's own database: per user
name *and* client address with a growing lock, and per user name over all addresses
with a pace that slows guessing down without ever locking the name out.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from possync.sync import guess_limits
from possync.sync.db import read_tx, write_tx
from possync.webui import accounts, csrf
from possync.webui.console import (
    SESSION_COOKIE,
    Console,
    CsrfRefused,
    SignInRequired,
    console_of,
    redirect,
)

COOKIE = SESSION_COOKIE  # the store console's; a Console may name its own
# Per (user name, client address): MAX_FAILURES wrong passwords in a row are free,
# then the pair is locked for LOCKOUT_SECONDS, doubled by every further failure
# (one guess per lock) up to MAX_LOCKOUT_SECONDS.
MAX_FAILURES = 5
LOCKOUT_SECONDS = 60.0
MAX_LOCKOUT_SECONDS = 900.0
# Per user name, over every address (a guesser with many addresses): past
# USER_CEILING failures within a window of USER_WINDOW seconds from its first,
# sign-ins for that name are paced to one evaluated attempt per USER_PACE seconds.
# A pace, never a lock: the name stays usable, and addresses it signed in from
# before are not paced at all.
USER_CEILING = 50
USER_WINDOW = 900.0
USER_PACE = 5.0

router = APIRouter(prefix="/console")
ConsoleApp = Annotated[Console, Depends(console_of)]


def _secure(request: Request, console: Console) -> bool:
    return console.settings.secure_cookies == "always" or csrf.is_https(request)


def signed_in_session(request: Request, console: ConsoleApp) -> accounts.Session:
    """The session of the request's cookie, looked up in the console's database."""
    token = request.cookies.get(console.session_cookie)
    if not token:
        raise SignInRequired()
    with read_tx(console.engine) as conn:
        session = accounts.session_for(conn, token)
    if session is None:
        raise SignInRequired()
    return session


async def admin_session(
    request: Request, session: Annotated[accounts.Session, Depends(signed_in_session)]
) -> accounts.Session:
    """The signed-in session; for anything but GET/HEAD, only with its CSRF token.
    Async because the token may be in the form, which is read by awaiting it."""
    if request.method not in ("GET", "HEAD") and not csrf.same(
        session.csrf_token, await csrf.submitted_token(request)
    ):
        raise CsrfRefused()
    request.state.console_session = session
    return session


Admin = Annotated[accounts.Session, Depends(admin_session)]


@dataclass(frozen=True)
class Admission:
    """The throttle's answer: ``wait`` > 0 refuses (seconds to wait, and why)."""

    wait: float = 0.0
    reason: str = ""
    stamp: float = 0.0  # the name's window when its failure was counted in advance


PAIR, NAME, KNOWN = "console-pair", "console-name", "console-known"
QUIET_DAYS = 1  # a (name, address) or a name with no failure for a day is forgotten
KNOWN_DAYS = 90  # an address a name signed in from stays "known" this long


class Throttle:
    """Guessing limits of the console's sign-in, kept in the console's database
    (``guess_limit``, see possync/sync/guess_limits.py): a restart of the server
    forgives nothing, and every server process on the database counts together.

    Every attempt is counted as a failure when it is admitted, in one transaction
    that locks its rows, before the slow password hash runs, so parallel attempts,
    from one process or several, cannot all pass the check before any of them is
    counted: at most MAX_FAILURES are ever evaluated for one (name, address),
    however many arrive at once. A success takes its count back."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock  # wall time: the counts outlive the process
        self._pruning = guess_limits.Pruning(
            {
                PAIR: QUIET_DAYS * guess_limits.DAY,
                NAME: QUIET_DAYS * guess_limits.DAY,
                KNOWN: KNOWN_DAYS * guess_limits.DAY,
            }
        )

    def admit(self, username: str, address: str) -> Admission:
        pair_key = guess_limits.key_of(username, address)  # in PAIR and in KNOWN
        self._pruning.tick(self.engine, self.clock())
        with write_tx(self.engine) as conn:
            pair = guess_limits.locked(conn, PAIR, [pair_key])[pair_key]
            now = self.clock()  # once the row is ours: waiting for it takes time
            if pair.locked_until > now:
                return Admission(pair.locked_until - now, "address")
            name_key = guess_limits.key_of(username)
            name = guess_limits.locked(conn, NAME, [name_key])[name_key]
            if name.window_start <= now - USER_WINDOW:
                name.failures, name.window_start = 0, now
            if name.failures >= USER_CEILING and not guess_limits.exists(conn, KNOWN, pair_key):
                # The name's next paced slot is kept in its locked_until.
                if name.locked_until > now:
                    return Admission(name.locked_until - now, "name")
                name.locked_until = now + USER_PACE
            guess_limits.lockout_admit(
                pair, now, MAX_FAILURES, LOCKOUT_SECONDS, MAX_LOCKOUT_SECONDS
            )
            name.failures += 1
            name.last_at = now
            guess_limits.save(conn, pair)
            guess_limits.save(conn, name)
            return Admission(stamp=name.window_start)

    def succeeded(self, username: str, address: str, admission: Admission) -> None:
        key = guess_limits.key_of(username, address)
        with write_tx(self.engine) as conn:
            guess_limits.forget(conn, PAIR, key)
            name_key = guess_limits.key_of(username)
            name = guess_limits.locked(conn, NAME, [name_key])[name_key]
            guess_limits.window_take_back(name, admission.stamp)
            guess_limits.save(conn, name)
            guess_limits.mark(conn, KNOWN, key, self.clock())


_MAKING_THROTTLE = threading.Lock()  # sign-ins run in the threadpool, several at once


def _throttle(request: Request, console: Console) -> Throttle:
    """One per app; its counts are in the database, shared by every process."""
    state = request.app.state
    with _MAKING_THROTTLE:
        if not hasattr(state, "console_throttle"):
            state.console_throttle = Throttle(console.engine)
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


def _stored_name(console: Console, typed: str) -> str:
    """The user name as stored, typed in any case (an exact match first: names made
    before may differ in case only); an unknown one in lower case, so that its
    failures in any case count as one."""
    names = accounts.console_admin.c.username
    with read_tx(console.engine) as conn:
        found = conn.execute(
            sa.select(names)
            .where(sa.func.lower(names) == typed.lower())
            .order_by(names != typed, names)
            .limit(1)
        ).scalar()
    return str(found) if found is not None else typed.lower()


@router.get("/login")
def login_form(request: Request, console: ConsoleApp) -> HTMLResponse:
    return _login_page(request, console)


def _open_session(console: Console, username: str, password: str) -> str | None:
    """A new session's cookie token, or None for a wrong user name or password."""
    with write_tx(console.engine) as conn:
        if not accounts.check_password(conn, username, password):
            return None
        token, _ = accounts.open_session(conn, username)
        return token


@router.post("/login")
def login(
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
    typed, username = username, _stored_name(console, username)
    # Counted now, before the password hash runs, in one transaction that locks the
    # counts (see Throttle): parallel attempts cannot all pass before one is counted.
    throttle = _throttle(request, console)
    admission = throttle.admit(username, address)
    if admission.wait:
        wait = math.ceil(admission.wait)
        why = (
            f"Too many failed attempts for {username} from this address: wait {wait} seconds."
            if admission.reason == "address"
            else f"Too many failed attempts for {username} from many addresses: sign-ins for "
            f"this name are slowed down; try again in {wait} seconds."
        )
        page = _login_page(request, console, error=why, username=typed, status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    token = _open_session(console, username, password)
    if token is None:  # already counted
        return _login_page(
            request, console, error="Wrong user name or password.", username=typed, status=401
        )
    throttle.succeeded(username, address, admission)
    # Only ever go on to a console page (no open redirect to another site).
    target = next if next.startswith("/console/") and not next.startswith("//") else "/console/"
    response = redirect(target)
    response.set_cookie(
        console.session_cookie,
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
def logout(request: Request, console: ConsoleApp, _: Admin) -> Response:
    with write_tx(console.engine) as conn:
        accounts.close_session(conn, request.cookies.get(console.session_cookie, ""))
    response = redirect("/console/login", "Signed out.")
    response.delete_cookie(console.session_cookie, path="/")
    return response

"""Cashier sessions and CSRF checks of the cashier's screen.

A session lives in the memory of the ``pos run`` process (restarting it signs
everyone out; baskets stay, they are in the database). Its id travels in a cookie
that is HttpOnly, SameSite=Strict, and Secure when the screen is reached over HTTPS.
Every POST must carry the session's CSRF token (the ``x-csrf-token`` header that
htmx sends, or the ``csrf_token`` form field); the sign-in form, before there is a
session, uses a double-submit cookie (see possync/webui/csrf.py).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from possync.webui import csrf

COOKIE = "possync_pos_session"
# Not webui's LOGIN_COOKIE: cookies do not tell ports apart, and the store console
# on the same host has its own.
LOGIN_COOKIE = "possync_pos_login_csrf"
IDLE_TIMEOUT = 12 * 3600.0  # seconds: a shift; after that, sign in again


class SignInRequired(Exception):
    """No valid session: the cashier must sign in."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


@dataclass
class CashierSession:
    token: str
    cashier_id: str
    name: str
    csrf: str
    last_seen: float
    # The last document made, for its receipt page: the change due is known only
    # when the sale is made (cash is recorded net of it).
    last_document: dict[str, Any] = field(default_factory=dict)
    flash: str | None = None  # a message for the next page

    def take_flash(self) -> str | None:
        message, self.flash = self.flash, None
        return message


class Sessions:
    def __init__(
        self, idle_timeout: float = IDLE_TIMEOUT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._sessions: dict[str, CashierSession] = {}
        self._lock = threading.Lock()

    def create(self, cashier_id: str, name: str) -> CashierSession:
        session = CashierSession(
            secrets.token_urlsafe(32), cashier_id, name, csrf.new_token(), self.clock()
        )
        with self._lock:
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> CashierSession | None:
        if not token:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.last_seen > self.idle_timeout:
                del self._sessions[token]
                return None
            session.last_seen = now
            return session

    def end(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)


def _sessions(request: Request) -> Sessions:
    return request.app.state.pos.sessions


def optional_session(request: Request) -> CashierSession | None:
    return _sessions(request).get(request.cookies.get(COOKIE))


async def signed_in(request: Request) -> CashierSession:
    """The cashier's session; for a POST, only with its CSRF token."""
    session = optional_session(request)
    if session is None:
        raise SignInRequired
    if request.method not in ("GET", "HEAD") and not csrf.same(
        session.csrf, await csrf.submitted_token(request)
    ):
        raise CsrfRefused
    return session


Cashier = Annotated[CashierSession, Depends(signed_in)]


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=csrf.is_https(request),
        path="/",
    )

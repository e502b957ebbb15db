"""Signing the store's administrators in and out, and the guard its pages use:
the sign-in every console shares (possync/webui/signin.py), with its guessing
limits, named here for the store's page modules and tests."""

from __future__ import annotations

from possync.webui.console import CsrfRefused
from possync.webui.signin import (
    COOKIE,
    LOCKOUT_SECONDS,
    MAX_FAILURES,
    MAX_LOCKOUT_SECONDS,
    USER_CEILING,
    USER_PACE,
    USER_WINDOW,
    Admin,
    Admission,
    ConsoleApp,
    Throttle,
    admin_session,
    router,
)

__all__ = [
    "COOKIE",
    "LOCKOUT_SECONDS",
    "MAX_FAILURES",
    "MAX_LOCKOUT_SECONDS",
    "USER_CEILING",
    "USER_PACE",
    "USER_WINDOW",
    "Admin",
    "Admission",
    "ConsoleApp",
    "CsrfRefused",
    "Throttle",
    "admin_session",
    "router",
]

"""The store console's administrators and sessions: the accounts every console
shares (possync/webui/accounts.py), kept in the store's database. Named here so
the store's commands and tests find them beside the rest of its console."""

from __future__ import annotations

from possync.webui.accounts import (
    MIN_PASSWORD,
    SESSION_LIFETIME,
    AccountError,
    Session,
    add_admin,
    check_password,
    check_username,
    close_session,
    console_admin,
    console_session,
    open_session,
    session_for,
)

__all__ = [
    "MIN_PASSWORD",
    "SESSION_LIFETIME",
    "AccountError",
    "Session",
    "add_admin",
    "check_password",
    "check_username",
    "close_session",
    "console_admin",
    "console_session",
    "open_session",
    "session_for",
]

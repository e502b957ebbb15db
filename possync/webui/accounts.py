"""Console administrators and their sign-in sessions, kept in the database of the
server whose console they sign in to (a store's, or head office's).

Passwords are hashed with argon2id. A session is a random token in an HttpOnly
cookie; only its SHA-256 is stored, so a copy of the database does not let anyone
in. Each session carries its own CSRF token. Nothing here replicates: a store's
administrators are its own, head office's are head office's, and none of them ever
opens the sync API (stores and terminals use their secrets).

The tables are part of every database's schema: a new database gets them from
``install`` (called by possync.retail.database.install), an older one from
migration 0012. Nothing makes them when a console starts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from possync.sync.clock import utc_now

metadata = sa.MetaData()

console_admin = sa.Table(
    "console_admin",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("last_sign_in_at", sa.String(32)),
)

console_session = sa.Table(
    "console_session",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
)

SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id, the library's recommended parameters
# Verifying against this keeps an unknown user as slow as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Exception):
    """A refusal an administrator can act on."""


@dataclass(frozen=True)
class Session:
    username: str
    csrf_token: str


def install(conn: sa.Connection) -> None:
    """Make the tables where they are missing: run by possync.retail.database.install,
    in the transaction that creates a database (and again, harmlessly, on an existing
    one), never by a starting console."""
    metadata.create_all(conn)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_username(name: str) -> None:
    if not 1 <= len(name) <= 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise AccountError("a user name is 1 to 64 letters, digits or . _ - @")


def add_admin(conn: sa.Connection, username: str, password: str) -> None:
    """Add an administrator, or set a new password for an existing one."""
    check_username(username)
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    hashed = _hasher.hash(password)
    done = conn.execute(
        console_admin.update()
        .where(console_admin.c.username == username)
        .values(password_hash=hashed)
    )
    if done.rowcount == 0:
        conn.execute(
            console_admin.insert().values(
                username=username, password_hash=hashed, created_at=utc_now()
            )
        )
    else:  # a new password ends the sessions opened with the old one
        conn.execute(console_session.delete().where(console_session.c.username == username))


def check_password(conn: sa.Connection, username: str, password: str) -> bool:
    row = conn.execute(
        sa.select(console_admin.c.password_hash).where(console_admin.c.username == username)
    ).first()
    try:
        return _hasher.verify(row.password_hash if row else _DUMMY_HASH, password) and bool(row)
    except (VerificationError, InvalidHashError):
        return False


def open_session(conn: sa.Connection, username: str) -> tuple[str, Session]:
    """A new session; returns the cookie token (never stored) and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(console_session.delete().where(console_session.c.expires_at < now.isoformat()))
    conn.execute(
        console_session.insert().values(
            token_hash=_digest(token),
            username=username,
            csrf_token=csrf,
            expires_at=(now + SESSION_LIFETIME).isoformat(),
        )
    )
    conn.execute(
        console_admin.update()
        .where(console_admin.c.username == username)
        .values(last_sign_in_at=utc_now())
    )
    return token, Session(username, csrf)


def session_for(conn: sa.Connection, token: str) -> Session | None:
    row = conn.execute(
        sa.select(console_session).where(
            console_session.c.token_hash == _digest(token),
            console_session.c.expires_at > datetime.now(UTC).isoformat(),
        )
    ).first()
    return Session(row.username, row.csrf_token) if row else None


def close_session(conn: sa.Connection, token: str) -> None:
    conn.execute(console_session.delete().where(console_session.c.token_hash == _digest(token)))

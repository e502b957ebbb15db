"""Counting failed attempts at something guessable, in the database (issue 11).

One row of ``guess_limit`` per (scope, key): a console user name and client
address, a cashier id, a registration code... Its counts live in the database, not
in the memory of a server process, so a restart forgives nothing, and every process
that shares the database counts together.

Race-free: :func:`locked` creates the rows it is asked for if they are missing and
locks them until the transaction ends (PostgreSQL: ``INSERT ... ON CONFLICT DO
NOTHING``, then ``SELECT ... FOR UPDATE``; SQLite: possync's write transactions
begin with ``BEGIN IMMEDIATE``, which holds the database's write lock). The caller
decides and writes back in the same transaction, so two processes cannot both read
a count under the limit and both go on. Attempts are counted when they are
admitted, before the slow check (a hash, a code) runs; a success takes its count
back. The policies here are pure functions of a row and the time, which the
callers compose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from possync.sync.db import write_tx
from possync.sync.schema import guess_limit

MAX_KEY = 200  # the column's width; longer keys keep a prefix and a digest of the rest
PRUNE_EVERY = 500  # admissions between two clean-ups, per policy object
DAY = 86400.0


def key_of(*parts: str) -> str:
    """One key from several parts (a user name and an address), never ambiguous."""
    key = "\x1f".join(parts)
    if len(key) <= MAX_KEY:
        return key
    return key[:150] + "#" + hashlib.sha256(key.encode()).hexdigest()[:48]


@dataclass
class Count:
    """One row: the failures counted under a key, and the locks and windows of
    whichever policy uses its scope."""

    scope: str
    key: str
    failures: int = 0
    locked_until: float = 0.0
    window_start: float = 0.0
    last_at: float = 0.0


def locked(conn: sa.Connection, scope: str, keys: Iterable[str]) -> dict[str, Count]:
    """The rows of ``keys`` (made if missing, at 0), locked until the transaction
    ends. Keys are locked in sorted order so that two transactions never wait for
    each other's rows (no deadlock)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(guess_limit).on_conflict_do_nothing(),
        [{"scope": scope, "key": k, "failures": 0} for k in wanted],
    )
    g = guess_limit.c
    rows = conn.execute(
        sa.select(guess_limit)
        .where(g.scope == scope, g.key.in_(wanted))
        .order_by(g.key)
        .with_for_update()
    ).all()
    return {
        r.key: Count(r.scope, r.key, r.failures, r.locked_until, r.window_start, r.last_at)
        for r in rows
    }


def save(conn: sa.Connection, count: Count) -> None:
    g = guess_limit.c
    conn.execute(
        guess_limit.update()
        .where(g.scope == count.scope, g.key == count.key)
        .values(
            failures=count.failures,
            locked_until=count.locked_until,
            window_start=count.window_start,
            last_at=count.last_at,
        )
    )


def forget(conn: sa.Connection, scope: str, key: str) -> None:
    g = guess_limit.c
    conn.execute(guess_limit.delete().where(g.scope == scope, g.key == key))


def exists(conn: sa.Connection, scope: str, key: str) -> bool:
    g = guess_limit.c
    found = conn.execute(sa.select(g.key).where(g.scope == scope, g.key == key)).first()
    return found is not None


def mark(conn: sa.Connection, scope: str, key: str, now: float) -> None:
    """Remember ``key`` (a fact, not a count: an address a user signed in from)."""
    row = locked(conn, scope, [key])[key]
    row.last_at = now
    save(conn, row)


def prune(conn: sa.Connection, scope: str, quiet_since: float, now: float) -> int:
    """Forget the rows of ``scope`` with no attempt since ``quiet_since`` and no
    lock running: what someone cycling through names or addresses leaves behind."""
    g = guess_limit.c
    gone = conn.execute(
        guess_limit.delete().where(g.scope == scope, g.last_at < quiet_since, g.locked_until <= now)
    )
    return gone.rowcount or 0


class Pruning:
    """Calls :func:`prune` for some scopes every PRUNE_EVERY admissions of this
    process, in a transaction of its own (never while holding a count's lock)."""

    def __init__(self, quiet_seconds: dict[str, float]) -> None:
        self.quiet_seconds = quiet_seconds  # per scope: how long a row must be quiet
        self._admissions = 0

    def tick(self, engine: sa.Engine, now: float) -> None:
        self._admissions += 1  # a lost increment under threads only delays a clean-up
        if self._admissions % PRUNE_EVERY:
            return
        with write_tx(engine) as conn:
            for scope, quiet in self.quiet_seconds.items():
                prune(conn, scope, now - quiet, now)


# -- policies: pure functions of one row and the time ------------------------------


def lockout_admit(
    row: Count, now: float, max_failures: int, lock_seconds: float, max_lock_seconds: float = 0.0
) -> float:
    """Seconds the key stays locked (the attempt is refused, nothing counted), or 0:
    the attempt is counted and may be checked. The attempt that reaches
    ``max_failures`` starts the lock and is still checked. With ``max_lock_seconds``
    the lock grows: each failure after it (one per lock) doubles it, up to that
    bound; without, the count starts again after each lock."""
    if row.locked_until > now:
        return row.locked_until - now
    row.failures += 1
    row.last_at = now
    if row.failures >= max_failures:
        if max_lock_seconds:
            doublings = min(row.failures - max_failures, 16)
            row.locked_until = now + min(lock_seconds * 2**doublings, max_lock_seconds)
        else:
            row.failures = 0
            row.locked_until = now + lock_seconds
    return 0.0


def window_admit(row: Count, now: float, max_failures: int, window: float) -> float:
    """A fixed window from the first failure: at most ``max_failures`` counted
    within ``window`` seconds. Seconds until the window ends (refused, nothing
    counted), or 0: counted."""
    if row.window_start <= now - window:
        row.failures = 0
        row.window_start = now
    if row.failures >= max_failures:
        return row.window_start + window - now
    row.failures += 1
    row.last_at = now
    return 0.0


def window_take_back(row: Count, stamp: float) -> None:
    """A success takes back the failure counted in advance, if its window is still
    the one running (``stamp``: the window_start when it was counted)."""
    if row.window_start == stamp and row.failures > 0:
        row.failures -= 1

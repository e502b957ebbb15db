"""Locking a cashier id out after repeated wrong PINs.

PINs are short (4 to 12 digits), so the hash alone does not stop someone at the
till from trying them all: after ``max_failures`` wrong PINs in a row for one
cashier id, that id is refused for ``lock_seconds``, even with the right PIN. Ids
that do not exist lock the same way, so trying ids reveals nothing.

The counts are kept in the till's database (``guess_limit``, see
possync/sync/guess_limits.py), never replicated: restarting ``pos run`` forgives
nothing. An attempt is counted when it is admitted, in a transaction that holds the
database's write lock, before the PIN's hash is checked, so racing requests cannot
all pass the check before any of them is counted: at most ``max_failures`` PINs are
ever checked per lock period. The lock is per cashier id, not per client address:
the screen is meant for the till itself (loopback), where every request has the
same address.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from possync.sync import guess_limits
from possync.sync.db import read_tx, write_tx

MAX_FAILURES = 5
LOCK_SECONDS = 300.0
SCOPE = "pin"
QUIET_DAYS = 1  # an id with no wrong PIN for a day starts afresh


class PinLockout:
    """The policy; the counts are in the database passed to each call."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        lock_seconds: float = LOCK_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self.clock = clock  # wall time: the counts outlive the process
        self._pruning = guess_limits.Pruning({SCOPE: QUIET_DAYS * guess_limits.DAY})

    def locked_for(self, engine: sa.Engine, cashier_id: str) -> float:
        """Seconds this id stays locked (0: it may try)."""
        g = guess_limits.guess_limit.c
        with read_tx(engine) as conn:
            until = conn.execute(
                sa.select(g.locked_until).where(g.scope == SCOPE, g.key == _key(cashier_id))
            ).scalar()
        return max((until or 0.0) - self.clock(), 0.0)

    def admit(self, engine: sa.Engine, cashier_id: str) -> float:
        """Seconds this id stays locked (the attempt is refused), or 0: the attempt
        may be checked, and is already counted as a failure (``succeeded`` takes it
        back). The attempt that reaches ``max_failures`` starts the lock and is still
        checked; the ones after it are refused."""
        key = _key(cashier_id)
        self._pruning.tick(engine, self.clock())
        with write_tx(engine) as conn:
            row = guess_limits.locked(conn, SCOPE, [key])[key]
            now = self.clock()  # once the row is ours: waiting for it takes time
            wait = guess_limits.lockout_admit(row, now, self.max_failures, self.lock_seconds)
            if not wait:
                guess_limits.save(conn, row)
            return wait

    def succeeded(self, engine: sa.Engine, cashier_id: str) -> None:
        with write_tx(engine) as conn:
            guess_limits.forget(conn, SCOPE, _key(cashier_id))


def _key(cashier_id: str) -> str:
    return guess_limits.key_of(cashier_id)

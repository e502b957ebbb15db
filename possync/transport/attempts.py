"""Limits on guessing registration codes (``POST /api/v1/register``), in the
database (``guess_limit``, see possync/sync/guess_limits.py).

* Per client address and per node id, 10 failures a minute (a window from the
  first failure), then 429 ``too_many_attempts`` with Retry-After.
* Per pending code, 5 failures: the code is void (cleared from ``sync_peer``, with
  why in the terminal's ``last_error``, which the dashboard and ``store status``
  show); the administrator issues a new one (``store terminal add`` again). Counted
  under (node id, the code's hash), so a new code starts afresh; a node without a
  code (unknown, or its code void) under (node id, ""), so the answers tell nothing
  about which ids exist.

Every attempt is counted when it is admitted, in one transaction that locks its
rows, before the code is checked: parallel attempts, from one server process or
several, cannot all pass before any is counted. A success takes its counts back.
A restart of the server forgives nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from possync.sync import guess_limits
from possync.sync.clock import utc_now
from possync.sync.db import write_tx
from possync.sync.schema import sync_peer

WINDOW_SCOPE, CODE_SCOPE = "register", "register-code"
MAX_FAILURES, WINDOW = 10, 60.0  # per client address and per node id
CODE_FAILURES = 5  # wrong codes for one pending code before it is void
QUIET_DAYS = 1  # a window quiet for a day is forgotten
# A code's count is kept longer than a code lives (7 days), so that waiting cannot
# buy more tries at one code.
CODE_DAYS = 8


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class CodeVoided(Exception):
    """Too many wrong codes for this node: its code is void (or, for an id that has
    none, would be), and only a new one from the administrator helps."""


@dataclass(frozen=True)
class Admitted:
    keys: tuple[str, ...]
    stamps: dict[str, float]  # per key, the window its failure was counted in


class FailureWindow:
    """At most ``max_failures`` within ``window`` seconds per key, counted in the
    caller's write transaction."""

    def __init__(
        self,
        scope: str = WINDOW_SCOPE,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scope = scope
        self.max_failures = max_failures
        self.window = window
        self.clock = clock  # wall time: the counts outlive the process

    def admit(self, conn: sa.Connection, *keys: str) -> Admitted:
        """Count an attempt under every key, or raise TooManyFailures (counting
        nothing) if one of them is over its limit."""
        keys = tuple(guess_limits.key_of(k) for k in keys)
        rows = guess_limits.locked(conn, self.scope, keys)
        now = self.clock()  # once the rows are ours: waiting for them takes time
        waits = [
            guess_limits.window_admit(rows[k], now, self.max_failures, self.window) for k in keys
        ]
        if max(waits) > 0:
            raise TooManyFailures(max(math.ceil(max(waits)), 1))  # rolled back: nothing counted
        for key in keys:
            guess_limits.save(conn, rows[key])
        return Admitted(keys, {k: rows[k].window_start for k in keys})

    def succeeded(self, conn: sa.Connection, admitted: Admitted) -> None:
        rows = guess_limits.locked(conn, self.scope, admitted.keys)
        for key in admitted.keys:
            guess_limits.window_take_back(rows[key], admitted.stamps[key])
            guess_limits.save(conn, rows[key])


@dataclass(frozen=True)
class Attempt:
    node: str
    code_hash: str | None  # the pending code when the attempt was admitted
    code_key: str
    code_failures: int  # counted with this one
    window: Admitted


class RegistrationGuard:
    """Both limits, for one store database (shared by its server processes)."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.window = FailureWindow(clock=clock)
        self._pruning = guess_limits.Pruning(
            {WINDOW_SCOPE: QUIET_DAYS * guess_limits.DAY, CODE_SCOPE: CODE_DAYS * guess_limits.DAY}
        )

    def admit(self, node: str, client: str) -> Attempt:
        """Count the attempt, or raise CodeVoided or TooManyFailures (nothing counted)."""
        self._pruning.tick(self.engine, self.window.clock())
        with write_tx(self.engine) as conn:
            pending = conn.execute(
                sa.select(sync_peer.c.code_hash).where(
                    sync_peer.c.node_id == node, sync_peer.c.relation == "child"
                )
            ).scalar()
            code_key = guess_limits.key_of(node, pending or "")
            codes = guess_limits.locked(conn, CODE_SCOPE, [code_key])[code_key]
            if codes.failures >= CODE_FAILURES:
                raise CodeVoided(
                    f"too many wrong codes for {node}: ask the store's administrator for a "
                    "new registration code"
                )
            admitted = self.window.admit(conn, f"addr:{client}", f"node:{node}")
            codes.failures += 1
            codes.last_at = self.window.clock()
            guess_limits.save(conn, codes)
        return Attempt(node, pending, code_key, codes.failures, admitted)

    def failed(self, attempt: Attempt) -> None:
        """The code was wrong: the attempt that used the last try voids the code."""
        if attempt.code_failures < CODE_FAILURES or attempt.code_hash is None:
            return
        with write_tx(self.engine) as conn:
            conn.execute(
                sync_peer.update()
                .where(
                    sync_peer.c.node_id == attempt.node,
                    sync_peer.c.code_hash == attempt.code_hash,  # not a newer code
                )
                .values(
                    code_hash=None,
                    code_expires_at=None,
                    last_error=f"registration code void after {CODE_FAILURES} wrong codes: "
                    f"issue a new one (possync store terminal add {attempt.node})",
                    last_error_at=utc_now(),
                )
            )
            # Without a code the node is counted under (node, ""): full at once, or the
            # void code would give the guessers five more tries against nothing.
            none_key = guess_limits.key_of(attempt.node, "")
            after = guess_limits.locked(conn, CODE_SCOPE, [none_key])[none_key]
            after.failures = max(after.failures, CODE_FAILURES)
            after.last_at = self.window.clock()
            guess_limits.save(conn, after)

    def succeeded(self, attempt: Attempt) -> None:
        with write_tx(self.engine) as conn:
            # Rows locked in the order admit locks them (code, then window): two
            # transactions never wait for each other (no deadlock on PostgreSQL).
            codes = guess_limits.locked(conn, CODE_SCOPE, [attempt.code_key])[attempt.code_key]
            codes.failures = max(codes.failures - 1, 0)
            guess_limits.save(conn, codes)
            self.window.succeeded(conn, attempt.window)

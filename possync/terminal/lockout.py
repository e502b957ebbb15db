"""Locking a cashier id out after repeated wrong PINs.

PINs are short (4 to 12 digits), so the hash alone does not stop someone at the
till from trying them all: after ``max_failures`` wrong PINs in a row for one
cashier id, that id is refused for ``lock_seconds``, even with the right PIN. Ids
that do not exist lock the same way, so trying ids reveals nothing. The counts live
in the memory of the ``pos run`` process (a restart clears them; a till cannot be
restarted from its screen; no schema change for now, see docs/security.md).

An attempt is counted when it is admitted, under one lock and before the PIN's
hash is checked, so racing requests cannot all pass the check before any of them
is counted: at most ``max_failures`` PINs are ever checked per lock period.
The lock is per cashier id, not per client address: the screen is meant for the
till itself (loopback), where every request has the same address.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_FAILURES = 5
LOCK_SECONDS = 300.0
MAX_TRACKED = 10_000  # ids remembered at most (someone typing random ids)


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class PinLockout:
    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        lock_seconds: float = LOCK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def locked_for(self, cashier_id: str) -> float:
        """Seconds this id stays locked (0: it may try)."""
        with self._lock:
            record = self._records.get(cashier_id)
            return max(record.locked_until - self.clock(), 0.0) if record else 0.0

    def admit(self, cashier_id: str) -> float:
        """Seconds this id stays locked (the attempt is refused), or 0: the attempt
        may be checked, and is already counted as a failure (``succeeded`` takes it
        back). The attempt that reaches ``max_failures`` starts the lock and is still
        checked; the ones after it are refused."""
        with self._lock:
            now = self.clock()
            if len(self._records) >= MAX_TRACKED:
                self._records = {k: r for k, r in self._records.items() if r.locked_until > now}
            record = self._records.setdefault(cashier_id, _Record())
            if record.locked_until > now:
                return record.locked_until - now
            record.failures += 1
            if record.failures >= self.max_failures:
                record.failures = 0
                record.locked_until = now + self.lock_seconds
            return 0.0

    def succeeded(self, cashier_id: str) -> None:
        with self._lock:
            self._records.pop(cashier_id, None)

"""Counting failed attempts of something guessable (registration codes), in memory.

A sliding window per key (a client address, a node id): once a key has
``max_failures`` failures within ``window`` seconds, attempts under it are refused
until the oldest leaves the window. An attempt is counted as a failure when it is
admitted, under one lock and before the guess is checked, so parallel attempts
cannot all pass before any is counted; a success takes its count back.

In the memory of the server process: a restart forgives, and two server processes
count apart (no schema change for now; see docs/security.md).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 10_000  # keys remembered at most
MAX_KEY = 100  # characters of a key kept (a node id is far shorter)


@dataclass(frozen=True)
class Admitted:
    keys: tuple[str, ...]
    stamp: float


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class FailureWindow:
    def __init__(
        self,
        max_failures: int = 10,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def admit(self, *keys: str) -> Admitted:
        """Count an attempt under every key, or raise TooManyFailures (counting
        nothing) if one of them is over its limit."""
        keys = tuple(k[:MAX_KEY] for k in keys)
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._failures = {
                    k: d for k, d in self._failures.items() if d and d[-1] > now - self.window
                }
            wait = 0.0
            for key in keys:
                failures = self._failures.get(key)
                while failures and failures[0] <= now - self.window:
                    failures.popleft()
                if failures and len(failures) >= self.max_failures:
                    wait = max(wait, failures[0] + self.window - now)
            if wait > 0:
                raise TooManyFailures(max(math.ceil(wait), 1))
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
        return Admitted(keys, now)

    def succeeded(self, admitted: Admitted) -> None:
        with self._lock:
            for key in admitted.keys:
                failures = self._failures.get(key)
                if failures is not None:
                    with contextlib.suppress(ValueError):  # already out of the window
                        failures.remove(admitted.stamp)

"""When a child syncs next: a regular interval while its parent answers,
exponential backoff with full jitter while it does not. No I/O, no sleeping: the
agent asks for the next delay and does the waiting itself."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class SyncSchedule:
    interval: float = 60.0  # seconds between syncs while all is well
    first_retry: float = 2.0  # the backoff starts here...
    max_delay: float = 300.0  # ...and never waits longer than this
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def after_success(self) -> float:
        self.failures = 0
        return self.interval

    def after_failure(self) -> float:
        """Full jitter: uniform in [0, min(max, first * 2^n)], so that the terminals
        of a store coming back do not all knock at the same instant."""
        self.failures += 1
        ceiling = min(self.max_delay, self.first_retry * 2 ** (self.failures - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def after_suspension(self, retry_after: float) -> float:
        """The store said it suspended our sync for ``retry_after`` seconds: come
        back then (checking at least every interval, in case it is resumed), with a
        little jitter so that the terminals of one store do not all come at once."""
        self.failures = 0
        return min(max(retry_after, 1.0), self.interval) + self.rng.uniform(0, 1.0)

    def after_busy(self) -> float:
        """Another sync of this terminal was running (a manual one): just wait."""
        return self.interval

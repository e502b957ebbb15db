from __future__ import annotations

import random

from possync.sync.schedule import SyncSchedule


def test_backoff_grows_with_jitter_is_capped_and_resets_after_success() -> None:
    schedule = SyncSchedule(interval=60, first_retry=2, max_delay=30, rng=random.Random(1))
    delays = [schedule.after_failure() for _ in range(8)]
    ceilings = [2, 4, 8, 16, 30, 30, 30, 30]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 6) for d in delays[4:]}) == 4  # jittered, not one fixed value
    assert schedule.after_success() == 60
    assert schedule.after_failure() <= 2


def test_two_terminals_do_not_retry_in_lockstep() -> None:
    a = SyncSchedule(rng=random.Random(1))
    b = SyncSchedule(rng=random.Random(2))
    assert [a.after_failure() for _ in range(5)] != [b.after_failure() for _ in range(5)]

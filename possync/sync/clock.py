"""Wall-clock timestamps, for people to read. Never used to order changes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_in(seconds: float) -> str:
    """The instant ``seconds`` from now, formatted like :func:`utc_now`."""
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_until(stamp: str) -> int:
    """Whole seconds from now until ``stamp`` (rounded up; 0 if it has passed)."""
    left = (datetime.fromisoformat(stamp) - datetime.now(UTC)).total_seconds()
    return max(math.ceil(left), 0)


def seconds_since(stamp: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()

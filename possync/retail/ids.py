"""Ids of records made where the record is created (receipts, movements, customers).

UUIDs in the version-7 layout (RFC 9562): the first 48 bits are the creation time in
milliseconds, the rest random. They are unique without coordination like any random
UUID, and roughly time-ordered, so a store's indexes take new rows at one end
instead of all over (random ids made each batch commit touch pages across the whole
index). The time is only for that locality: nothing is ordered by it.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION = 0x7 << 76
_VARIANT = 0x2 << 62


def new_id() -> str:
    millis = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | _VERSION
    value = (value & ~(0x3 << 62)) | _VARIANT
    return str(uuid.UUID(int=value))

from __future__ import annotations

import time
import uuid

from possync.retail.ids import new_id


def test_ids_are_version_7_uuids_unique_and_time_ordered() -> None:
    first = [new_id() for _ in range(1000)]
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == 1000
    parsed = uuid.UUID(later)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert max(first) < later  # a later millisecond sorts after

"""Pushes of one child handled side by side by the parent (turns.py): a batch that
gets ahead of the one before it waits for it while that one is being handled in the
same process, and is applied after it, once; with nothing to wait for, a gap is
refused at once, as before."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from possync.sync.batch import Batch
from possync.sync.db import write_tx
from possync.sync.errors import BadBatch, OutOfSequence
from tests.sync.toy import Pair, event, rows, wire


@pytest.fixture
def pair(db_url: str, tmp_path: Path) -> Pair:
    return Pair(db_url, f"sqlite:///{tmp_path / 'child.db'}")


def two_batches(pair: Pair) -> tuple[Batch, Batch]:
    with write_tx(pair.child_engine) as conn:
        conn.execute(
            event.insert(),
            [{"event_id": str(uuid.uuid4()), "node": "C1", "payload": f"e{i}"} for i in range(20)],
        )
    first = pair.child.outgoing(10)
    assert first is not None and first.more
    second = pair.child.outgoing(10, after=first.through)
    assert second is not None
    return first, second


def waiting(future: Future[int], seconds: float = 0.5) -> bool:
    """Whether the call is still running after ``seconds`` (it is waiting its turn)."""
    time.sleep(seconds)
    return not future.done()


def test_a_batch_ahead_of_its_predecessor_waits_and_both_apply_once(pair: Pair) -> None:
    first, second = two_batches(pair)
    # The first batch's push is being handled (its body read, say) when the second
    # reaches the apply: the second finds a gap and waits instead of being refused.
    with pair.parent.turns.handling("C1"), ThreadPoolExecutor(1) as pool:
        later = pool.submit(pair.parent.receive, pair.peer(), wire(second.to_wire()))
        assert waiting(later)
        assert rows(pair.parent_engine, event) == []
        assert pair.parent.receive(pair.peer(), wire(first.to_wire())) == first.through
        assert later.result(timeout=30) == second.through
    assert sorted(r["payload"] for r in rows(pair.parent_engine, event)) == sorted(
        f"e{i}" for i in range(20)
    )


def test_a_gap_with_nothing_in_flight_is_refused_at_once(pair: Pair) -> None:
    _, second = two_batches(pair)
    started = time.monotonic()
    with pytest.raises(OutOfSequence) as refused:
        pair.parent.receive(pair.peer(), wire(second.to_wire()))
    assert time.monotonic() - started < 5  # not the 30 s a predecessor may take
    assert refused.value.details == {"expected_after": 0}
    assert rows(pair.parent_engine, event) == []


def test_when_the_batch_before_is_refused_the_one_waiting_is_refused_too(pair: Pair) -> None:
    first, second = two_batches(pair)
    broken = wire(first.to_wire())
    broken["changes"][3]["row"]["payload"] = 12  # not text: the batch is refused whole
    with ThreadPoolExecutor(1) as pool:
        with pair.parent.turns.handling("C1"):
            later = pool.submit(pair.parent.receive, pair.peer(), wire(second.to_wire()))
            assert waiting(later)
            with pytest.raises(BadBatch):
                pair.parent.receive(pair.peer(), broken)
            # Still a gap, and another push (the stand-in above) still handled here.
            assert waiting(later, 0.2)
        # The last other push ended: nothing more can close the gap.
        with pytest.raises(OutOfSequence):
            later.result(timeout=10)
    assert rows(pair.parent_engine, event) == []

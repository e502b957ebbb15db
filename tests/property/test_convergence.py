"""Property: whatever the interleaving of writes and syncs, and whatever batches
are lost, duplicated or left unacknowledged, one clean sync at the end leaves
parent and child converged. A lost acknowledgement on a pull (the child applied
the batch, the parent never heard the next ``after``) makes the parent serve the
same batch again, which the child refuses. (Rows are compared by value here; the
counts that would show a change applied twice are in test_double_apply.py.)"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from possync.sync.db import write_tx
from possync.sync.errors import OutOfSequence
from tests.sync.toy import Pair, catalog, event, rows, shared, wire

FAULTS = ("none", "drop", "duplicate", "lose_ack")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("parent_upsert"), st.integers(1, 8), st.integers(0, 99)),
        st.tuples(st.just("parent_delete"), st.integers(1, 8), st.just(0)),
        st.tuples(st.just("child_events"), st.integers(1, 5), st.just(0)),
        st.tuples(st.just("child_shared"), st.integers(1, 3), st.just(0)),
        st.tuples(st.just("push"), st.integers(1, 6), st.sampled_from(range(len(FAULTS)))),
        st.tuples(st.just("pull"), st.integers(1, 6), st.sampled_from(range(len(FAULTS)))),
    ),
    max_size=40,
)


def step(pair: Pair, op: str, a: int, b: int) -> None:
    if op == "parent_upsert":
        with write_tx(pair.parent_engine) as conn:
            conn.execute(catalog.delete().where(catalog.c.key == a))
            conn.execute(
                catalog.insert(),
                [{"key": a, "name": f"k{a}", "price": b, "active": b % 2 == 0, "route": None}],
            )
    elif op == "parent_delete":
        with write_tx(pair.parent_engine) as conn:
            conn.execute(catalog.delete().where(catalog.c.key == a))
    elif op == "child_events":
        with write_tx(pair.child_engine) as conn:
            conn.execute(
                event.insert(),
                [{"event_id": str(uuid.uuid4()), "node": "C1", "payload": "p"} for _ in range(a)],
            )
    elif op == "child_shared":
        with write_tx(pair.child_engine) as conn:
            conn.execute(
                shared.insert(),
                [{"shared_id": str(uuid.uuid4()), "author": "C1", "text": "t"} for _ in range(a)],
            )
    elif op == "push":
        push_once(pair, a, FAULTS[b])
    else:
        pull_once(pair, a, FAULTS[b])


def push_once(pair: Pair, limit: int, fault: str) -> None:
    batch = pair.child.outgoing(limit)
    if batch is None or fault == "drop":
        return
    ack = pair.parent.receive(pair.peer(), wire(batch.to_wire()))
    if fault == "duplicate":
        assert pair.parent.receive(pair.peer(), wire(batch.to_wire())) == ack
    if fault != "lose_ack":
        pair.child.acknowledged(ack)


def pull_once(pair: Pair, limit: int, fault: str) -> None:
    batch = pair.parent.changes_for(pair.peer(), pair.child.inbound_cursor(), limit)
    if fault == "drop":
        return
    pair.child.apply_pulled(wire(batch.to_wire()))
    if fault == "duplicate" and batch.through > batch.after:
        # A batch that moved the cursor cannot be applied again: refused, no change.
        before = rows(pair.child_engine, catalog)
        with pytest.raises(OutOfSequence):
            pair.child.apply_pulled(wire(batch.to_wire()))
        assert rows(pair.child_engine, catalog) == before
    if fault == "lose_ack" and batch.through > batch.after:
        # Applied, but the next ``after`` never reaches the parent: it serves the same
        # batch again, which the child must not apply.
        assert pair.peer().outbound_seq == batch.after
        again = pair.parent.changes_for(pair.peer(), batch.after, limit)
        assert (again.after, again.through) == (batch.after, batch.through)
        before = rows(pair.child_engine, catalog)
        with pytest.raises(OutOfSequence):
            pair.child.apply_pulled(wire(again.to_wire()))
        assert rows(pair.child_engine, catalog) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_any_interleaving_with_faults_converges(script: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pair = Pair(f"sqlite:///{Path(tmp) / 'p.db'}", f"sqlite:///{Path(tmp) / 'c.db'}")
        for op, a, b in script:
            step(pair, op, a, b)
        pair.push(limit=3)
        pair.pull(limit=3)
        assert rows(pair.child_engine, catalog) == rows(pair.parent_engine, catalog)
        assert rows(pair.parent_engine, event) == rows(pair.child_engine, event)
        assert rows(pair.parent_engine, shared) == rows(pair.child_engine, shared)
        assert pair.child.pending() == 0
        pair.parent_engine.dispose()
        pair.child_engine.dispose()

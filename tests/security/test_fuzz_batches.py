"""Hypothesis over the batch decoder and the push: a genuine batch of a till (a sale
and a new customer), altered anywhere (any value replaced by any JSON, keys and
items dropped or repeated), and arbitrary JSON. The decoder returns a batch or
refuses with a SyncError, never anything else; the store applies a push or
refuses it whole, and a refused push writes nothing.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from possync.retail import customers, integrity, sales
from possync.retail.policy import admission
from possync.retail.replication import SPEC
from possync.sync.batch import BatchReader
from possync.sync.db import write_tx
from possync.sync.errors import SyncError
from possync.sync.parent import Parent
from possync.sync.tables import Direction
from possync.transport.errors import STATUS_BY_CODE
from tests.property.retail_pair import SKUS, RetailPair
from tests.security.fuzzing import Tables, Tally, differences, examples

# Values that sit on the edges of what the decoder and the database take.
NUMBERS = [0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 2**64 - 1, 1e308, -0.0, 0.5]
TEXTS = ["", " ", "\x00", "é" * 200, "S01", "S02", "T01", "T02", "I", "U", "D", "CASH"]
EDGES = st.sampled_from([*NUMBERS, *TEXTS, True, False, None, [], {}])
LEAVES = st.one_of(
    EDGES,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),  # what orjson reads
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)

Path_ = tuple[str | int, ...]


def paths(value: Any, here: Path_ = ()) -> list[Path_]:
    """Every place in a JSON value."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths(item, (*here, i))
    return found


def same_type(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        edges = st.sampled_from([n for n in NUMBERS if isinstance(n, int) and abs(n) < 2**63])
        return edges | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if isinstance(value, str):
        near = [value[:-1], value + "0", value.upper(), value.replace("T01", "T02")]
        return st.sampled_from([*TEXTS, *near]) | st.text(max_size=40)
    return JSON


@st.composite
def altered(draw: st.DrawFn, genuine: dict[str, Any]) -> Any:
    """``genuine`` with one to four alterations."""
    body: Any = copy.deepcopy(genuine)
    for _ in range(draw(st.integers(1, 4))):
        # (not the root: arbitrary JSON is drawn on its own)
        *parent_path, last = draw(st.sampled_from(paths(body)[1:]))
        parent: Any = body
        for step in parent_path:
            parent = parent[step]
        action = draw(st.sampled_from(["typed", "typed", "replace", "edge", "drop", "repeat"]))
        if action == "typed":  # a value of the same type: it passes the decoder's checks
            parent[last] = draw(same_type(parent[last]))
        elif action == "replace":
            parent[last] = draw(JSON)
        elif action == "edge":
            parent[last] = draw(EDGES)
        elif action == "drop":
            del parent[last]
        elif isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        else:
            parent[draw(st.text(max_size=8))] = copy.deepcopy(parent[last])
    # What arrives is JSON: tuples and the like never do.
    return orjson.loads(orjson.dumps(body))


def genuine_push(pair: RetailPair) -> dict[str, Any]:
    with write_tx(pair.term.engine) as conn:
        row = customers.create_on_terminal(conn, "T01", "Ada", "ada@example.com", "")
        sales.record_sale(
            conn,
            pair.term.till(),
            [sales.LineRequest(SKUS[0], 2), sales.LineRequest(SKUS[1], 1)],
            [sales.PaymentRequest("CASH")],
            customer_id=row["customer_id"],
        )
    batch = pair.child.outgoing(500)
    assert batch is not None
    return orjson.loads(orjson.dumps(batch.to_wire()))


def test_the_decoder_returns_a_batch_or_refuses(tmp_path: Path) -> None:
    pair = RetailPair(tmp_path / "pair")
    genuine = genuine_push(pair)
    pair.close()
    readers = [BatchReader(SPEC, Direction.UP), BatchReader(SPEC, Direction.DOWN)]
    tally = Tally("batch decoder")

    @settings(max_examples=examples(300), deadline=None, database=None)
    @given(body=st.one_of(altered(genuine), JSON))
    def decode(body: Any) -> None:
        for reader in readers:
            try:
                reader.parse(body)
            except SyncError as refused:
                tally.count(STATUS_BY_CODE.get(refused.code, 400))
            else:
                tally.count(200)

    decode()
    tally.report()
    assert not tally.server_errors  # (a refusal that maps to 503 would be one)
    assert tally.cases >= examples(300)


def test_a_push_is_applied_or_refused_whole() -> None:
    """Parent.receive as the store app calls it (with its admission and its guard)."""
    tally = Tally("push (Parent.receive)")
    with tempfile.TemporaryDirectory() as tmp:
        made = [0]

        def fresh() -> tuple[RetailPair, Parent, Tables]:
            made[0] += 1
            pair = RetailPair(Path(tmp) / f"pair{made[0]}")
            parent = Parent(pair.store, SPEC, "S01", admission=admission, guard=integrity.guard)
            return pair, parent, Tables(pair.store)

        scene = [fresh()]
        genuine = genuine_push(scene[0][0])
        state = [scene[0][2].snapshot()]

        @settings(
            max_examples=examples(80),
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(body=altered(genuine))
        def push(body: Any) -> None:
            pair, parent, tables = scene[0]
            try:
                parent.receive(pair.peer(), body)
            except SyncError as refused:
                tally.count(STATUS_BY_CODE.get(refused.code, 400), refused.code)
                changed = differences(state[0], tables.snapshot())
                assert not changed, f"refused ({refused.code}: {refused}), yet wrote {changed}"
            else:
                tally.count(200)
                # Applied (whole, or with documents quarantined): start again from a
                # store that has not seen this till's log.
                pair.close()
                scene[0] = fresh()
                state[0] = scene[0][2].snapshot()

        push()
        scene[0][0].close()
    tally.report()
    assert not tally.server_errors

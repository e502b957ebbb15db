"""Customers edited at head office, at the stores and on the tills merge field by
field with the hybrid logical clock (possync.sync.hlc) across the three tiers
(issue 12). Customers have no route: every store receives every customer, so an
edit made on a till of S01 reaches the tills of S02 through two stores and head
office. Hypothesis drives edits on all seven nodes and syncs of any edge in any
order, with the faults of test_three_tiers.py; after a full sync every node holds
the same customers, and each field holds the value of its latest edit.

Examples: 25 by default (about 15 s); ``POSSYNC_PROPERTY_EXAMPLES=N`` for more.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from possync.retail import customers, master_data
from possync.retail.schema import customer
from possync.sync import conflicts, hlc
from possync.sync.db import read_tx, write_tx
from tests.property.chain_tiers import HO, STORES, TILLS, Chain
from tests.property.test_three_tiers import PULL_FAULTS, PUSH_FAULTS, Model, act

EXAMPLES = int(os.environ.get("POSSYNC_PROPERTY_EXAMPLES", "25"))
FIELDS = ("name", "email", "phone")
NODES = (HO, *STORES, *(f"{s}/{t}" for s in STORES for t in TILLS))


def engine_of(tiers: Chain, node: str) -> sa.Engine:
    return dict(tiers.nodes())[node]


def node_id(node: str) -> str:
    """The id a node stamps its clocks with (a till: its own id, as on the till)."""
    return node.split("/")[-1]


def start(tiers: Chain) -> list[str]:
    """Three customers, made on each tier, then synced everywhere: their numbers."""
    numbers = []
    for store_id in (HO, "S01"):  # head office makes one as a store does: HO-SC000001
        with write_tx(engine_of(tiers, store_id)) as conn:
            made = master_data.save_customer(conn, store_id, None, name="Ada", email="", phone="")
            numbers.append(
                conn.execute(
                    sa.select(customer.c.customer_no).where(customer.c.customer_id == made)
                ).scalar_one()
            )
    with write_tx(engine_of(tiers, "S02/T01")) as conn:
        numbers.append(customers.create_on_terminal(conn, "T01", "Grace")["customer_no"])
    tiers.settle()
    return numbers


def edit(tiers: Chain, node: str, number: str, field: str, value: str) -> tuple[str, Any]:
    with write_tx(engine_of(tiers, node)) as conn:
        row = customers.change_contact(conn, node_id(node), number, **{field: value})
    return hlc.clocks_of(row, "field_clocks")[field][0], row[field]


def customers_of(engine: sa.Engine) -> dict[str, tuple[Any, ...]]:
    with read_tx(engine) as conn:
        rows = conn.execute(sa.select(customer)).mappings().all()
    return {r["customer_no"]: tuple(r[f] for f in FIELDS) for r in rows}


EDIT = st.tuples(
    st.just("edit"),
    st.sampled_from(NODES),
    st.integers(0, 2),
    st.sampled_from(FIELDS[1:]),  # email and phone: free text the rules accept
    st.integers(0, 999),
)
shop, till, limit = st.integers(0, 1), st.integers(0, 1), st.integers(1, 4)
SYNC = st.one_of(
    st.tuples(st.just("till push"), shop, till, limit, st.sampled_from(PUSH_FAULTS)),
    st.tuples(st.just("till pull"), shop, till, limit, st.sampled_from(PULL_FAULTS)),
    st.tuples(st.just("store push"), shop, limit, st.sampled_from(PUSH_FAULTS)),
    st.tuples(st.just("store pull"), shop, limit, st.sampled_from(PULL_FAULTS)),
)


# The suite's 300 s per test is for the default count; a larger run gets longer.
@pytest.mark.timeout(max(300, 10 * EXAMPLES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.one_of(EDIT, SYNC), min_size=1, max_size=40))
def test_edits_on_three_tiers_merge_to_the_latest_per_field(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tiers = Chain(Path(tmp) / "chain")
        try:
            numbers, model = start(tiers), Model()
            latest: dict[tuple[str, str], tuple[str, Any]] = {}
            for step in steps:
                if step[0] != "edit":
                    act(tiers, model, step)
                    continue
                _, node, which, field, n = step
                value = f"{n}@example.org" if field == "email" else f"+33 1 {n:04d}"
                clock, kept = edit(tiers, node, numbers[which], field, value)
                key = (numbers[which], field)
                if key not in latest or hlc.later(clock, latest[key][0]):
                    latest[key] = (clock, kept)
            tiers.settle()
            held = {node: customers_of(engine) for node, engine in tiers.nodes()}
            for node in NODES:
                assert held[node] == held[HO], node
            assert sorted(held[HO]) == sorted(numbers)
            for (number, field), (_, value) in latest.items():
                assert held[HO][number][FIELDS.index(field)] == value, (number, field)
        finally:
            tiers.close()


def test_one_customer_edited_on_each_tier() -> None:
    """Different fields edited on three tiers all survive; one field edited at head
    office and on a till of the other store keeps the later edit, everywhere, and
    head office records the conflict with both values."""
    with tempfile.TemporaryDirectory() as tmp:
        tiers = Chain(Path(tmp) / "chain")
        try:
            number = start(tiers)[1]  # made at S01
            edit(tiers, "S01/T02", number, "email", "ada@till.example")
            edit(tiers, "S02", number, "phone", "+33 1 2222")
            first, _ = edit(tiers, HO, number, "name", "Ada Lovelace")
            second, _ = edit(tiers, "S02/T01", number, "name", "Ada King")
            tiers.settle()
            winner = "Ada King" if hlc.later(second, first) else "Ada Lovelace"
            for node, engine in tiers.nodes():
                assert customers_of(engine)[number] == (
                    winner,
                    "ada@till.example",
                    "+33 1 2222",
                ), node
            with read_tx(tiers.ho) as conn:
                recorded = [c for c in conflicts.recent(conn) if c["column"] == "name"]
            assert [{c["kept"], c["lost"]} for c in recorded] == [{"Ada King", "Ada Lovelace"}]
            assert recorded[0]["kept"] == winner
        finally:
            tiers.close()

"""Property: store and terminal both write the same tables (customers both ways,
stock movements both ways: goods received on the store, sales on the terminal),
batches are lost, duplicated, replayed late or left unacknowledged in both
directions (on a pull: the terminal applied a batch but the store never hears the
next ``after``, so it serves the same batch again), and one clean sync at the end
leaves both sides with every change applied exactly once.

"Exactly once" is checked with counts that a double apply would change, against a
model of what was written, not with primary keys (an upsert hides a second apply
behind the same key): stock on hand per SKU on each side (kept by the movement
trigger), the sum of movement quantities per SKU, rows per document (lines,
payments and stock movements of each receipt), one row per customer number, the
last phone number each store customer was given.

Examples: 25 by default (about 20 s); ``POSSYNC_PROPERTY_EXAMPLES=N`` for more.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from possync.retail import customers, master_data, sales
from possync.retail import stock as stock_rules
from possync.retail.schema import (
    customer,
    receipt,
    receipt_line,
    receipt_payment,
    stock_level,
    stock_movement,
)
from possync.sync.batch import Batch
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import LogDiverged, OutOfSequence
from tests.property.retail_pair import SKUS, START_STOCK, RetailPair, wire

settings.register_profile(
    "possync-property",
    max_examples=int(os.environ.get("POSSYNC_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("possync-property")

FAULTS = ("none", "drop", "duplicate", "lose_ack", "replay")

sku = st.integers(0, len(SKUS) - 1)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("store_stock"), sku, st.integers(1, 30)),
        st.tuples(st.just("store_customer"), st.integers(1, 2), st.just(0)),
        st.tuples(st.just("store_edit"), st.integers(0, 5), st.integers(0, 999)),
        st.tuples(st.just("term_sale"), sku, st.integers(1, 4)),
        st.tuples(st.just("term_customer"), st.integers(1, 2), st.just(0)),
        st.tuples(st.just("push"), st.integers(1, 12), st.integers(0, len(FAULTS) - 1)),
        st.tuples(st.just("pull"), st.integers(1, 12), st.integers(0, len(FAULTS) - 1)),
    ),
    max_size=30,
)


@dataclass
class Model:
    """What was written, each write counted once."""

    stock: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKUS, START_STOCK))
    lines: dict[str, int] = field(default_factory=dict)  # receipt_id -> lines
    customers: set[str] = field(default_factory=set)  # customer numbers
    store_customers: list[str] = field(default_factory=list)  # ids, in creation order
    phones: dict[str, str] = field(default_factory=dict)  # store customer id -> phone
    pushed: list[Batch] = field(default_factory=list)  # every batch sent, for replays
    served: list[int] = field(default_factory=list)  # every ``after`` a pull was served from


def ledger(engine: sa.Engine) -> dict[str, Any]:
    """The counts and sums a double apply would change."""
    with read_tx(engine) as conn:
        per_doc = Counter[tuple[str, str]]()
        for table in (receipt_line, receipt_payment):
            for rid, n in conn.execute(
                sa.select(table.c.receipt_id, sa.func.count()).group_by(table.c.receipt_id)
            ):
                per_doc[table.name, rid] = n
        for ref, n in conn.execute(
            sa.select(stock_movement.c.doc_ref, sa.func.count())
            .where(stock_movement.c.doc_ref.is_not(None))
            .group_by(stock_movement.c.doc_ref)
        ):
            per_doc["stock_movement", ref] = n
        return {
            "on_hand": dict(
                conn.execute(sa.select(stock_level.c.sku, stock_level.c.on_hand)).all()
            ),
            "moved": {
                s: int(q)
                for s, q in conn.execute(
                    sa.select(stock_movement.c.sku, sa.func.sum(stock_movement.c.qty)).group_by(
                        stock_movement.c.sku
                    )
                )
            },
            "receipts": Counter(conn.execute(sa.select(receipt.c.receipt_no)).scalars()),
            "per_doc": per_doc,
            "customers": Counter(conn.execute(sa.select(customer.c.customer_no)).scalars()),
            "phones": dict(conn.execute(sa.select(customer.c.customer_id, customer.c.phone)).all()),
        }


def step(pair: RetailPair, model: Model, op: str, a: int, b: int) -> None:
    if op == "store_stock":
        with write_tx(pair.store) as conn:
            stock_rules.adjust(conn, "S01", SKUS[a], b, "goods_receipt")
        model.stock[SKUS[a]] += b
    elif op == "store_customer":
        for _ in range(a):
            with write_tx(pair.store) as conn:
                cid = master_data.save_customer(
                    conn, "S01", None, name="Store customer", email="", phone=""
                )
                no = conn.execute(
                    sa.select(customer.c.customer_no).where(customer.c.customer_id == cid)
                ).scalar_one()
            model.store_customers.append(cid)
            model.customers.add(no)
    elif op == "store_edit":
        if model.store_customers:
            cid = model.store_customers[a % len(model.store_customers)]
            phone = f"+33 1 {b:03d}"
            with write_tx(pair.store) as conn:
                master_data.save_customer(
                    conn, "S01", cid, name="Store customer", email="", phone=phone
                )
            model.phones[cid] = phone
    elif op == "term_sale":
        other = SKUS[(a + 1) % len(SKUS)]
        with write_tx(pair.term.engine) as conn:
            sale = sales.record_sale(
                conn,
                pair.term.till(),
                [sales.LineRequest(SKUS[a], b), sales.LineRequest(other, 1)],
                [sales.PaymentRequest("CASH")],
            )
        model.stock[SKUS[a]] -= b
        model.stock[other] -= 1
        model.lines[sale.receipt_id] = 2
    elif op == "term_customer":
        for _ in range(a):
            with write_tx(pair.term.engine) as conn:
                row = customers.create_on_terminal(conn, "T01", "Till customer")
            model.customers.add(row["customer_no"])
    elif op == "push":
        push_once(pair, model, a, FAULTS[b])
    else:
        pull_once(pair, model, a, FAULTS[b])


def push_once(pair: RetailPair, model: Model, limit: int, fault: str) -> None:
    if fault == "replay":
        # A batch sent earlier arrives again, late: the store already has it. It
        # changes nothing: taken as a re-send, or, when the store has applied more
        # of the till's log than the old batch's head, refused as a log gone back
        # (what a till restored from an old copy would send).
        if model.pushed:
            old = model.pushed[limit % len(model.pushed)]
            before = ledger(pair.store)
            try:
                ack = pair.parent.receive(pair.peer(), wire(old.to_wire()))
            except LogDiverged:
                assert old.head is not None and old.head < pair.peer().inbound_seq
            else:
                assert ack >= old.through
            assert ledger(pair.store) == before
        return
    batch = pair.child.outgoing(limit)
    if batch is None or fault == "drop":
        return
    model.pushed.append(batch)
    ack = pair.parent.receive(pair.peer(), wire(batch.to_wire()))
    if fault == "duplicate":
        before = ledger(pair.store)
        assert pair.parent.receive(pair.peer(), wire(batch.to_wire())) == ack
        assert ledger(pair.store) == before
    if fault != "lose_ack":
        pair.child.acknowledged(ack)


def refused_or_ignored(pair: RetailPair, batch: Batch) -> None:
    """A batch the terminal has already applied, served again: it must change
    nothing on the terminal (refused as out of sequence, or ignored)."""
    before, cursor = ledger(pair.term.engine), pair.child.inbound_cursor()
    with contextlib.suppress(OutOfSequence):
        pair.child.apply_pulled(wire(batch.to_wire()))
    assert ledger(pair.term.engine) == before
    assert pair.child.inbound_cursor() == cursor


def pull_once(pair: RetailPair, model: Model, limit: int, fault: str) -> None:
    if fault == "replay":
        # The store serves again from an ``after`` it was asked for earlier (a
        # delayed request): the terminal has moved on.
        if model.served:
            old = model.served[limit % len(model.served)]
            batch = pair.serve(old, limit)
            if batch.through > batch.after and old < pair.child.inbound_cursor():
                refused_or_ignored(pair, batch)
        return
    after = pair.child.inbound_cursor()
    model.served.append(after)
    batch = pair.serve(after, limit)
    if fault == "drop":
        return
    pair.child.apply_pulled(wire(batch.to_wire()))
    if fault == "duplicate" and batch.through > batch.after:
        refused_or_ignored(pair, batch)
    if fault == "lose_ack" and batch.through > batch.after:
        # Applied, but the next ``after`` never reaches the store: it still stands
        # where it was and serves the same batch again; the terminal must ignore it.
        assert pair.acknowledged_by_terminal() == after
        again = pair.serve(after, limit)
        assert (again.after, again.through) == (batch.after, batch.through)
        refused_or_ignored(pair, again)


def check(pair: RetailPair, model: Model) -> None:
    store, term = ledger(pair.store), ledger(pair.term.engine)
    # Stock: kept by each side's trigger, once per movement applied.
    assert store["on_hand"] == model.stock
    assert term["on_hand"] == model.stock
    assert store["moved"] == model.stock  # the store holds every movement since zero
    # The terminal holds the baseline of its initial load plus the movements since.
    assert {s: START_STOCK + term["moved"].get(s, 0) for s in SKUS} == model.stock
    # Every receipt once, with as many lines, payments and movements as it was made with.
    assert store["receipts"] == term["receipts"]
    assert set(store["receipts"].values()) <= {1}
    expected_docs = Counter[tuple[str, str]]()
    for rid, n in model.lines.items():
        expected_docs["receipt_line", rid] = n
        expected_docs["receipt_payment", rid] = 1
    assert {k: v for k, v in store["per_doc"].items() if k[0] != "stock_movement"} == dict(
        expected_docs
    )
    assert store["per_doc"] == term["per_doc"]
    assert sum(n for (t, _), n in store["per_doc"].items() if t == "stock_movement") == sum(
        model.lines.values()
    )
    # Customers made on both sides: each once, everywhere, with its last phone.
    assert store["customers"] == term["customers"] == Counter(dict.fromkeys(model.customers, 1))
    for cid, phone in model.phones.items():
        assert store["phones"][cid] == term["phones"][cid] == phone
    assert pair.child.pending() == 0


@PROFILE
@given(ops)
def test_both_sides_write_and_every_change_lands_once(script: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pair = RetailPair(Path(tmp) / "pair")
        try:
            model = Model()
            for op, a, b in script:
                step(pair, model, op, a, b)
            pair.push_all()
            pair.pull_all()
            check(pair, model)
        finally:
            pair.close()

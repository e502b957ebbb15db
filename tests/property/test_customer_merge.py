"""Customers edited on three nodes (the store and two tills) merge field by field
(possync.sync.hlc): hypothesis drives random edits and syncs in random orders, with
lost acknowledgements, re-sent pushes and lost or replayed pulls. In the end all
three hold the same customers, and each field holds the value of its latest edit
(by hybrid logical clock): no edit is lost unless a later one superseded it.
Concurrent edits of one field are recorded by the store, with both values."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from possync.retail import customers, integrity, master_data, store_admin
from possync.retail.replication import SPEC
from possync.retail.schema import customer
from possync.sync import conflicts, hlc, peers
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.errors import OutOfSequence
from possync.sync.parent import Parent
from possync.terminal.local import Terminal

TILLS = ("T01", "T02")
NODES = ("S01", *TILLS)
FIELDS = ("name", "email", "phone")
EXAMPLES = int(os.environ.get("POSSYNC_PROPERTY_EXAMPLES", "30"))


def wire(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _build(directory: Path) -> list[str]:
    store = open_engine(f"sqlite:///{directory / 'store.db'}")
    store_admin.init_store(store, "S01", "Main Street")
    with write_tx(store) as conn:
        numbers = []
        for name in ("Ada", "Grace"):
            made = master_data.save_customer(conn, "S01", None, name=name, email="", phone="")
            numbers.append(
                conn.execute(
                    sa.select(customer.c.customer_no).where(customer.c.customer_id == made)
                ).scalar_one()
            )
    parent = Parent(store, SPEC, "S01")
    for till in TILLS:
        code = store_admin.add_terminal(store, till).registration_code
        term = Terminal.create(directory / till, till)
        with write_tx(store) as conn:
            peer, secret = peers.register(conn, till, code)
        with write_tx(term.engine) as conn:
            peers.set_parent(conn, "S01", "inproc://", secret, list(peer.route_keys))
        start = wire(parent.start_load(peer).__dict__)
        term.child.begin_load(start["cursor"], start["tables"], start["baselines"], start["counts"])
        for table in start["tables"]:
            rows, last, more = parent.load_chunk(peer, table, None, 10_000)
            term.child.apply_chunk(table, wire(rows), wire(last), more)
        term.child.finish_load()
        term.close()
    store.dispose()
    return numbers


_TEMPLATE: tuple[Path, list[str]] | None = None


def template() -> tuple[Path, list[str]]:
    global _TEMPLATE
    if _TEMPLATE is None:
        directory = Path(tempfile.mkdtemp(prefix="possync-merge-"))
        _TEMPLATE = (directory, _build(directory))
    return _TEMPLATE


class Shop:
    def __init__(self) -> None:
        source, self.numbers = template()
        self.directory = Path(tempfile.mkdtemp(prefix="possync-merge-run-"))
        shutil.copytree(source, self.directory, dirs_exist_ok=True)
        self.store = open_engine(f"sqlite:///{self.directory / 'store.db'}")
        self.parent = Parent(self.store, SPEC, "S01", guard=integrity.guard)
        self.tills = {t: Terminal.open(self.directory / t) for t in TILLS}

    def close(self) -> None:
        self.store.dispose()
        for term in self.tills.values():
            term.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def engine(self, node: str) -> sa.Engine:
        return self.store if node == "S01" else self.tills[node].engine

    def peer(self, till: str) -> peers.Peer:
        with read_tx(self.store) as conn:
            found = peers.get(conn, till)
        assert found is not None
        return found

    def edit(self, node: str, number: str, field: str, value: str) -> tuple[str, str | None]:
        with write_tx(self.engine(node)) as conn:
            row = customers.change_contact(conn, node, number, **{field: value})
        clock = hlc.clocks_of(row, "field_clocks")[field][0]
        return clock, row[field]

    def push(self, till: str, fault: str) -> None:
        child = self.tills[till].child
        batch = child.outgoing(3)
        if batch is None:
            return
        ack = self.parent.receive(self.peer(till), wire(batch.to_wire()))
        if fault == "ack lost":
            return
        if fault == "sent twice":
            assert self.parent.receive(self.peer(till), wire(batch.to_wire())) == ack
        child.acknowledged(ack)

    def pull(self, till: str, fault: str) -> None:
        child = self.tills[till].child
        batch = self.parent.changes_for(self.peer(till), child.inbound_cursor(), 3)
        if fault == "answer lost":
            return
        child.apply_pulled(wire(batch.to_wire()))
        if fault == "replayed":
            try:
                child.apply_pulled(wire(batch.to_wire()))
            except OutOfSequence:
                pass  # refused: the batch does not start where the till stands
            else:
                assert not batch.changes, "a replayed pull must not apply again"

    def settle(self) -> None:
        for _ in range(2):
            for till in TILLS:
                while self.tills[till].child.outgoing(50) is not None:
                    self.push(till, "")
            for till in TILLS:
                while True:
                    batch = self.parent.changes_for(
                        self.peer(till), self.tills[till].child.inbound_cursor(), 50
                    )
                    self.tills[till].child.apply_pulled(wire(batch.to_wire()))
                    if not batch.more and not batch.changes:
                        break

    def customers_of(self, node: str) -> dict[str, tuple[Any, ...]]:
        with read_tx(self.engine(node)) as conn:
            rows = conn.execute(sa.select(customer)).mappings().all()
        return {r["customer_no"]: tuple(r[f] for f in FIELDS) for r in rows}


EDIT = st.tuples(
    st.just("edit"),
    st.sampled_from(NODES),
    st.integers(0, 1),
    st.sampled_from(FIELDS[1:]),  # email and phone: free text the rules accept
    st.integers(0, 999),
)
SYNC = st.tuples(
    st.sampled_from(["push", "pull"]),
    st.sampled_from(TILLS),
    st.sampled_from(["", "", "ack lost", "sent twice", "answer lost", "replayed"]),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.one_of(EDIT, SYNC), min_size=1, max_size=40))
def test_edits_on_three_nodes_merge_to_the_latest_per_field(steps: list[tuple[Any, ...]]) -> None:
    shop = Shop()
    try:
        latest: dict[tuple[str, str], tuple[str, Any]] = {}
        made_clocks: set[str] = set()
        for step in steps:
            if step[0] == "edit":
                _, node, which, field, n = step
                number = shop.numbers[which]
                value = f"{n}@example.org" if field == "email" else f"+33 1 {n:04d}"
                clock, kept = shop.edit(node, number, field, value)
                made_clocks.add(clock)
                key = (number, field)
                if key not in latest or hlc.later(clock, latest[key][0]):
                    latest[key] = (clock, kept)
            elif step[0] == "push":
                shop.push(step[1], step[2] if step[2] in ("ack lost", "sent twice") else "")
            else:
                shop.pull(step[1], step[2] if step[2] in ("answer lost", "replayed") else "")
        shop.settle()
        everywhere = [shop.customers_of(node) for node in NODES]
        assert everywhere[0] == everywhere[1] == everywhere[2]
        for (number, field), (_, value) in latest.items():
            assert everywhere[0][number][FIELDS.index(field)] == value, (number, field)
        with read_tx(shop.store) as conn:
            recorded = conflicts.recent(conn, 1000)
        for conflict in recorded:  # each is two real edits of one field, both kept
            assert {conflict["kept_clock"], conflict["lost_clock"]} <= made_clocks
            assert conflict["kept"] != conflict["lost"]
    finally:
        shop.close()


def test_different_fields_both_survive_and_one_field_records_its_conflict() -> None:
    shop = Shop()
    try:
        ada = shop.numbers[0]
        shop.edit("T01", ada, "email", "ada@one.example")  # different fields: both kept
        shop.edit("T02", ada, "phone", "+33 1 2222")
        first, _ = shop.edit("T01", ada, "name", "Ada Lovelace")  # one field, twice
        second, _ = shop.edit("T02", ada, "name", "Ada King")
        shop.settle()
        kept = shop.customers_of("S01")[ada]
        winner = "Ada King" if hlc.later(second, first) else "Ada Lovelace"
        assert kept == (winner, "ada@one.example", "+33 1 2222")
        assert shop.customers_of("T01")[ada] == shop.customers_of("T02")[ada] == kept
        with read_tx(shop.store) as conn:
            [conflict] = conflicts.recent(conn)
        assert (conflict["column"], conflict["kept"]) == ("name", winner)
        assert {conflict["kept"], conflict["lost"]} == {"Ada King", "Ada Lovelace"}
        assert {conflict["kept_clock"], conflict["lost_clock"]} == {first, second}
        shop.settle()  # meeting again records nothing more
        with read_tx(shop.store) as conn:
            assert conflicts.count(conn) == 1
    finally:
        shop.close()

"""Three tiers in one process: head office, stores S01 and S02 (each joined: a child
of head office with route keys ``[store_id]``, master data loaded from it) and two
tills under each store, with the engine driven in-process and every batch moved as
wire JSON, as in retail_pair.py. Building the chain takes a while, so it is built
once and each example starts from copies of its SQLite files.

Edges: till <-> store through ``Parent(store, SPEC, store_id, guard=integrity.guard)``
and the till's ``Child``; store <-> head office through
``chain.parent_of_stores(ho, "HO")`` and ``upstream.child(store)``, the store's
relaying child (what it pulls flows on to its tills)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import catalog, chain, integrity, joining, store_admin
from possync.retail.replication import SPEC
from possync.retail.schema import stock_level
from possync.store import upstream
from possync.sync import peers
from possync.sync.batch import Batch
from possync.sync.child import Child
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.parent import Parent
from possync.terminal.local import Terminal

HO = chain.HEAD_OFFICE_ID
STORES = ("S01", "S02")
TILLS = ("T01", "T02")  # under each store: the same ids, told apart by their store
SKUS = ("SKU1", "SKU2", "SKU3")
START_STOCK = 100  # of each SKU in each store, given at head office before the tills
CATALOG = "sku,barcode,name,price,tax_code\n" + "".join(
    f"{sku},{5000000000000 + i},Item {i},{i}.50,STD\n" for i, sku in enumerate(SKUS, 1)
)
LOAD_CHUNK = 10_000


def wire(value: Any) -> Any:
    """What the other side sees: the value after a JSON round trip."""
    return orjson.loads(orjson.dumps(value))


def _peer(engine: sa.Engine, node_id: str) -> peers.Peer:
    with read_tx(engine) as conn:
        found = peers.get(conn, node_id)
    assert found is not None, node_id
    return found


def join(ho: sa.Engine, store: sa.Engine, store_id: str, code: str) -> None:
    """What ``store join`` does, without HTTP: register, then take head office's
    master data (keeping the store's own stock), then replace what it did not send."""
    with write_tx(ho) as conn:
        peer, secret = peers.register(conn, store_id, code)
    with write_tx(store) as conn:
        peers.set_parent(conn, HO, "inproc://", secret, list(peer.route_keys))
        joining.remember_before(conn)
    parent, child = chain.parent_of_stores(ho, HO), upstream.child(store)
    start = wire(parent.start_load(peer).__dict__)
    child.begin_load(start["cursor"], start["tables"], {}, start["counts"], keep_baselines=True)
    for table in start["tables"]:
        rows, last, more = parent.load_chunk(peer, table, None, LOAD_CHUNK)
        assert not more
        with write_tx(store) as conn:
            joining.note_received(conn, table, None, wire(rows))
        child.apply_chunk(table, wire(rows), wire(last), more)
    child.finish_load()
    with write_tx(store) as conn:
        joining.replace(conn)


def provision(store: sa.Engine, store_id: str, data: Path, till_id: str) -> None:
    """What ``pos init`` does, without HTTP: register with the store, initial load."""
    code = store_admin.add_terminal(store, till_id).registration_code
    term = Terminal.create(data, till_id)
    with write_tx(store) as conn:
        peer, secret = peers.register(conn, till_id, code)
    with write_tx(term.engine) as conn:
        peers.set_parent(conn, store_id, "inproc://", secret, list(peer.route_keys))
    parent = Parent(store, SPEC, store_id, guard=integrity.guard)
    start = wire(parent.start_load(peer).__dict__)
    term.child.begin_load(start["cursor"], start["tables"], start["baselines"], start["counts"])
    for table in start["tables"]:
        rows, last, more = parent.load_chunk(peer, table, None, LOAD_CHUNK)
        assert not more
        term.child.apply_chunk(table, wire(rows), wire(last), more)
    term.child.finish_load()
    term.close()


def build(directory: Path, ho_url: str, tills: tuple[str, ...] = TILLS) -> None:
    """Head office at ``ho_url``, the stores and their tills in ``directory``."""
    ho = open_engine(ho_url)
    chain.init_head_office(ho, "Acme Retail")
    with write_tx(ho) as conn:
        catalog.import_csv(conn, CATALOG)
    for store_id in STORES:
        code = chain.add_store(ho, store_id).registration_code
        store = open_engine(f"sqlite:///{directory / f'{store_id}.db'}")
        store_admin.init_store(store, store_id, f"Store {store_id}")
        join(ho, store, store_id, code)
        for sku in SKUS:  # goods given at head office reach the store by its pull
            chain.adjust(ho, store_id, sku, START_STOCK, "goods_receipt")
        Edges(ho, {store_id: store}).pull_store(store_id)
        for till_id in tills:
            provision(store, store_id, directory / store_id / till_id, till_id)
        store.dispose()
    ho.dispose()


_TEMPLATE: Path | None = None


def template() -> Path:
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = Path(tempfile.mkdtemp(prefix="possync-chain-"))
        build(_TEMPLATE, f"sqlite:///{_TEMPLATE / 'ho.db'}")
    return _TEMPLATE


class Edges:
    """The two kinds of edge, driven one batch at a time."""

    def __init__(self, ho: sa.Engine, stores: dict[str, sa.Engine]) -> None:
        self.ho = ho
        self.stores = stores
        self.ho_parent = chain.parent_of_stores(ho, HO)
        self.upstream = {s: upstream.child(e) for s, e in stores.items()}

    def ho_peer(self, store_id: str) -> peers.Peer:
        return _peer(self.ho, store_id)

    def store_outgoing(self, store_id: str, limit: int) -> Batch | None:
        return self.upstream[store_id].outgoing(limit)

    def receive_at_ho(self, store_id: str, batch: Batch) -> int:
        return self.ho_parent.receive(self.ho_peer(store_id), wire(batch.to_wire()))

    def serve_store(self, store_id: str, after: int, limit: int) -> Batch:
        return self.ho_parent.changes_for(self.ho_peer(store_id), after, limit)

    def push_store(self, store_id: str, limit: int = 50) -> None:
        while (batch := self.store_outgoing(store_id, limit)) is not None:
            self.upstream[store_id].acknowledged(self.receive_at_ho(store_id, batch))

    def pull_store(self, store_id: str, limit: int = 50) -> None:
        child = self.upstream[store_id]
        while True:
            batch = self.serve_store(store_id, child.inbound_cursor(), limit)
            child.apply_pulled(wire(batch.to_wire()))
            if not batch.more and not batch.changes:
                return


class Chain(Edges):
    """Head office, the stores and their tills, opened: a copy of the template, or
    (given ``ho_url``, a PostgreSQL one say) a chain built afresh in ``directory``."""

    def __init__(
        self, directory: Path, ho_url: str | None = None, tills: tuple[str, ...] = TILLS
    ) -> None:
        self.directory = directory
        if ho_url is None:
            shutil.copytree(template(), directory, dirs_exist_ok=True)
            ho_url, tills = f"sqlite:///{directory / 'ho.db'}", TILLS
        else:
            directory.mkdir(parents=True, exist_ok=True)
            build(directory, ho_url, tills)
        super().__init__(
            open_engine(ho_url),
            {s: open_engine(f"sqlite:///{directory / f'{s}.db'}") for s in STORES},
        )
        self.tills = {(s, t): Terminal.open(directory / s / t) for s in STORES for t in tills}
        self.store_parents = {
            s: Parent(e, SPEC, s, guard=integrity.guard) for s, e in self.stores.items()
        }

    def close(self) -> None:
        self.ho.dispose()
        for engine in self.stores.values():
            engine.dispose()
        for term in self.tills.values():
            term.close()

    # -- till <-> store -------------------------------------------------------------

    def till_child(self, store_id: str, till_id: str) -> Child:
        return self.tills[store_id, till_id].child

    def till_peer(self, store_id: str, till_id: str) -> peers.Peer:
        return _peer(self.stores[store_id], till_id)

    def receive_at_store(self, store_id: str, till_id: str, batch: Batch) -> int:
        peer = self.till_peer(store_id, till_id)
        return self.store_parents[store_id].receive(peer, wire(batch.to_wire()))

    def serve_till(self, store_id: str, till_id: str, after: int, limit: int) -> Batch:
        peer = self.till_peer(store_id, till_id)
        return self.store_parents[store_id].changes_for(peer, after, limit)

    def push_till(self, store_id: str, till_id: str, limit: int = 50) -> None:
        child = self.till_child(store_id, till_id)
        while (batch := child.outgoing(limit)) is not None:
            child.acknowledged(self.receive_at_store(store_id, till_id, batch))

    def pull_till(self, store_id: str, till_id: str, limit: int = 50) -> None:
        child = self.till_child(store_id, till_id)
        while True:
            batch = self.serve_till(store_id, till_id, child.inbound_cursor(), limit)
            child.apply_pulled(wire(batch.to_wire()))
            if not batch.more and not batch.changes:
                return

    # -- the whole chain --------------------------------------------------------------

    def pending(self) -> int:
        """Changes some node still has to send up."""
        waiting = sum(self.upstream[s].pending() for s in STORES)
        return waiting + sum(term.child.pending() for term in self.tills.values())

    def settle(self, rounds: int = 4) -> None:
        """The full sync in a fixed order: tills push, stores push, stores pull, tills
        pull; again until nothing is left to send (a change pulled by a store in one
        round reaches its tills in the same round, so two rounds always do)."""
        for _ in range(rounds):
            for store_id, till_id in self.tills:
                self.push_till(store_id, till_id)
            for store_id in STORES:
                self.push_store(store_id)
            for store_id in STORES:
                self.pull_store(store_id)
            for store_id, till_id in self.tills:
                self.pull_till(store_id, till_id)
            if self.pending() == 0:
                return
        raise AssertionError(f"still {self.pending()} changes to send after {rounds} rounds")

    def nodes(self) -> Iterator[tuple[str, sa.Engine]]:
        """Every database of the chain, named."""
        yield HO, self.ho
        yield from self.stores.items()
        for (store_id, till_id), term in self.tills.items():
            yield f"{store_id}/{till_id}", term.engine


def on_hand(engine: sa.Engine, store_id: str) -> dict[str, int]:
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.select(stock_level.c.sku, stock_level.c.on_hand).where(
                stock_level.c.store_id == store_id
            )
        )
        return {sku: n for sku, n in rows}

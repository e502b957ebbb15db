"""A store and one terminal on the retail schema, with the sync engine driven
in-process (``Parent`` and ``Child``, batches moved as wire JSON), for property
tests. Building a provisioned pair takes a while, so it is built once and each
example starts from copies of its two SQLite files."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import catalog, store_admin
from possync.retail import stock as stock_rules
from possync.retail.replication import SPEC
from possync.sync import peers
from possync.sync.batch import Batch
from possync.sync.child import Child
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.parent import Parent
from possync.terminal.local import Terminal

SKUS = ("SKU1", "SKU2", "SKU3")
START_STOCK = 100
CATALOG = "sku,barcode,name,price,tax_code\n" + "".join(
    f"{sku},{5000000000000 + i},Item {i},{i}.50,STD\n" for i, sku in enumerate(SKUS, 1)
)


def wire(value: Any) -> Any:
    """What the other side sees: the value after a JSON round trip."""
    return orjson.loads(orjson.dumps(value))


def _build(directory: Path) -> None:
    store = open_engine(f"sqlite:///{directory / 'store.db'}")
    store_admin.init_store(store, "S01", "Main Street")
    with write_tx(store) as conn:
        catalog.import_csv(conn, CATALOG)
        for sku in SKUS:
            stock_rules.adjust(conn, "S01", sku, START_STOCK, "goods_receipt")
    code = store_admin.add_terminal(store, "T01").registration_code
    term = Terminal.create(directory / "t", "T01")
    with write_tx(store) as conn:
        peer, secret = peers.register(conn, "T01", code)
    with write_tx(term.engine) as conn:
        peers.set_parent(conn, "S01", "inproc://", secret, list(peer.route_keys))
    parent = Parent(store, SPEC, "S01")
    start = wire(parent.start_load(peer).__dict__)
    term.child.begin_load(start["cursor"], start["tables"], start["baselines"], start["counts"])
    for table in start["tables"]:
        rows, last, more = parent.load_chunk(peer, table, None, 10_000)
        assert not more
        term.child.apply_chunk(table, wire(rows), wire(last), more)
    term.child.finish_load()
    store.dispose()
    term.close()


_TEMPLATE: Path | None = None


def template() -> Path:
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = Path(tempfile.mkdtemp(prefix="possync-pair-"))
        _build(_TEMPLATE)
    return _TEMPLATE


@dataclass
class RetailPair:
    """Store S01 and terminal T01, provisioned, with the terminal's initial load
    done (stock baseline START_STOCK of each SKU)."""

    directory: Path
    store: sa.Engine = field(init=False)
    term: Terminal = field(init=False)
    parent: Parent = field(init=False)
    child: Child = field(init=False)

    def __post_init__(self) -> None:
        shutil.copytree(template(), self.directory, dirs_exist_ok=True)
        self.store = open_engine(f"sqlite:///{self.directory / 'store.db'}")
        self.term = Terminal.open(self.directory / "t")
        self.parent = Parent(self.store, SPEC, "S01")
        self.child = self.term.child

    def close(self) -> None:
        self.store.dispose()
        self.term.close()

    def peer(self) -> peers.Peer:
        with read_tx(self.store) as conn:
            found = peers.get(conn, "T01")
        assert found is not None
        return found

    def acknowledged_by_terminal(self) -> int:
        """The store's outbound_seq for T01: the last ``after`` it heard."""
        return self.peer().outbound_seq

    def serve(self, after: int, limit: int) -> Batch:
        return self.parent.changes_for(self.peer(), after, limit)

    def push_all(self) -> None:
        while (batch := self.child.outgoing(50)) is not None:
            self.child.acknowledged(self.parent.receive(self.peer(), wire(batch.to_wire())))

    def pull_all(self) -> None:
        while True:
            batch = self.serve(self.child.inbound_cursor(), 50)
            self.child.apply_pulled(wire(batch.to_wire()))
            if not batch.more and not batch.changes:
                return

"""What the fault tests (cuts, kills) share: a provisioned terminal, writes on both
sides, the cursors of both sides, and the check that a store and a terminal hold
exactly what one clean sync would have left them with."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possync.retail import sales, store_admin
from possync.retail import stock as stock_rules
from possync.retail.replication import SPEC
from possync.retail.schema import (
    customer,
    receipt,
    receipt_line,
    receipt_payment,
    stock_level,
    stock_movement,
)
from possync.sync import log, peers
from possync.sync.db import read_tx, write_tx
from possync.sync.parent import Parent
from possync.sync.schema import sync_peer
from possync.terminal import provision
from possync.terminal.local import Terminal

SKUS = [f"SKU{i}" for i in range(1, 6)]


def provisioned(engine: sa.Engine, url: str, data: Path, terminal_id: str = "T01") -> Terminal:
    code = store_admin.add_terminal(engine, terminal_id).registration_code
    term = provision.register(data, url, terminal_id, code)
    provision.initial_load(term)
    return term


def sell(term: Terminal, n: int, rng: random.Random) -> None:
    """n sales of 3 lines and one card payment on the terminal."""
    till = term.till()
    with write_tx(term.engine) as conn:
        for _ in range(n):
            lines = [sales.LineRequest(rng.choice(SKUS), rng.randint(1, 3)) for _ in range(3)]
            sales.record_sale(conn, till, lines, [sales.PaymentRequest("CARD")])


def adjust_on_store(engine: sa.Engine, rng: random.Random, n: int = 3) -> None:
    """Goods received on the store: movements that flow down to the terminals."""
    with write_tx(engine) as conn:
        for _ in range(n):
            stock_rules.adjust(conn, "S01", rng.choice(SKUS), rng.randint(1, 40), "goods_receipt")


@dataclass(frozen=True)
class Cursors:
    store_inbound: int  # the terminal's changes applied on the store
    store_outbound: int  # store changes the terminal has acknowledged (its pulls' after)
    store_head: int  # the store's log
    term_pushed: int  # the terminal's changes the store has acknowledged
    term_pulled: int  # store changes applied on the terminal
    term_head: int  # the terminal's log


def cursors(store: sa.Engine, term: Terminal, terminal_id: str = "T01") -> Cursors:
    Parent(store, SPEC, "S01").publish()  # PostgreSQL: number what is committed
    with read_tx(store) as conn:
        peer = conn.execute(
            sa.select(sync_peer.c.inbound_seq, sync_peer.c.outbound_seq).where(
                sync_peer.c.node_id == terminal_id
            )
        ).one()
        store_head = log.head(conn)
    with read_tx(term.engine) as conn:
        parent = term.child.parent(conn)
        term_head = log.head(conn)
    return Cursors(
        int(peer.inbound_seq),
        int(peer.outbound_seq),
        store_head,
        parent.outbound_seq,
        parent.inbound_seq,
        term_head,
    )


def unacknowledged_routed(store: sa.Engine, terminal_id: str) -> int:
    """Store changes routed to the terminal beyond what it has acknowledged."""
    parent = Parent(store, SPEC, "S01")
    with read_tx(store) as conn:
        found = peers.get(conn, terminal_id)
        assert found is not None
        return parent.backlog(conn, found)


def count_of(conn: sa.Connection, table: sa.Table, *where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar())


@dataclass(frozen=True)
class Holdings:
    """What a node holds of one terminal's trading, counted so that anything applied
    twice or lost shows: rows per document table, quantities summed."""

    receipts: int
    receipt_ids: frozenset[str]
    lines: int
    payments: int
    paid: int  # sum of payment amounts
    customers: int
    movements: int  # stock movements (all origins)
    moved: dict[str, int]  # sum of movement quantities per SKU
    on_hand: dict[str, int]  # stock_level per SKU


def holdings(engine: sa.Engine) -> Holdings:
    with read_tx(engine) as conn:
        ids = frozenset(conn.execute(sa.select(receipt.c.receipt_id)).scalars())
        paid = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(receipt_payment.c.amount), 0)))
        moved = conn.execute(
            sa.select(stock_movement.c.sku, sa.func.sum(stock_movement.c.qty)).group_by(
                stock_movement.c.sku
            )
        )
        on_hand = conn.execute(sa.select(stock_level.c.sku, stock_level.c.on_hand))
        return Holdings(
            receipts=count_of(conn, receipt),
            receipt_ids=ids,
            lines=count_of(conn, receipt_line),
            payments=count_of(conn, receipt_payment),
            paid=int(paid.scalar_one()),
            customers=count_of(conn, customer),
            movements=count_of(conn, stock_movement),
            moved={sku: int(q) for sku, q in moved.all()},
            on_hand={sku: int(q) for sku, q in on_hand.all()},
        )


def assert_in_step(store: sa.Engine, term: Terminal, terminal_id: str = "T01") -> None:
    """What one clean sync leaves: every receipt of the terminal on the store exactly
    once with as many lines, payments and money; stock equal on both sides and equal
    to the sum of the store's movements; the cursors of both sides equal and at the
    ends of both logs."""
    s, t = holdings(store), holdings(term.engine)
    assert s.receipt_ids == t.receipt_ids
    assert (s.receipts, s.lines, s.payments, s.paid) == (t.receipts, t.lines, t.payments, t.paid)
    assert s.on_hand == t.on_hand
    assert s.on_hand == s.moved
    assert s.customers == t.customers
    c = cursors(store, term, terminal_id)
    assert c.store_inbound == c.term_pushed == c.term_head
    assert c.term_pulled == c.store_head, c
    # The store may not have heard the last ``after`` when the last batch carried no
    # change for this terminal (only its own, echoed): nothing routed to it may lie
    # between what it acknowledged and the head.
    assert c.store_outbound == c.store_head or unacknowledged_routed(store, terminal_id) == 0, c
    assert term.child.pending() == 0

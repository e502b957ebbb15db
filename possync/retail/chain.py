"""Head office: the chain's database above its stores (same schema, same engine).

Head office holds one ``store`` row per store, authors the master data every store
receives (items, chain prices, tax rates, payment methods, cashiers), receives
every store's transactions as the store relays them from its tills, and moves stock
between stores. Each store is a child node whose id is its store id and whose route
keys are ``[store_id]``: what is routed to it reaches it, and everything it sends
must lie in its own store (see ``Parent(children_relay=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import cashiers, database, integrity, reports, stock
from possync.retail.errors import RetailError
from possync.retail.money import parse_amount
from possync.retail.offline_admin import MAX_SUSPEND_MINUTES
from possync.retail.replication import SPEC
from possync.retail.schema import (
    admin_log,
    item,
    payment_method,
    receipt,
    stock_level,
    store,
    store_price,
    tax_rate,
)
from possync.retail.store_admin import (
    DEFAULT_PAYMENT_METHODS,
    DEFAULT_TAX_RATES,
    check_id,
    create_private,
)
from possync.sync import install as sync_install
from possync.sync import log, peers, state
from possync.sync.clock import utc_in, utc_now
from possync.sync.db import read_tx, write_tx
from possync.sync.parent import Parent
from possync.sync.schema import sync_state

HEAD_OFFICE_ID = "HO"
CHAIN_NAME = "chain_name"  # sync_state key: head office's own, never replicated
TILLS = "tills:"  # sync_state key prefix: the tills a store reported, per store


@dataclass(frozen=True)
class NewStore:
    store_id: str
    registration_code: str


def init_head_office(engine: sa.Engine, name: str, node_id: str = HEAD_OFFICE_ID) -> None:
    """Create the head office database (safe to run again)."""
    check_id(node_id, "a head office id")
    create_private(engine)
    existing = sync_install.node_id(engine)
    if existing is not None and existing != node_id:
        raise RetailError(f"this database already belongs to node {existing}")
    database.install(engine, node_id)
    with write_tx(engine) as conn:
        if state.get(conn, CHAIN_NAME) is None:
            conn.execute(tax_rate.insert(), list(DEFAULT_TAX_RATES))
            conn.execute(payment_method.insert(), list(DEFAULT_PAYMENT_METHODS))
        state.put(conn, CHAIN_NAME, name)


def parent_of_stores(engine: sa.Engine, node_id: str) -> Parent:
    """Head office's side of the sync with its stores: each store relays for its
    tills (rows of its own store, whichever till owns them) and is checked by the
    rules for relayed documents."""
    return Parent(engine, SPEC, node_id, guard=integrity.relay_guard, children_relay=True)


def require_head_office(conn: sa.Connection) -> str:
    """The chain's name; refuses a database that is not a head office's."""
    name = state.get(conn, CHAIN_NAME)
    if name is None:
        raise RetailError("this database is not a head office's; run 'possync ho init' first")
    return name


def add_store(
    engine: sa.Engine,
    store_id: str,
    *,
    name: str | None = None,
    currency: str = "EUR",
    offline_enabled: bool = True,
    new_only: bool = False,
) -> NewStore:
    """Add a store to the chain (or issue a new code for one): returns the one-time
    code its store server joins with. A new code revokes the store's old secret;
    ``new_only`` refuses a store the chain already has instead."""
    check_id(store_id, "a store id")
    with write_tx(engine) as conn:
        require_head_office(conn)
        if conn.execute(sa.select(store.c.store_id).where(store.c.store_id == store_id)).first():
            if new_only:
                raise RetailError(
                    f"{store_id} is already a store of the chain; a new join code for it "
                    f"(which revokes its secret) comes from 'possync ho store add {store_id}'"
                )
            if name:
                conn.execute(store.update().where(store.c.store_id == store_id).values(name=name))
        else:
            conn.execute(
                store.insert().values(
                    store_id=store_id,
                    name=name or store_id,
                    currency=currency,
                    offline_enabled=offline_enabled,
                )
            )
        code = peers.add_child(conn, store_id, [store_id])
    return NewStore(store_id, code)


def save_cashier(
    engine: sa.Engine,
    cashier_id: str,
    name: str,
    pin: str | None,
    store_id: str | None,
    **authority: Any,
) -> None:
    """A cashier of the chain, working at ``store_id`` (None: at every store): their
    row reaches that store and its tills only (``cashier.store_id`` routes it).
    ``authority``: their discount limit and manager flag, if given
    (``discounts.authority``)."""
    with write_tx(engine) as conn:
        require_head_office(conn)
        if store_id is not None:
            _known_store(conn, store_id)
        cashiers.save(conn, cashier_id, name, pin=pin, store_id=store_id, **authority)


def _known_store(conn: sa.Connection, store_id: str) -> None:
    known = sa.select(store.c.store_id).where(store.c.store_id == store_id)
    if conn.execute(known).first() is None:
        raise RetailError(f"unknown store {store_id!r}; add it with 'possync ho store add'")


def _joined_store(conn: sa.Connection, store_id: str) -> None:
    """Stock is only moved for a store that has joined: before, its own stock is
    unknown here, and a movement made now would be counted twice when the store's
    history arrives (see docs/headoffice.md)."""
    _known_store(conn, store_id)
    peer = peers.get(conn, store_id)
    if peer is None or not peer.registered:
        raise RetailError(
            f"store {store_id} has not joined head office yet; its stock is its own until it does"
        )


def transfer(engine: sa.Engine, from_store: str, to_store: str, sku: str, qty: int) -> None:
    """Move ``qty`` of ``sku`` from one store to another: two movements, each routed
    to its store, made in one transaction."""
    if from_store == to_store:
        raise RetailError("a transfer needs two different stores")
    if type(qty) is not int or not 1 <= qty <= stock.MAX_MOVEMENT:
        raise RetailError(f"the quantity is a whole number from 1 to {stock.MAX_MOVEMENT:,}")
    with write_tx(engine) as conn:
        for store_id in (from_store, to_store):
            _joined_store(conn, store_id)
        ref = f"TR-{from_store}-{to_store}"
        stock.record(conn, from_store, sku, -qty, "transfer", ref)
        stock.record(conn, to_store, sku, qty, "transfer", ref)


def adjust(engine: sa.Engine, store_id: str, sku: str, qty: int, reason: str) -> None:
    """A movement of a store's stock decided at head office (goods received...)."""
    if type(qty) is not int or not 0 < abs(qty) <= stock.MAX_MOVEMENT:
        raise RetailError(f"the quantity is a whole number up to {stock.MAX_MOVEMENT:,}, not 0")
    with write_tx(engine) as conn:
        _joined_store(conn, store_id)
        stock.record(conn, store_id, sku, qty, reason, None)


def count(engine: sa.Engine, store_id: str, sku: str, counted: int) -> int:
    """A stock count: the movement that brings on-hand, as head office knows it now,
    to ``counted``. Sales made on tills and not yet synced are not in that figure;
    they arrive later and are subtracted from the counted quantity, so every tier
    ends with the same on-hand. Returns the movement's quantity (0: none made)."""
    if type(counted) is not int or not 0 <= counted <= stock.MAX_MOVEMENT:
        raise RetailError(f"a count is a whole number from 0 to {stock.MAX_MOVEMENT:,}")
    with write_tx(engine) as conn:
        _joined_store(conn, store_id)
        held = stock.on_hand(conn, store_id).get(sku, 0)
        if counted != held:
            stock.record(conn, store_id, sku, counted - held, "count", None)
    return counted - held


def stock_by_store(conn: sa.Connection) -> dict[str, dict[str, int]]:
    """On-hand per store and item, as head office holds it."""
    result: dict[str, dict[str, int]] = {}
    rows = conn.execute(
        sa.select(stock_level.c.store_id, stock_level.c.sku, stock_level.c.on_hand).order_by(
            stock_level.c.store_id, stock_level.c.sku
        )
    )
    for store_id, sku, on_hand in rows:
        result.setdefault(store_id, {})[sku] = on_hand
    return result


def stores(engine: sa.Engine) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        require_head_office(conn)
        return [dict(r._mapping) for r in conn.execute(sa.select(store).order_by(store.c.store_id))]


def overview(engine: sa.Engine) -> dict[str, Any]:
    """Head office and its stores: each store's link, backlog, receipts and tills as
    it relays them. What the console's dashboard shows; ``status`` adds the stock."""
    with read_tx(engine) as conn:
        name = require_head_office(conn)
        node_id = state.get(conn, state.NODE_ID)
    parent = parent_of_stores(engine, node_id or HEAD_OFFICE_ID)
    parent.publish()
    with read_tx(engine) as conn:
        return {
            "head_office": {"node_id": node_id, "name": name},
            "change_log_head": log.head(conn),
            "stores": _store_rows(conn, parent),
        }


def status(engine: sa.Engine) -> dict[str, Any]:
    """The chain as head office sees it: each store's link, backlog and receipts,
    and stock per store. The stable shape of ``ho status --json``."""
    info = overview(engine)
    with read_tx(engine) as conn:
        info["stock"] = stock_by_store(conn)
    return info


def _store_rows(conn: sa.Connection, parent: Parent) -> list[dict[str, Any]]:
    state_of = reports.replication_states(conn, parent, receipt.c.store_id)
    reported = _relayed_tills(conn)
    shops = []
    for row in conn.execute(sa.select(store).order_by(store.c.store_id)):
        state = state_of(row.store_id)
        shops.append(
            {
                "store_id": row.store_id,
                "name": row.name,
                "joined": state["registered"],
                "to_send": state["backlog"],
                **{k: state[k] for k in _STORE_STATE},
                "tills": reported.get(row.store_id, []),
            }
        )
    return shops


# What ``ho status --json`` tells of each store's link (its stable shape).
_STORE_STATE = (
    "last_contact_at",
    "last_sync_at",
    "last_error",
    "suspended_until",
    "sent_unacknowledged",
    "unsent",
    "quarantined",
    "sales",
    "returns",
)


def suspend_store(
    engine: sa.Engine, store_id: str, minutes: int | None, *, by: str | None = None
) -> str | None:
    """Suspend a store's sync with head office for ``minutes``, or resume it (None);
    returns when the suspension ends. Meanwhile head office refuses the store's
    syncs, telling it until when (it comes back then by itself); the store and its
    tills go on selling and syncing with each other, and what the store holds for
    head office waits. Written to head office's admin log."""
    if minutes is not None and (
        type(minutes) is not int or not 1 <= minutes <= MAX_SUSPEND_MINUTES
    ):
        raise RetailError(f"suspend for 1 to {MAX_SUSPEND_MINUTES} minutes (7 days)")
    until = utc_in(minutes * 60) if minutes is not None else None
    with write_tx(engine) as conn:
        require_head_office(conn)
        _known_store(conn, store_id)
        peer = peers.get(conn, store_id)
        if until and (peer is None or not peer.registered):
            raise RetailError(f"store {store_id} has not joined head office: it has no sync yet")
        if peer is not None:
            peers.suspend(conn, store_id, until)
        detail = f"{store_id}: until {until}" if until else store_id
        conn.execute(
            admin_log.insert().values(
                at=utc_now(),
                action="store_sync_suspended" if until else "store_sync_resumed",
                detail=detail + (f" (by {by})" if by else ""),
            )
        )
    return until


def stock_of_items(conn: sa.Connection, skus: list[str]) -> dict[str, dict[str, int]]:
    """On-hand of these items in every store, as head office holds it (sku -> store
    -> on hand): one page of the console's stock table."""
    found: dict[str, dict[str, int]] = {}
    rows = conn.execute(
        sa.select(stock_level.c.sku, stock_level.c.store_id, stock_level.c.on_hand).where(
            stock_level.c.sku.in_(skus)
        )
    )
    for sku, store_id, on_hand in rows:
        found.setdefault(sku, {})[store_id] = on_hand
    return found


def _relayed_tills(conn: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    """The tills each store reported at its last sync (see record_tills)."""
    found: dict[str, list[dict[str, Any]]] = {}
    rows = conn.execute(
        sa.select(sync_state.c.key, sync_state.c.value).where(sync_state.c.key.startswith(TILLS))
    )
    for key, value in rows:
        found[key[len(TILLS) :]] = orjson.loads(value)
    return found


def record_tills(conn: sa.Connection, store_id: str, tills: list[dict[str, Any]]) -> None:
    """Keep what a store reports of its tills, for head office's dashboard."""
    state.put(conn, f"{TILLS}{store_id}", orjson.dumps(tills).decode())


def set_price(engine: sa.Engine, sku: str, price: str, store_id: str | None = None) -> int:
    """An item's chain price (tax included), as typed, or with ``store_id`` that
    store's own price; returns it in minor units. The store(s) concerned receive it
    at their next sync, and their tills at theirs; no other store ever does."""
    amount = parse_amount(price, negative=False)
    with write_tx(engine) as conn:
        require_head_office(conn)
        if conn.execute(sa.select(item.c.sku).where(item.c.sku == sku)).first() is None:
            raise RetailError(f"unknown item {sku!r}")
        if store_id is None:
            conn.execute(item.update().where(item.c.sku == sku).values(price=amount))
            return amount
        _known_store(conn, store_id)
        where = (store_price.c.store_id == store_id) & (store_price.c.sku == sku)
        if conn.execute(store_price.update().where(where).values(price=amount)).rowcount == 0:
            conn.execute(store_price.insert().values(store_id=store_id, sku=sku, price=amount))
    return amount


def clear_store_price(engine: sa.Engine, sku: str, store_id: str) -> bool:
    """The store sells ``sku`` at the chain's price again. False: it had no price
    of its own."""
    with write_tx(engine) as conn:
        require_head_office(conn)
        where = (store_price.c.store_id == store_id) & (store_price.c.sku == sku)
        return conn.execute(store_price.delete().where(where)).rowcount > 0

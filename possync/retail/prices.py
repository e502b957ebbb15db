"""The price an item sells at here: the store's own price if head office set one
(``store_price``), else the chain's (``item.price``).

A store and its tills hold only their own store's ``store_price`` rows (they are
routed by store id); head office holds every store's and does not sell. The price is
still joined on its whole key, this database's store and the SKU: on the SKU alone
SQLite scanned ``store_price`` for every item it priced (0.3 ms an item once a store
has 10,000 prices), where the whole key is a primary-key look-up.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail.schema import item, store, store_price

# The store this database holds: a till or a store holds one.
HERE = sa.select(store.c.store_id).limit(1).scalar_subquery()
# An item's store price found by its primary key (see the module's doc).
STORE_PRICE = (store_price.c.store_id == HERE) & (store_price.c.sku == item.c.sku)


def priced_items() -> sa.Join:
    """``item`` with its store price, if any (select from this)."""
    return item.outerjoin(store_price, STORE_PRICE)


def price() -> sa.ColumnElement[Any]:
    """The selling price, tax included, labelled ``price``."""
    return sa.func.coalesce(store_price.c.price, item.c.price).label("price")


def item_columns() -> list[sa.ColumnElement[Any]]:
    """Every column of ``item``, its price being the selling price."""
    return [c for c in item.c if c.name != "price"] + [price()]

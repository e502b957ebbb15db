"""The price an item sells at here: the store's own price if head office set one
(``store_price``), else the chain's (``item.price``).

A store and its tills hold only their own store's ``store_price`` rows (they are
routed by store id), so joining on the SKU alone is exact there; head office holds
every store's and does not sell.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from possync.retail.schema import item, store_price


def priced_items() -> sa.Join:
    """``item`` with its store price, if any (select from this)."""
    return item.outerjoin(store_price, store_price.c.sku == item.c.sku)


def price() -> sa.ColumnElement[Any]:
    """The selling price, tax included, labelled ``price``."""
    return sa.func.coalesce(store_price.c.price, item.c.price).label("price")


def item_columns() -> list[sa.ColumnElement[Any]]:
    """Every column of ``item``, its price being the selling price."""
    return [c for c in item.c if c.name != "price"] + [price()]

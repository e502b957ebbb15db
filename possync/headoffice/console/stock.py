"""Stock on hand per store and item, as head office holds it (the sum of every
movement the stores relayed and head office made)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from possync.retail import browse, chain
from possync.sync.db import read_tx
from possync.webui.signin import Admin, ConsoleApp

router = APIRouter(prefix="/console")


def _stock_page(engine: Any, q: str, store_id: str, number: int) -> dict[str, Any]:
    stores = [s["store_id"] for s in chain.stores(engine)]
    shown = [store_id] if store_id in stores else stores
    with read_tx(engine) as conn:
        # Items of the chain's catalog, paged; their on-hand in each store shown.
        page = browse.items(conn, shown[0] if shown else "", q, number)
        held = chain.stock_of_items(conn, [i["sku"] for i in page.rows])
    rows = [
        {
            "sku": i["sku"],
            "name": i["name"],
            "on_hand": {s: held.get(i["sku"], {}).get(s, 0) for s in shown},
            "total": sum(held.get(i["sku"], {}).get(s, 0) for s in shown),
        }
        for i in page.rows
    ]
    return {"page": page, "rows": rows, "stores": stores, "shown": shown}


@router.get("/stock")
def stock(
    request: Request,
    console: ConsoleApp,
    _: Admin,
    q: Annotated[str, Query(max_length=100)] = "",
    store: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    found = _stock_page(console.engine, q, store, page)
    return console.render(request, "stock.html", q=q, store=store, **found)

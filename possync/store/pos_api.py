"""Retail calls the store answers for its terminals, beside the sync API.

``GET /api/v1/pos/receipts/{receipt_no}``: a sale of this store with the returns of
it received so far, for a terminal that is to take it back (a sale made on another
terminal, or purged from the one asking). Authenticated like the sync API, with
the terminal's own credentials (HTTP Basic, node id and secret); a terminal sees
the sales of its own store only. The answer's shape is
:func:`possync.retail.receipts.for_return`.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from possync.retail import receipts
from possync.retail.errors import RetailError
from possync.sync.db import read_tx
from possync.transport.server import ApiError, AuthPeer, OrjsonResponse, ParentNode


def _lookup(engine: sa.Engine, receipt_no: str, stores: tuple[str, ...]) -> dict[str, Any] | None:
    with read_tx(engine) as conn:
        return receipts.for_return(conn, receipt_no, stores)


def pos_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/pos")

    @router.get("/receipts/{receipt_no}")
    async def receipt_for_return(
        parent: ParentNode,
        peer: AuthPeer,
        receipt_no: Annotated[str, Path(min_length=1, max_length=40)],
    ) -> Any:
        try:
            # A terminal's route keys are its store's id and its own: another
            # store's sale is "not found", so a terminal learns nothing of it.
            found = await run_in_threadpool(_lookup, parent.engine, receipt_no, peer.route_keys)
        except RetailError as exc:  # the number is a return's
            raise ApiError(409, "not_a_sale", str(exc)) from None
        if found is None:
            raise ApiError(404, "not_found", f"no sale {receipt_no} in this store")
        return OrjsonResponse(found)

    return router

"""The head office server application: the sync API for store servers, and the
enterprise console under ``/console/`` (possync/headoffice/console/).

Stores are children that relay for their tills (``children_relay``): each may
send rows owned by any till of its own store, and nothing outside it.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request

from possync import __version__
from possync.headoffice.console.app import install_console
from possync.headoffice.console.settings import ConsoleSettings
from possync.retail import chain
from possync.retail import opening_stock as opening_stock_rules
from possync.retail.database import open_store
from possync.retail.errors import RetailError
from possync.retail.replication import SPEC
from possync.sync import state
from possync.sync.db import read_tx, write_tx
from possync.sync.peers import Peer
from possync.transport.protocol import AnnounceProtocol
from possync.transport.server import (
    ApiError,
    authenticated,
    install_error_handlers,
    install_sync_api,
    read_json,
)

MAX_TILLS = 1000  # per store report: more is not a store
MAX_REPORT_BYTES = 512 * 1024
MAX_OPENING_BYTES = 1024 * 1024  # 5,000 balances of long item codes


def create_app(engine: sa.Engine, console: ConsoleSettings | None = None) -> FastAPI:
    with read_tx(engine) as conn:
        name = chain.require_head_office(conn)
        node_id = state.get(conn, state.NODE_ID) or chain.HEAD_OFFICE_ID
    app = FastAPI(
        title=f"possync head office of {name}", version=__version__, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    app.add_middleware(AnnounceProtocol, protocol=SPEC.protocol)
    parent = chain.parent_of_stores(engine, node_id)
    install_sync_api(app, parent)
    app.state.engine = engine

    @app.post("/api/v1/relay/children")
    async def report_tills(
        request: Request, peer: Annotated[Peer, Depends(authenticated)]
    ) -> dict[str, Any]:
        """A store's tills as it sees them (mode, last sync, backlog), kept for the
        dashboard: what head office knows of tills it never talks to."""
        body = await read_json(request, MAX_REPORT_BYTES)
        tills = body.get("children") if isinstance(body, dict) else None
        if not isinstance(tills, list) or len(tills) > MAX_TILLS:
            raise ApiError(422, "bad_report", f"children: expected a list of at most {MAX_TILLS}")
        kept = [_till(t, i) for i, t in enumerate(tills)]
        with write_tx(engine) as conn:
            chain.record_tills(conn, peer.node_id, kept)
        return {"tills": len(kept)}

    @app.post("/api/v1/relay/opening-stock")
    async def opening_stock(
        request: Request, peer: Annotated[Peer, Depends(authenticated)]
    ) -> dict[str, Any]:
        """A joining store's opening balance per item (retail/opening_stock.py),
        written here as the store's own movements; sent again, it changes nothing."""
        body = await read_json(request, MAX_OPENING_BYTES)
        try:
            balances = opening_stock_rules.parse(body)
        except RetailError as exc:
            raise ApiError(422, "bad_opening_stock", str(exc)) from None
        with write_tx(engine) as conn:
            recorded = opening_stock_rules.record(conn, peer.node_id, balances)
        return {"recorded": recorded, "items": len(balances)}

    install_console(app, engine, console or ConsoleSettings())
    return app


_TILL_FIELDS = {
    "terminal_id": str,
    "mode": str,
    "last_sync_at": str,
    "backlog": int,
    "unsent": int,
    "quarantined": int,
    "last_error": str,
}


def _till(value: Any, index: int) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("terminal_id"), str):
        raise ApiError(422, "bad_report", f"children[{index}]: expected an object with terminal_id")
    kept: dict[str, Any] = {}
    for name, kind in _TILL_FIELDS.items():
        field = value.get(name)
        if field is not None and type(field) is not kind:
            raise ApiError(
                422, "bad_report", f"children[{index}].{name}: expected a {kind.__name__}"
            )
        if kind is int and field is not None and not 0 <= field < 2**63:
            raise ApiError(422, "bad_report", f"children[{index}].{name}: out of range")
        kept[name] = field[:500] if isinstance(field, str) else field  # messages cut short
    return kept


def create_app_from_url(url: str, console: ConsoleSettings | None = None) -> FastAPI:
    return create_app(open_store(url), console)

"""The store server application."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI

from possync import __version__
from possync.retail import integrity
from possync.retail.database import open_store
from possync.retail.policy import admission
from possync.retail.replication import SPEC
from possync.retail.store_admin import store_row
from possync.store.console.app import ConsoleSettings, install_console
from possync.store.pos_api import pos_router
from possync.sync.db import read_tx
from possync.sync.parent import Parent
from possync.transport.protocol import AnnounceProtocol
from possync.transport.server import install_error_handlers, install_sync_api


def create_app(engine: sa.Engine, console: ConsoleSettings | None = None) -> FastAPI:
    with read_tx(engine) as conn:
        store_id = store_row(conn).store_id
    app = FastAPI(
        title=f"possync store {store_id}", version=__version__, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    app.add_middleware(AnnounceProtocol, protocol=SPEC.protocol)
    install_sync_api(
        app, Parent(engine, SPEC, store_id, admission=admission, guard=integrity.guard)
    )
    app.include_router(pos_router())  # retail calls of the terminals (issue 5)
    app.state.engine = engine
    install_console(app, engine, console or ConsoleSettings())
    return app


def create_app_from_url(url: str, console: ConsoleSettings | None = None) -> FastAPI:
    """The app of the store database at ``url``: refused (before anything is served)
    unless its schema is this release's."""
    return create_app(open_store(url), console)

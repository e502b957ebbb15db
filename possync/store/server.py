"""Running the store server process."""

from __future__ import annotations

import logging

import uvicorn

from possync.store.app import create_app_from_url
from possync.store.console.app import ConsoleSettings


def serve(db_url: str, host: str, port: int, console: ConsoleSettings | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app_from_url(db_url, console)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

"""Running the store server process."""

from __future__ import annotations

import logging

import uvicorn

from possync.store.app import create_app_from_url


def serve(db_url: str, host: str, port: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app_from_url(db_url)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

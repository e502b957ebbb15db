"""Running the head office server process: one, or several uvicorn workers sharing
head office's PostgreSQL database (any load balancer in front of several machines).

Nothing is shared between workers but the database: a store's batches are applied
under the lock of its inbound cursor (``peers.lock_inbound_seq``), so whichever
worker takes a batch, it is applied once; the others see it as a re-send or as out
of sequence.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import uvicorn
from fastapi import FastAPI

from possync.headoffice.app import create_app_from_url
from possync.headoffice.console.settings import ConsoleSettings
from possync.transport import keepalive
from possync.transport.heap import settle_for_serving
from possync.transport.workers import WORKER_HEALTHCHECK_SECONDS, check_workers

_DB_ENV = "POSSYNC_HO_SERVE_DB"
_CONSOLE_ENV = "POSSYNC_HO_SERVE_CONSOLE"


def serve(
    db_url: str,
    host: str,
    port: int,
    console: ConsoleSettings | None = None,
    *,
    workers: int = 1,
) -> None:
    """Serve until stopped. ``workers`` > 1 needs PostgreSQL (``WorkersError``)."""
    check_workers(db_url, workers, node="head office")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = keepalive.server_options(host, port)
    if workers == 1:
        app = create_app_from_url(db_url, console)
        settle_for_serving()
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    # Each worker process builds its own app (and engine) from the environment:
    # uvicorn starts workers from an import string, not from an app object.
    os.environ[_DB_ENV] = db_url
    os.environ[_CONSOLE_ENV] = json.dumps(dataclasses.asdict(console or ConsoleSettings()))
    uvicorn.run(
        f"{__name__}:worker_app",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **options,  # type: ignore[arg-type]
    )


def worker_app() -> FastAPI:
    """The app of one worker process (``serve`` with ``workers`` > 1)."""
    settings = ConsoleSettings(**json.loads(os.environ[_CONSOLE_ENV]))
    app = create_app_from_url(os.environ[_DB_ENV], settings)
    settle_for_serving()
    return app

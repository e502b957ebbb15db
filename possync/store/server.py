"""Running the store server process."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import ssl
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from possync.store.app import create_app_from_url
from possync.store.console.base import ConsoleSettings
from possync.transport import keepalive
from possync.transport.heap import settle_for_serving
from possync.transport.workers import WORKER_HEALTHCHECK_SECONDS, check_workers


class TlsFilesError(Exception):
    """A certificate or key that cannot serve TLS; says which and why."""


def check_tls_files(cert: Path | None, key: Path | None) -> None:
    """Refuse, before anything listens, a certificate and key that are not both
    given, not readable, or do not make a TLS server (not PEM, not a pair)."""
    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise TlsFilesError("--tls-cert and --tls-key go together: give both, or neither")
    for option, path in (("--tls-cert", cert), ("--tls-key", key)):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise TlsFilesError(f"cannot read {option} {path}: {exc.strerror or exc}") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as exc:
        raise TlsFilesError(
            f"{cert} and {key} cannot serve TLS ({exc}): the certificate (with its chain) "
            "and its private key must be PEM files that belong together, the key unencrypted"
        ) from None


def serve(
    db_url: str,
    host: str,
    port: int,
    console: ConsoleSettings | None = None,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    workers: int = 1,
) -> None:
    check_tls_files(tls_cert, tls_key)
    check_workers(db_url, workers)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    tls = {"ssl_certfile": str(tls_cert), "ssl_keyfile": str(tls_key)} if tls_cert else {}
    options = keepalive.server_options(host, port, **tls)
    if workers == 1:
        app = create_app_from_url(db_url, console)
        settle_for_serving()
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    # Each worker process builds its own app (and engine) from the environment:
    # uvicorn starts workers from an import string, not from an app object.
    os.environ[_DB_ENV] = db_url
    os.environ[_CONSOLE_ENV] = json.dumps(
        dataclasses.asdict(console or ConsoleSettings()), default=str
    )
    uvicorn.run(
        f"{__name__}:worker_app",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **options,  # type: ignore[arg-type]
    )


_DB_ENV = "POSSYNC_SERVE_DB"
_CONSOLE_ENV = "POSSYNC_SERVE_CONSOLE"


def worker_app() -> FastAPI:
    """The app of one worker process (``serve`` with ``workers`` > 1)."""
    settings = json.loads(os.environ[_CONSOLE_ENV])
    settings["backup_dir"] = Path(settings["backup_dir"])
    app = create_app_from_url(os.environ[_DB_ENV], ConsoleSettings(**settings))
    settle_for_serving()
    return app

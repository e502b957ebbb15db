"""Running the store server process."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import uvicorn

from possync.store.app import create_app_from_url
from possync.store.console.app import ConsoleSettings


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
) -> None:
    check_tls_files(tls_cert, tls_key)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app_from_url(db_url, console)
    tls = {"ssl_certfile": str(tls_cert), "ssl_keyfile": str(tls_key)} if tls_cert else {}
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **tls)  # type: ignore[arg-type]

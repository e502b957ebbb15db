"""What the store knows of its own TLS, kept in its ``sync_state`` (the engine's
key/value table: not replicated, no schema change): the self-signed certificate
``store init`` made, its fingerprint, and how the server last started serving.

``tls_cert_sha256`` is what tills pin: ``store terminal add`` prints it with the
registration code and offline backups carry it.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail.errors import RetailError
from possync.sync import state
from possync.sync.clock import utc_now
from possync.sync.db import read_tx, write_tx
from possync.transport.tls import cert_file_fingerprint, is_loopback, show_pin

CERT_SHA256 = "tls_cert_sha256"  # hex SHA-256 of the DER certificate served (or made)
CERT_FILE = "tls_cert_file"  # the self-signed certificate made by store init
KEY_FILE = "tls_key_file"  # and its key (0600)
SERVING = "serving"  # JSON: how the server last started (scheme, host, port, ...)
CERT_NAME, KEY_NAME = "store-cert.pem", "store-key.pem"


class TlsSetupError(RetailError):
    """The store's TLS cannot be set up as asked; says what to do."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    sha256: str
    made: bool  # made now (False: the one made before, kept)


def default_dir(engine: sa.Engine) -> Path:
    """Beside a SQLite database; in the current directory for a database server."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        return Path(engine.url.database).resolve().parent
    return Path.cwd()


def self_signed(
    engine: sa.Engine, directory: Path | None, hosts: list[str], common_name: str
) -> Certificate:
    """The store's self-signed certificate: the one recorded if its files are still
    there (a pinned certificate is never replaced behind the tills' backs), else one
    found in ``directory`` (a database made again), else a new one. Recorded, with
    its fingerprint, in the store's sync_state."""
    from possync.store import selfsigned  # cryptography: only when a certificate is made

    recorded = recorded_files(engine)
    if recorded is not None and recorded[0].exists() and recorded[1].exists():
        cert, key = recorded
        made = False
    else:
        where = (directory or default_dir(engine)).resolve()
        cert, key = where / CERT_NAME, where / KEY_NAME
        made = not cert.exists() and not key.exists()
        if made:
            selfsigned.make(cert, key, hosts, common_name)
        elif not (cert.exists() and key.exists()):
            raise TlsSetupError(
                f"{where} holds only one of {CERT_NAME} and {KEY_NAME}: move it away "
                "(or give --tls-dir) to make a new certificate"
            )
    check_pair(cert, key)
    sha256 = cert_file_fingerprint(cert)
    with write_tx(engine) as conn:
        state.put(conn, CERT_FILE, str(cert))
        state.put(conn, KEY_FILE, str(key))
        state.put(conn, CERT_SHA256, sha256)
    return Certificate(cert, key, sha256, made)


def check_pair(cert: Path, key: Path) -> None:
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise TlsSetupError(
            f"{cert} and {key} cannot serve TLS ({exc}): the certificate and its "
            "unencrypted private key must be PEM files that belong together"
        ) from None


def recorded_files(engine: sa.Engine) -> tuple[Path, Path] | None:
    with read_tx(engine) as conn:
        cert, key = state.get(conn, CERT_FILE), state.get(conn, KEY_FILE)
    return (Path(cert), Path(key)) if cert and key else None


def files_to_serve(
    engine: sa.Engine, cert: Path | None, key: Path | None, *, insecure_http: bool
) -> tuple[Path, Path] | None:
    """The certificate and key ``store serve`` uses: those given, else the
    self-signed pair ``store init`` made, unless ``--insecure-http`` asks for plain
    HTTP. A recorded pair whose files are gone is an error, never plain HTTP."""
    if cert is not None and key is not None:
        if insecure_http:
            raise TlsSetupError("--insecure-http serves plain HTTP: give it, or --tls-cert")
        return cert, key
    if insecure_http:
        return None
    recorded = recorded_files(engine)
    if recorded is None:
        return None
    for path in recorded:
        if not path.exists():
            raise TlsSetupError(
                f"the store's certificate made by 'store init' is gone ({path} is missing): "
                "put it back (tills pinned it), give --tls-cert/--tls-key, or serve plain "
                "HTTP with --insecure-http"
            )
    return recorded


def prepare(
    engine: sa.Engine,
    host: str,
    port: int,
    cert: Path | None,
    key: Path | None,
    *,
    insecure_http: bool,
) -> tuple[Path | None, Path | None]:
    """What ``store serve`` is about to do, decided and recorded before it listens:
    the files to serve TLS with (None, None: plain HTTP). Plain HTTP beyond this
    machine is refused unless ``--insecure-http`` says so, then logged loudly."""
    files = files_to_serve(engine, cert, key, insecure_http=insecure_http)
    if files is None and not is_loopback(host) and not insecure_http:
        raise TlsSetupError(
            f"--host {host} serves the store beyond this machine, where terminal secrets, "
            "registration codes and console passwords would travel in clear: give "
            "--tls-cert and --tls-key (or make a certificate with 'possync store init "
            "--self-signed-cert'), or --insecure-http on a network you fully control"
        )
    record_serving(engine, host, port, files[0] if files else None, insecure_http=insecure_http)
    if files is None and not is_loopback(host):
        banner = "!" * 78
        logging.getLogger("possync").warning(
            "\n%s\nINSECURE: the store is served over plain HTTP on %s (--insecure-http): "
            "terminal secrets, registration codes and console passwords travel in clear to "
            "anyone on that network\n%s",
            banner,
            host,
            banner,
        )
    return files if files is not None else (None, None)


def record_serving(
    engine: sa.Engine, host: str, port: int, cert: Path | None, *, insecure_http: bool
) -> dict[str, Any]:
    """Written when the server starts, for the dashboard and ``store status``; the
    served certificate's fingerprint becomes the one tills are told to pin."""
    sha256 = cert_file_fingerprint(cert) if cert is not None else None
    record = {
        "scheme": "https" if cert is not None else "http",
        "host": host,
        "port": port,
        "beyond_loopback": not is_loopback(host),
        "insecure_http": insecure_http,
        "cert_sha256": sha256,
        "since": utc_now(),
    }
    with write_tx(engine) as conn:
        if sha256 is not None:
            state.put(conn, CERT_SHA256, sha256)
        state.put(conn, SERVING, orjson.dumps(record).decode())
    return record


def serving(conn: sa.Connection) -> dict[str, Any] | None:
    """How the server last started, or None if it never did since this release."""
    raw = state.get(conn, SERVING)
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None


def pin(conn: sa.Connection) -> str | None:
    """``sha256:...`` of the store's certificate, for tills to pin (None: no TLS
    certificate known to the store)."""
    found = state.get(conn, CERT_SHA256)
    return show_pin(found) if found else None

"""A self-signed certificate for a store server (``store init --self-signed-cert``).

No CA vouches for it: tills check it by its fingerprint, pinned at registration
(possync/transport/tls.py). Browsers opening the console will warn once; an
administrator can compare the fingerprint the browser shows with the one
``store terminal add`` prints.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from possync.transport.tls import fingerprint

# Long-lived on purpose: a pinned certificate is checked by fingerprint, not by
# date, and replacing it means pinning the new one on every till.
VALID_DAYS = 10 * 365


def default_hosts() -> list[str]:
    """localhost, 127.0.0.1 and this machine's name: the store is reached by one of
    these on a one-shop network without DNS of its own."""
    return ["localhost", "127.0.0.1", socket.gethostname()]


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return x509.DNSName(host)


def make(cert_path: Path, key_path: Path, hosts: list[str], common_name: str) -> str:
    """Write a new key (0600, made so: never readable by others, even for an instant)
    and its self-signed certificate for ``hosts``; return the certificate's
    fingerprint. Neither file may exist yet."""
    names = list(dict.fromkeys(h.strip() for h in hosts if h.strip()))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))  # a till whose clock is a bit behind
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    _write_new(key_path, key_pem, 0o600)
    try:
        _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    except BaseException:
        with contextlib.suppress(OSError):
            key_path.unlink()
        raise
    return fingerprint(cert.public_bytes(serialization.Encoding.DER))


def _write_new(path: Path, content: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(content)

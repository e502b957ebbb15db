"""Certificate fingerprints and pinning (issue 11).

A store with a self-signed certificate cannot be checked against any CA; a till
checks it by the SHA-256 fingerprint of its DER certificate instead, the *pin*,
handed over with the registration code. The check runs inside the TLS handshake
(``ssl.SSLContext.sslsocket_class``, which httpx's socket layer goes through), so a
store that shows another certificate is refused before a single byte of HTTP, and
therefore before any code, secret or data, is sent to it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import ssl
from pathlib import Path

PIN_PREFIX = "sha256:"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+.*?-----END CERTIFICATE-----", re.DOTALL)


class PinError(ValueError):
    """A pin that is not a SHA-256 fingerprint; says what was expected."""


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, as 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def pem_fingerprint(pem: str) -> str:
    """The fingerprint of the first certificate of a PEM text (a chain file starts
    with the server's own certificate)."""
    found = _PEM_CERT.search(pem)
    if found is None:
        raise ValueError("no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return fingerprint(ssl.PEM_cert_to_DER_cert(found.group(0)))


def cert_file_fingerprint(path: Path) -> str:
    return pem_fingerprint(path.read_text(encoding="ascii", errors="replace"))


def parse_pin(text: str) -> str:
    """``sha256:<64 hex>`` (as printed by ``store terminal add``), also with colons
    between bytes or in capitals as other tools print them; returns the 64 hex digits."""
    value = text.strip().lower()
    value = value.removeprefix(PIN_PREFIX).replace(":", "")
    if not _HEX64.fullmatch(value):
        raise PinError(
            f"a pin is 'sha256:' and the 64 hex digits of the store certificate's SHA-256 "
            f"fingerprint, got {text[:80]!r}"
        )
    return value


def show_pin(hex_digest: str) -> str:
    return PIN_PREFIX + hex_digest


class PinMismatch(ssl.SSLCertVerificationError):
    """The server's certificate is not the pinned one."""

    def __init__(self, expected: str, seen: str) -> None:
        super().__init__(f"certificate fingerprint {show_pin(seen)}, pinned {show_pin(expected)}")
        self.expected, self.seen = expected, seen
        self.verify_message = f"pinned {show_pin(expected)}, the server showed {show_pin(seen)}"


class _PinnedSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        context = self.context
        if not isinstance(context, PinnedContext):  # pragma: no cover - set by the context
            return
        der = self.getpeercert(binary_form=True) or b""
        seen = fingerprint(der)
        if not hmac.compare_digest(seen, context.pin):
            raise PinMismatch(context.pin, seen)


class PinnedContext(ssl.SSLContext):
    """A client context that accepts exactly one certificate, by its fingerprint."""

    pin: str


def pinned_context(pin: str) -> PinnedContext:
    """How a till checks a store pinned by ``pin``. Name and dates are not checked:
    the pin names one certificate, whatever it says (a self-signed one made by
    ``store init`` for the addresses known then), and the chain is not checked
    against CAs: for one server a pin is stronger than any CA."""
    context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.pin = parse_pin(pin)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = _PinnedSocket
    return context


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (a host name other than localhost may
    resolve to anything, so it is not)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

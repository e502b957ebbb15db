"""How a till trusts its store's address (issue 11): checked by a pinned
certificate fingerprint, a CA of its own, or the system's CAs; plain HTTP beyond
this machine only when asked for by name (``--insecure-http``), and remembered.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from possync.sync import state
from possync.sync.db import write_tx
from possync.terminal.local import Terminal, TlsSetupError
from possync.transport.tls import PinError, is_loopback, parse_pin, show_pin

# "1" when plain HTTP to a store beyond this machine was accepted by --insecure-http
INSECURE_HTTP = "store_insecure_http"


def check_pin(text: str) -> str:
    """A pin as given on the command line, as 64 hex digits; refused with what a pin
    looks like."""
    try:
        return parse_pin(text)
    except PinError as exc:
        raise TlsSetupError(str(exc)) from None


def check_store_url(url: str, *, insecure_http: bool, pinned: bool) -> None:
    """Refuse, before anything is sent, a store address over which the code, the
    secret and the sales would travel in clear to another machine, unless the
    operator said so; and a pin for an address that has no certificate to pin."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TlsSetupError(f"the store address must be http(s)://HOST[:PORT], got {url!r}")
    if parts.scheme == "http" and pinned:
        # never a silent downgrade: a pinned till does not drop to plain HTTP
        raise TlsSetupError(
            f"a pin checks the store's TLS certificate, but {url} is plain HTTP: give the "
            "store's https:// address (or forget the pin with --system-ca)"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not insecure_http:
        raise TlsSetupError(
            f"{url} is plain HTTP to another machine: the registration code, this till's "
            "secret and every sale would travel in clear. Give the store's https:// "
            "address (with --pin or --ca-file), or --insecure-http on a network you fully "
            "control"
        )


def remember_insecure_http(terminal: Terminal, url: str, insecure_http: bool) -> None:
    """Record whether this till's link to its store is plain HTTP to another machine
    by choice (shown by pos status and pos config)."""
    plain_remote = url.startswith("http://") and not is_loopback(urlsplit(url).hostname or "")
    with write_tx(terminal.engine) as conn:
        if plain_remote and insecure_http:
            state.put(conn, INSECURE_HTTP, "1")
        else:
            state.delete(conn, INSECURE_HTTP)


def describe(terminal: Terminal, url: str | None) -> dict[str, Any]:
    """For ``pos status`` and ``pos config``: how the store's link is protected."""
    pin = terminal.store_pin()
    plain = bool(url) and str(url).startswith("http://")
    if plain:
        checked = "plain-http"
    elif pin:
        checked = "pinned"
    elif terminal.store_ca():
        checked = "ca-file"
    else:
        checked = "system-ca"
    return {
        "store_tls": checked,
        "store_plain_http": plain,
        "store_insecure_http": terminal.get_state(INSECURE_HTTP) == "1",
        "store_tls_pin": show_pin(_hex(pin)) if pin else None,
    }


def _hex(pin: str) -> str:
    try:
        return parse_pin(pin)
    except PinError:
        return pin  # shown as stored: the client refuses it with the reason

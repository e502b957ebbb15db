"""Which sync protocol a request speaks, and which one the server speaks.

Every request of a child carries ``Possync-Protocol: N``; a request without it
comes from release 0.1.0, which spoke protocol 1 and knew no header. Every answer
of the server carries the header too, so that a child learns from any response,
at no extra round trip, that its parent is older than itself (and then stops
before it applies or sends anything the parent cannot read).
"""

from __future__ import annotations

from typing import Any

from possync import __version__
from possync.sync.errors import UnsupportedProtocol
from possync.sync.tables import SyncSpec

HEADER = "Possync-Protocol"
# The installation a child's request comes from (a random id made when its database
# was created): a copy of a child's database is told apart from the child by it.
INSTALLATION_HEADER = "Possync-Installation"
PROTOCOL_BEFORE_HEADER = 1  # what a request without the header speaks


def parse(value: str | None) -> int | None:
    """The protocol named by a header value (None: absent or not a small number)."""
    if value is None:
        return PROTOCOL_BEFORE_HEADER
    value = value.strip()
    if not value.isdigit() or len(value) > 4:
        return None
    return int(value)


def installation(value: str | None) -> str | None:
    """A request's installation id: None if absent (a release before 0.2.0)."""
    if value is None:
        return None
    value = value.strip()
    if not 1 <= len(value) <= 64 or not all(c.isalnum() or c == "-" for c in value):
        raise UnsupportedProtocol(f"{INSTALLATION_HEADER}: expected an id, got {value!r:.20}")
    return value


def requested(value: str | None, spec: SyncSpec) -> int:
    """The protocol a request speaks, refused clearly if this server cannot."""
    protocol = parse(value)
    speaks = f"{min(spec.protocols)} to {spec.protocol}"
    if protocol is None:
        raise UnsupportedProtocol(f"{HEADER}: expected a protocol number, got {value!r:.20}")
    if protocol > spec.protocol:
        raise UnsupportedProtocol(
            f"this node speaks sync protocol {protocol}, but the server runs possync "
            f"{__version__}, which speaks protocols {speaks}: the server must be upgraded "
            "first; until then the node keeps working offline and keeps its changes",
            supported=list(spec.protocols),
        )
    if protocol not in spec.protocols:
        raise UnsupportedProtocol(
            f"this node speaks sync protocol {protocol}, which the server (possync "
            f"{__version__}, protocols {speaks}) no longer serves: upgrade this node",
            supported=list(spec.protocols),
        )
    return protocol


class AnnounceProtocol:
    """ASGI middleware: every answer says which protocol the server speaks. Plain
    ASGI rather than Starlette's BaseHTTPMiddleware, so it costs nothing per request
    beyond adding one header."""

    def __init__(self, app: Any, protocol: int) -> None:
        self.app = app
        self.header = (HEADER.lower().encode(), str(protocol).encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def announce(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], self.header]
            await send(message)

        await self.app(scope, receive, announce)

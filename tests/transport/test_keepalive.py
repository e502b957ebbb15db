"""An idle connection: the store keeps it open longer than a sync client keeps it
(keepalive.py), so that a client never reuses a connection the server is closing."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from possync.store.process import StoreProcess
from possync.transport import keepalive
from possync.transport.client import SyncClient
from tests.e2e.helpers import make_store

HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
IDLE = 6.5  # beyond uvicorn's and httpx's default of 5 s


def _answer(sock: socket.socket) -> bytes:
    """One response's head and body (the health answer is small; read until the
    body its Content-Length announces has come)."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_the_store_keeps_an_idle_connection_beyond_five_seconds(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(db_url, items=5).dispose()
    with (
        StoreProcess(db_url) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        sock.settimeout(10)
        sock.sendall(HEALTH)
        assert _answer(sock).startswith(b"HTTP/1.1 200")
        time.sleep(IDLE)  # uvicorn's default would have closed it after 5 s
        sock.sendall(HEALTH)  # the same connection, reused
        assert _answer(sock).startswith(b"HTTP/1.1 200")


def test_a_sync_client_gives_a_connection_up_well_before_the_server() -> None:
    assert keepalive.CLIENT_SECONDS * 2 <= keepalive.SERVER_SECONDS
    with SyncClient("http://127.0.0.1:9") as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert pool._keepalive_expiry == keepalive.CLIENT_SECONDS

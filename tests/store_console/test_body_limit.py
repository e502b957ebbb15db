"""Request bodies are bounded before anything parses them (issue 11): a body over
the limit, declared or streamed (chunked, no Content-Length), is refused with 413
and never read whole, so a 50 MB sign-in body costs the server nothing."""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail.schema import item
from possync.store.console.app import FORM_LIMIT, SIGN_IN_LIMIT
from possync.store.console.items import MAX_CSV_BYTES
from possync.store.process import StoreProcess
from possync.sync.db import read_tx
from tests.e2e.helpers import make_store
from tests.store_console.conftest import login_token


def chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"a" * piece


def test_a_sign_in_body_over_the_limit_is_refused_unread(client: TestClient) -> None:
    token = login_token(client)
    declared = client.post(
        "/console/login",
        content=b"username=admin&csrf_token=" + token.encode() + b"&x=" + b"a" * SIGN_IN_LIMIT,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert declared.status_code == 413
    assert "larger than this page accepts (8 KiB). Nothing was read or changed" in declared.text
    streamed = client.post(  # a generator: chunked, no Content-Length
        "/console/login",
        content=chunks(SIGN_IN_LIMIT + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413  # not the CSRF check's 403: the form was never parsed
    assert "content-length" not in streamed.request.headers
    # a form of ordinary size is read and checked as before
    ordinary = client.post(
        "/console/login", data={"username": "admin", "password": "x", "csrf_token": token}
    )
    assert ordinary.status_code == 401 and "Wrong user name or password." in ordinary.text


def test_a_console_form_over_the_limit_changes_nothing(
    signed_in: tuple[TestClient, str], store: sa.Engine
) -> None:
    client, csrf = signed_in
    form = {"csrf_token": csrf, "sku": "NEWBIG", "price": "1.00", "tax_code": "STD"}
    refused = client.post("/console/items/new", data={**form, "name": "x" * FORM_LIMIT})
    assert refused.status_code == 413
    streamed = client.post(
        "/console/items/new",
        content=chunks(FORM_LIMIT + 1),
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf},
    )
    assert streamed.status_code == 413
    with read_tx(store) as conn:
        assert conn.execute(sa.select(item).where(item.c.sku == "NEWBIG")).first() is None
    # the catalog import takes files far larger than a form
    big = "sku,barcode,name,price,tax_code\n" + "".join(
        f"NEW{i},,{'n' * 150},1.00,STD\n" for i in range(1000)
    )
    assert len(big) > FORM_LIMIT
    imported = client.post(
        "/console/items-import",
        data={"csrf_token": csrf},
        files={"file": ("items.csv", big.encode(), "text/csv")},
    )
    assert imported.status_code == 200 and "Imported 1000 items" in imported.text
    too_big = client.post(
        "/console/items-import",
        content=chunks(MAX_CSV_BYTES + 2 * 1024 * 1024, 1024 * 1024),
        headers={"content-type": "multipart/form-data; boundary=x", "x-csrf-token": csrf},
    )
    assert too_big.status_code == 413 and "(21 MiB)" in too_big.text


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def send_until_answered(port: int, head: bytes, body: Iterator[bytes]) -> tuple[bytes, int]:
    """Send ``head`` then the body's pieces, stopping as soon as the server answers;
    returns (the answer, body bytes sent)."""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        for piece in body:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


def http_chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for piece in chunks(total, size):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


@pytest.mark.e2e
def test_a_50_mb_sign_in_body_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    make_store(db_url, items=5).dispose()
    total = 50 * 1024 * 1024
    with StoreProcess(db_url) as server:
        assert server.proc is not None
        before = rss_kib(server.proc.pid)
        started = time.monotonic()
        answer, sent = send_until_answered(
            server.port,
            b"POST /console/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
            http_chunks(total),
        )
        took = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"Nothing was read or changed" in answer
        # refused long before the 50 MB were sent (what was sent is mostly the
        # kernel's socket buffers: the server read at most the 8 KiB limit)
        assert sent < total // 4, sent
        declared, sent_declared = send_until_answered(
            server.port,
            b"POST /console/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {total}\r\n\r\n".encode(),
            chunks(total, 64 * 1024),
        )
        assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
        assert sent_declared < total // 4, sent_declared
        grew = rss_kib(server.proc.pid) - before
        assert grew < 10 * 1024, f"the server grew by {grew} KiB"
        print(
            f"chunked: refused after {sent} bytes sent, {took * 1000:.0f} ms; "
            f"declared: after {sent_declared}; RSS grew {grew} KiB"
        )

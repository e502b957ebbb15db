"""A loopback TCP proxy between a terminal and its store that cuts the connection
at a chosen byte of a chosen HTTP message, request or response.

It reads just enough HTTP/1.1 to know where each message starts and ends (the
head up to the blank line, then ``Content-Length`` bytes of body), numbers the
requests and the responses that pass through it (0, 1, 2, ... in each direction,
across connections), and records every message's size. A :class:`Cut` names a
message and a byte offset in it: the proxy forwards exactly that many bytes of the
message, then drops both ends of the connection, as a network cut would.

Run once without a cut, it records the sizes of a clean exchange; run with cuts
at offsets spread over every request and every response, it interrupts a sync at
each of them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Literal

Direction = Literal["request", "response"]


@dataclass(frozen=True)
class Cut:
    """Where to cut: the ``index``-th message of ``direction`` (0 is the first
    request, or response, through this proxy), after ``at`` of its bytes. ``at`` is
    a byte offset (negative: from the end, so -1 forwards all but the last byte) or
    a fraction of the message in ``[0, 1)``, or with ``body`` an offset from the first
    byte of the body; it is resolved once the message's head gives its size, and
    always falls within the message (at most its size - 1)."""

    direction: Direction
    index: int
    at: int | float
    body: bool = False  # ``at`` counts from the first byte of the body (-1: the head's last)

    def offset(self, size: int, head: int) -> int:
        if isinstance(self.at, float):
            wanted = int(self.at * size)
        elif self.body:
            wanted = head + self.at
        else:
            wanted = self.at if self.at >= 0 else size + self.at
        return max(0, min(wanted, size - 1))


@dataclass(frozen=True)
class Message:
    direction: Direction
    index: int
    size: int  # bytes: head and body
    head: int  # bytes of the head (request or status line and headers)
    line: str  # the request or status line, e.g. "POST /api/v1/sync/push HTTP/1.1"


@dataclass(frozen=True)
class CutDone:
    """Where a cut landed: ``offset`` bytes of the message were forwarded."""

    message: Message
    offset: int


class _Stream:
    """One direction of one connection: splits the bytes into HTTP messages."""

    def __init__(self, proxy: CuttingProxy, direction: Direction) -> None:
        self.proxy = proxy
        self.direction = direction
        self.pending = b""  # bytes of a head not yet complete
        self.message: Message | None = None
        self.sent = 0  # bytes of the current message forwarded
        self.stop_at: int | None = None  # cut the current message after this many bytes

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """What to forward of ``data``, and whether to cut after it."""
        out = b""
        data = self.pending + data
        self.pending = b""
        while data:
            if self.message is None:
                end = data.find(b"\r\n\r\n")
                if end < 0:
                    self.pending = data
                    return out, False
                head = data[: end + 4]
                self.message, self.stop_at = self.proxy._begin(self.direction, head)
                self.sent = 0
            assert self.message is not None
            left = self.message.size - self.sent
            if self.stop_at is not None:
                take = min(len(data), self.stop_at - self.sent)
                out += data[:take]
                self.sent += take
                if self.sent == self.stop_at:
                    self.proxy._cut_done(self.message, self.stop_at)
                    return out, True
                return out, False
            take = min(len(data), left)
            out += data[:take]
            self.sent += take
            data = data[take:]
            if self.sent == self.message.size:
                self.message = None
        return out, False


class CuttingProxy:
    def __init__(self, upstream_port: int, cut: Cut | None = None) -> None:
        self.upstream_port = upstream_port
        self.cut = cut
        self.messages: list[Message] = []  # every message that began, in order
        self.done: CutDone | None = None  # where the cut landed, once it did
        self._counts: dict[Direction, int] = {"request": 0, "response": 0}
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sizes(self, direction: Direction) -> list[int]:
        return [m.size for m in self.messages if m.direction == direction]

    def _begin(self, direction: Direction, head: bytes) -> tuple[Message, int | None]:
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "transfer-encoding":
                raise AssertionError("the proxy only follows messages with a Content-Length")
        with self._lock:
            index = self._counts[direction]
            self._counts[direction] += 1
            message = Message(direction, index, len(head) + length, len(head), lines[0])
            self.messages.append(message)
            cut = self.cut
            stop = None
            if cut is not None and cut.direction == direction and cut.index == index:
                stop = cut.offset(message.size, message.head)
        return message, stop

    def _cut_done(self, message: Message, offset: int) -> None:
        with self._lock:
            self.done = CutDone(message, offset)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for src, dst, direction in (
                (client, upstream, "request"),
                (upstream, client, "response"),
            ):
                stream = _Stream(self, direction)  # type: ignore[arg-type]
                threading.Thread(
                    target=self._pipe, args=(src, dst, stream, client, upstream), daemon=True
                ).start()

    def _pipe(
        self, src: socket.socket, dst: socket.socket, stream: _Stream, *both: socket.socket
    ) -> None:
        try:
            while data := src.recv(65536):
                out, cut = stream.feed(data)
                if out:
                    dst.sendall(out)
                if cut:
                    break
        except OSError:
            pass
        for s in both:  # cut, or one side closed: both ends see the connection drop
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

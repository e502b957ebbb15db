"""A loopback TCP proxy that cuts the connection after a given number of bytes,
to interrupt a sync at any byte of a request or a response."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttingProxy:
    def __init__(self, upstream_port: int, cut_after: int | None) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after  # bytes, both directions together; None: never
        self.transferred = 0
        self.cuts = 0
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

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(a, b, client, upstream), daemon=True
                ).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, *both: socket.socket) -> None:
        try:
            while data := src.recv(4096):
                with self._lock:
                    allowed = len(data)
                    if self.cut_after is not None:
                        allowed = max(0, min(allowed, self.cut_after - self.transferred))
                    self.transferred += allowed
                if allowed:
                    dst.sendall(data[:allowed])
                if allowed < len(data):
                    with self._lock:
                        self.cuts += 1
                    break
        except OSError:
            pass
        for s in both:  # cut: both ends see the connection drop
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

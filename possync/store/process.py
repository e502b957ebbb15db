"""Starting and stopping a store server (or head office's) as a separate process
(demo, tests, benchmarks): a real process on a free loopback port."""

from __future__ import annotations

import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

PORT_RANGE_ENV = "POSSYNC_PORT_RANGE"  # e.g. "20000-24999"


def free_port() -> int:
    """A free loopback port: from ``$POSSYNC_PORT_RANGE`` if set (so parallel test
    workers, each with its own range, never pick a port another one just freed),
    else one the kernel chooses."""
    spec = os.environ.get(PORT_RANGE_ENV)
    if spec:
        low, high = (int(p) for p in spec.split("-"))
        for port in random.sample(range(low, high + 1), min(200, high - low + 1)):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in {spec}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoreProcess:
    serve = ("store", "serve")  # the possync command that runs the server

    def __init__(
        self,
        db_url: str,
        port: int | None = None,
        log_path: Path | None = None,
        extra_args: list[str] | None = None,
        tls: tuple[Path, Path] | None = None,
        ca_file: Path | None = None,
        https: bool = False,
    ) -> None:
        """``tls``: serve HTTPS with this certificate and key; ``ca_file``: the CA
        that signed it, to check the server while waiting for it to start;
        ``https``: the server serves HTTPS by itself (a certificate from store init)."""
        self.db_url = db_url
        self.extra_args = extra_args or []  # more `store serve` options
        self.tls = tls
        self.ca_file = ca_file
        self.https = https or tls is not None
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The server's command line (a subclass may run it under a profiler)."""
        return [
            sys.executable,
            "-m",
            "possync",
            *self.serve,
            "--db",
            self.db_url,
            "--port",
            str(self.port),
            *(("--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])) if self.tls else ()),
            *self.extra_args,
        ]

    def start(self, timeout: float = 30.0) -> StoreProcess:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"store server exited with {self.proc.returncode}")
            try:
                # Checked against ca_file when given; a loopback liveness probe may
                # skip the check otherwise (it sends nothing secret).
                verify = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else False
                answer = httpx.get(self.url + "/api/v1/health", timeout=1.0, verify=verify)
                if answer.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("store server did not start in time")

    def stop(self) -> None:
        """Graceful stop (SIGTERM)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as in a crash or power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> StoreProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HeadOfficeProcess(StoreProcess):
    """``possync ho serve`` on a free loopback port (``extra_args``: --workers...)."""

    serve = ("ho", "serve")

"""Head office as a real process for bench/ho_scale.py, and what it uses while the
stores sync: memory of all its processes summed (sampled), CPU of its processes
and of its PostgreSQL backends, and the connections it holds on its database.

Everything is read from /proc (psutil is not a dependency) and from PostgreSQL's
``pg_stat_activity``; PostgreSQL runs on this machine, so its backends' /proc
entries are readable.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa

TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_EVERY = 0.2  # seconds


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def workers(pid: int) -> list[int]:
    """The worker processes uvicorn started (not multiprocessing's resource tracker)."""
    found = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


class Watch:
    """Samples head office (its main process and workers) and its database's
    backends in a thread, from ``start()`` to ``stop()``: the peak of the memory
    summed, the peak of the connections, and each backend's CPU as last seen (a
    backend closed between two samples loses at most one sample's CPU)."""

    def __init__(self, main_pid: int, admin: sa.Engine, database: str) -> None:
        self.pids = [main_pid, *workers(main_pid)]
        self.admin = admin  # autocommit: a transaction would see one snapshot of the activity
        self.database = database
        self.peak_rss_kib = 0
        self.peak_connections = 0
        self._backend_cpu: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ho-watch", daemon=True)

    def start(self) -> Watch:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self._sample()

    def _sample(self) -> None:
        self.peak_rss_kib = max(self.peak_rss_kib, self.rss_kib())
        with self.admin.connect() as conn:
            query = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :db")
            backends = [int(p) for p in conn.execute(query, {"db": self.database}).scalars()]
        self.peak_connections = max(self.peak_connections, len(backends))
        seen = {pid: cpu_seconds(pid) for pid in backends}
        with self._lock:
            self._backend_cpu.update({p: t for p, t in seen.items() if t > 0})

    def rss_kib(self) -> int:
        return sum(_status_kib(pid, "VmRSS") for pid in self.pids)

    def high_water_kib(self) -> int:
        """Each process's own lifetime peak (VmHWM), summed: an upper bound. A worker
        reaches its peak while it starts (importing), above what it holds serving."""
        return sum(_status_kib(pid, "VmHWM") for pid in self.pids)

    def each_kib(self) -> list[dict[str, int]]:
        """Each process's resident memory now and its own peak."""
        return [
            {"pid": p, "rss_kib": _status_kib(p, "VmRSS"), "hwm_kib": _status_kib(p, "VmHWM")}
            for p in self.pids
        ]

    def cpu(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far of head office's processes and of its database's
        backends, by pid (compare two readings with ``cpu_between``)."""
        self._sample()
        with self._lock:
            backends = dict(self._backend_cpu)
        return {"head_office": {p: cpu_seconds(p) for p in self.pids}, "postgresql": backends}

    @staticmethod
    def cpu_between(
        before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
    ) -> dict[str, float]:
        """CPU used between two readings (a backend born in between counts from zero)."""
        return {
            f"{side}_s": sum(t - before[side].get(p, 0.0) for p, t in after[side].items())
            for side in ("head_office", "postgresql")
        }

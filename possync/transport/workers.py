"""How many server processes a database can take (store and head office alike)."""

from __future__ import annotations

# How long a worker may take to answer uvicorn's supervisor before it is killed and
# replaced. uvicorn's default (5 s) killed a worker in the middle of a push on a busy
# 2-core machine (CI): its answering thread waits for the interpreter lock behind the
# request threads. A worker that is really hung is still replaced, a minute later.
WORKER_HEALTHCHECK_SECONDS = 60


class WorkersError(Exception):
    """A number of workers this database cannot use; says why."""


def check_workers(db_url: str, workers: int, node: str = "store") -> None:
    if workers < 1:
        raise WorkersError("--workers is at least 1")
    if workers > 1 and db_url.startswith("sqlite"):
        raise WorkersError(
            f"--workers above 1 needs a PostgreSQL {node}: SQLite lets one process write at a "
            "time, so more workers would only queue on its lock (and wait out its busy "
            "timeout) instead of applying in parallel"
        )

"""How many server processes a database can take (store and head office alike)."""

from __future__ import annotations


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

"""Opening databases and running transactions, the same way on every dialect.

SQLite gets WAL and full synchronous commits (a sale reported as done survives a
power cut) and write transactions that take the write lock up front
(``BEGIN IMMEDIATE``), so a transaction never fails half-way when it first writes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from possync.sync.errors import UnstorableText

_READ_ONLY = "possync_read_only"
# What PostgreSQL rolls back to break a tie between transactions: a deadlock, a
# serialization failure. Taking the whole transaction again is the remedy.
RETRYABLE = frozenset({"40P01", "40001"})
T = TypeVar("T")


def is_sqlite(bind: sa.Engine | sa.Connection) -> bool:
    return bind.dialect.name == "sqlite"


def open_engine(url: str, *, pool_size: int = 5) -> sa.Engine:
    """An engine for any SQLAlchemy URL; SQLite and PostgreSQL are supported."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql"):
        engine = sa.create_engine(url, pool_size=pool_size, pool_pre_ping=True)
        event.listen(engine, "before_cursor_execute", _refuse_nul)
        return engine
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
    """PostgreSQL cannot hold a NUL character in text: psycopg's DataError was a 500
    wherever a request's string reached a query (a node id, a form field, a key).
    Refused before the statement runs, as bad input; its transaction rolls back."""
    if _holds_nul(parameters):
        raise UnstorableText("text with a NUL character (\\x00), which the database cannot store")


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let us issue BEGIN ourselves (the driver's implicit BEGIN is deferred).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def write_tx(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A read-write transaction, committed on success and rolled back on error."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def read_tx(engine: sa.Engine, *, repeatable: bool = False) -> Iterator[sa.Connection]:
    """A read-only transaction that does not block writers.

    ``repeatable`` gives every statement the same snapshot (PostgreSQL
    REPEATABLE READ; an SQLite read transaction always has one).
    """
    options: dict[str, Any] = {_READ_ONLY: True}
    if repeatable and engine.dialect.name != "sqlite":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


def is_retryable(exc: sa.exc.OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE


def write_retried(engine: sa.Engine, work: Callable[[sa.Connection], T], attempts: int) -> T:
    """``work`` in a write transaction, taken again after a short random pause when
    the database rolls it back for a deadlock or a serialization failure (up to
    ``attempts`` times; the last such failure is raised)."""
    for attempt in range(1, attempts + 1):
        try:
            with write_tx(engine) as conn:
                return work(conn)
        except sa.exc.OperationalError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("attempts must be at least 1")

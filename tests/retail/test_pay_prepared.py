"""Statements run on the driver (retail/prepared.py) read and write what SQLAlchemy
would, in the caller's transaction, on SQLite and (through SQLAlchemy) on
PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from possync.retail.prepared import Prepared, insert
from possync.sync.db import open_engine, read_tx, write_tx

metadata = sa.MetaData()
thing = sa.Table(
    "thing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("note", sa.String(20), server_default="none"),
)
NAMED = Prepared(
    sa.select(thing.c.id, thing.c.name, thing.c.active)
    .where(sa.or_(thing.c.name == sa.bindparam("a"), thing.c.name == sa.bindparam("b")))
    .where(thing.c.id > 0)  # a literal: a value of the statement's own
    .order_by(thing.c.id)
    .limit(5)
)
RENAME = Prepared(
    thing.update().where(thing.c.id == sa.bindparam("key")).values(name=sa.bindparam("to"))
)


def _engine(url: str) -> sa.Engine:
    engine = open_engine(url)
    metadata.create_all(engine)
    return engine


def test_reads_and_writes_what_sqlalchemy_would(db_url: str) -> None:
    engine = _engine(db_url)
    rows = [{"id": i, "name": f"n{i}", "active": i % 2 == 0} for i in range(1, 5)]
    with write_tx(engine) as conn:
        insert(conn, thing, rows)
        RENAME.run(conn, {"key": 3, "to": "three"})
        got = [tuple(r) for r in NAMED.rows(conn, {"a": "n2", "b": "three"})]
        assert NAMED.first(conn, {"a": "nobody", "b": "n4"})[0] == 4
    assert [(i, name, bool(active)) for i, name, active in got] == [
        (2, "n2", True),
        (3, "three", False),
    ]
    with read_tx(engine) as conn:  # the server's default for the column not given
        assert conn.execute(sa.select(thing.c.note).where(thing.c.id == 1)).scalar() == "none"
    engine.dispose()


def test_runs_in_the_callers_transaction(db_url: str) -> None:
    engine = _engine(db_url)
    with engine.connect() as conn:  # no transaction begun: one begins, as SQLAlchemy's
        insert(conn, thing, [{"id": 1, "name": "gone", "active": True}])
        assert conn.in_transaction()
        conn.rollback()
    with write_tx(engine) as conn:
        insert(conn, thing, [{"id": 2, "name": "kept", "active": True}])
    try:
        with write_tx(engine) as conn:
            RENAME.run(conn, {"key": 2, "to": "renamed"})
            raise RuntimeError("the sale fails after the statement")
    except RuntimeError:
        pass
    with read_tx(engine) as conn:
        assert conn.execute(sa.select(thing.c.id, thing.c.name)).all() == [(2, "kept")]
    engine.dispose()

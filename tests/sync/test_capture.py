"""Change capture by triggers, on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from possync.sync import log
from possync.sync.db import read_tx, write_tx
from possync.sync.log import LogFilter
from tests.sync.toy import SPEC, catalog, make_node

ALL = LogFilter(tables=("catalog", "shared", "event"))


def changes(engine: sa.Engine) -> list[log.Change]:
    with write_tx(engine) as conn:
        log.publish(conn)
    with read_tx(engine) as conn:
        return log.read(conn, ALL, after=0, through=log.head(conn), limit=1000)


def test_insert_update_delete_are_captured_in_order(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(), [{"key": 1, "name": "a", "price": 5, "active": True, "route": None}]
        )
        conn.execute(catalog.update().where(catalog.c.key == 1).values(price=7))
    with write_tx(engine) as conn:
        conn.execute(catalog.delete().where(catalog.c.key == 1))
    got = changes(engine)
    assert [(c.op, c.seq) for c in got] == [("I", 1), ("U", 2), ("D", 3)]
    assert got[1].row["price"] == 7 and got[1].row["name"] == "a"
    assert got[2].row == {"key": 1}


def test_writes_made_by_hand_in_sql_are_captured(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with engine.begin() as conn:  # plain SQL, no possync code path
        conn.exec_driver_sql(
            "INSERT INTO catalog (key, name, price, active) VALUES (9, 'by hand', 100, true)"
        )
    (change,) = changes(engine)
    assert change.table == "catalog" and change.row["name"] == "by hand"


def test_an_update_that_changes_nothing_is_not_captured(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(), [{"key": 1, "name": "a", "price": 5, "active": True, "route": "R1"}]
        )
        conn.execute(catalog.update().where(catalog.c.key == 1).values(price=5))
    assert [c.op for c in changes(engine)] == ["I"]


def test_capture_can_be_stamped_with_an_origin_or_suppressed(db_url: str) -> None:
    engine = make_node(db_url, "N")
    row = {"key": 1, "name": "a", "price": 5, "active": True, "route": None}
    with write_tx(engine) as conn, log.capturing_as(conn, "C7"):
        conn.execute(catalog.insert(), [row])
    with write_tx(engine) as conn, log.capturing_as(conn, log.SUPPRESS):
        conn.execute(catalog.insert(), [{**row, "key": 2}])
    with write_tx(engine) as conn:  # a later local write is captured again, unstamped
        conn.execute(catalog.insert(), [{**row, "key": 3}])
    got = changes(engine)
    assert [c.row["key"] for c in got] == [1, 3]
    echo_free = LogFilter(tables=("catalog",), exclude_origin="C7")
    with read_tx(engine) as conn:
        visible = log.read(conn, echo_free, after=0, through=log.head(conn), limit=10)
    assert [c.row["key"] for c in visible] == [3]


def test_sync_spec_tables_all_have_triggers(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(
                conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).scalars()
            )
        else:
            names = set(
                conn.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                ).scalars()
            )
    for t in SPEC.tables:
        assert {f"possync_{t.name}_{e}" for e in ("insert", "update", "delete")} <= names


def test_a_batch_is_planned_per_table_keeping_each_keys_last_state() -> None:
    from possync.sync.apply import plan

    def c(seq: int, table: str, op: str, key: int, price: int = 0) -> log.Change:
        row = (
            {"key": key}
            if op == "D"
            else {"key": key, "name": "n", "price": price, "active": True, "route": None}
        )
        if table == "event":
            row = {"event_id": str(key), "node": "C1", "payload": "p"}
        return log.Change(seq, table, op, row)

    steps = plan(
        SPEC,
        [
            c(1, "catalog", "I", 1, 10),
            c(2, "event", "I", 1),
            c(3, "catalog", "U", 1, 20),
            c(4, "catalog", "I", 2, 5),
            c(5, "event", "I", 2),
            c(6, "catalog", "D", 1),
            c(7, "catalog", "I", 1, 30),
        ],
    )
    assert [
        (t, op, [r["key"] if "key" in r else r["event_id"] for r in rows]) for t, op, rows in steps
    ] == [
        ("catalog", "I", [1, 2]),
        ("catalog", "D", [1]),
        ("catalog", "I", [1]),
        ("event", "I", ["1", "2"]),
    ]
    assert steps[0][2][0]["price"] == 20 and steps[2][2][0]["price"] == 30


def test_an_update_that_changes_the_key_deletes_the_old_key(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(), [{"key": 1, "name": "a", "price": 5, "active": True, "route": None}]
        )
        conn.execute(catalog.update().where(catalog.c.key == 1).values(key=2))
    got = changes(engine)
    assert [(c.op, c.row["key"]) for c in got] == [("I", 1), ("D", 1), ("U", 2)]


def test_one_statement_writing_many_rows_captures_each_in_order(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(),
            [
                {"key": k, "name": f"n{k}", "price": k, "active": True, "route": None}
                for k in range(1, 51)
            ],
        )
        conn.execute(catalog.update().where(catalog.c.key <= 10).values(price=0))
        conn.execute(catalog.update().where(catalog.c.key <= 20).values(price=0))
        conn.execute(catalog.delete().where(catalog.c.key > 45))
    got = changes(engine)
    assert [c.op for c in got] == ["I"] * 50 + ["U"] * 10 + ["U"] * 10 + ["D"] * 5
    assert sorted(c.row["key"] for c in got[60:70]) == list(range(11, 21))


def routed_changes(engine: sa.Engine) -> list[tuple[str, int, str | None, str | None]]:
    """Each change as (op, key, the row's route, the route it was captured for)."""
    with write_tx(engine) as conn:
        log.publish(conn)
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.text("SELECT op, row_data, route_key FROM sync_change ORDER BY seq")
        ).all()
    found = []
    for op, data, route_key in rows:
        row = orjson.loads(data)
        found.append((op.strip(), row["key"], row.get("route"), route_key))
    return found


def test_a_row_moved_to_another_route_is_sent_to_the_old_route_too(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(),
            [{"key": k, "name": "a", "price": 5, "active": True, "route": "R1"} for k in (1, 2, 3)],
        )
    with write_tx(engine) as conn:  # one statement moves two rows and leaves one
        conn.execute(
            catalog.update()
            .where(catalog.c.key <= 2)
            .values(route=sa.case((catalog.c.key == 1, "R2"), else_=None), price=6)
        )
        conn.execute(catalog.update().where(catalog.c.key == 3).values(price=7))
    got = routed_changes(engine)[3:]
    # Row 1: routed to R2, and the same row once more to R1, where it was. Row 2,
    # moved to everyone (NULL): once, since NULL reaches R1 already. Row 3: not moved.
    assert sorted(got) == sorted(
        [("U", 1, "R2", "R2"), ("U", 1, "R2", "R1"), ("U", 2, None, None), ("U", 3, "R1", "R1")]
    )
    assert got.index(("U", 1, "R2", "R2")) < got.index(("U", 1, "R2", "R1"))


def test_a_row_moved_from_everyone_to_one_route_is_sent_to_everyone(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(), [{"key": 1, "name": "a", "price": 5, "active": True, "route": None}]
        )
        conn.execute(catalog.update().where(catalog.c.key == 1).values(route="R2"))
    assert routed_changes(engine) == [
        ("I", 1, None, None),
        ("U", 1, "R2", "R2"),
        ("U", 1, "R2", None),
    ]


def test_a_move_that_changes_the_key_deletes_the_old_key_on_the_old_route(db_url: str) -> None:
    engine = make_node(db_url, "N")
    with write_tx(engine) as conn:
        conn.execute(
            catalog.insert(), [{"key": 1, "name": "a", "price": 5, "active": True, "route": "R1"}]
        )
        conn.execute(catalog.update().where(catalog.c.key == 1).values(key=2, route="R2"))
    changed = routed_changes(engine)[1:]
    assert [(op, key, route) for op, key, _, route in changed] == [
        ("D", 1, "R1"),
        ("U", 2, "R2"),
    ]


def test_a_move_keeps_the_guard_and_an_unchanged_row_captures_nothing(db_url: str) -> None:
    engine = make_node(db_url, "N")
    row = {"key": 1, "name": "a", "price": 5, "active": True, "route": "R1"}
    with write_tx(engine) as conn, log.capturing_as(conn, log.SUPPRESS):
        conn.execute(catalog.insert(), [row])
        conn.execute(catalog.update().where(catalog.c.key == 1).values(route="R2"))
    assert routed_changes(engine) == []
    with write_tx(engine) as conn, log.capturing_as(conn, "C7"):
        conn.execute(catalog.update().where(catalog.c.key == 1).values(route="R3"))
        conn.execute(catalog.update().where(catalog.c.key == 1).values(route="R3"))  # no-op
    with read_tx(engine) as conn:
        origins = conn.execute(sa.text("SELECT origin, route_key FROM sync_change")).all()
    assert sorted(origins) == [("C7", "R2"), ("C7", "R3")]
    echo_free = LogFilter(tables=("catalog",), exclude_origin="C7")
    with read_tx(engine) as conn:
        assert log.read(conn, echo_free, after=0, through=log.head(conn), limit=10) == []

"""Guessing registration codes (issue 11): an unknown terminal and a wrong code get
the same answer in about the same time, failures are limited per client address
and per node id, and a code is void after 5 wrong ones."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import offline_admin, store_admin
from possync.store.app import create_app
from possync.store.console import accounts
from possync.sync.db import read_tx, write_tx
from possync.sync.schema import sync_peer
from possync.transport.attempts import (
    CODE_FAILURES,
    Admitted,
    FailureWindow,
    TooManyFailures,
)
from tests.e2e.helpers import cli_json, make_store
from tests.store_console.conftest import PASSWORD, sign_in

WRONG = "AAAA-BBBB-CCCC-DDDD"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    engine = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    code = store_admin.add_terminal(engine, "T01").registration_code
    yield engine, code
    engine.dispose()


def client_at(engine: sa.Engine, address: str) -> TestClient:
    return TestClient(create_app(engine), client=(address, 50000), raise_server_exceptions=False)


def register(client: TestClient, node: str, code: str) -> httpx.Response:
    return client.post("/api/v1/register", json={"node": node, "code": code})


def registered_at(engine: sa.Engine) -> str | None:
    with read_tx(engine) as conn:
        return conn.execute(
            sa.select(sync_peer.c.registered_at).where(sync_peer.c.node_id == "T01")
        ).scalar_one()


def test_an_unknown_terminal_and_a_wrong_code_get_the_same_answer(
    store: tuple[sa.Engine, str],
) -> None:
    engine, _ = store
    app = create_app(engine)
    answers = {}
    for node in ("T01", "T99"):  # T01 exists, T99 does not
        with TestClient(app, client=(f"192.0.2.{len(answers) + 1}", 1)) as client:
            answers[node] = register(client, node, WRONG)
    known, unknown = answers["T01"], answers["T99"]
    assert known.status_code == unknown.status_code == 403
    assert known.json() == {
        "error": {
            "code": "registration_failed",
            "message": "no pending registration for T01 with that code",
        }
    }
    assert unknown.json()["error"]["message"] == known.json()["error"]["message"].replace(
        "T01", "T99"
    )


def test_a_terminal_not_allowed_offline_is_told_so_only_with_its_right_code(
    store: tuple[sa.Engine, str],
) -> None:
    """The admission policy's reasons name the terminal's state: not before the code."""
    engine, _ = store
    store_admin.add_terminal(engine, "T02", offline_enabled=True)
    offline_admin.set_store_offline(engine, False, force=True)
    code2 = store_admin.add_terminal(engine, "T02").registration_code  # a fresh code
    with client_at(engine, "192.0.2.9") as client:
        wrong = register(client, "T02", WRONG)
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "registration_failed"
        right = register(client, "T02", code2)
        assert right.status_code == 403
        assert "offline mode is disabled" in right.json()["error"]["message"]


def timed_ms(client: TestClient, node: str) -> float:
    start = time.perf_counter()
    assert register(client, node, WRONG).status_code == 403
    return (time.perf_counter() - start) * 1000


def test_unknown_and_known_terminals_take_about_the_same_time(
    store: tuple[sa.Engine, str],
) -> None:
    engine, _ = store
    app = create_app(engine)
    known: list[float] = []
    unknown: list[float] = []
    for r in range(7):  # each round under every limit: new terminals, new addresses
        store_admin.add_terminal(engine, f"T1{r}")  # known, with a pending code
        with (
            TestClient(app, client=(f"192.0.2.{20 + 2 * r}", 1)) as a,
            TestClient(app, client=(f"192.0.2.{21 + 2 * r}", 1)) as b,
        ):
            for _ in range(CODE_FAILURES - 1):  # interleaved: a change of load hits both
                known.append(timed_ms(a, f"T1{r}"))
                unknown.append(timed_ms(b, f"T9{r}"))
    k, u = statistics.median(known[2:]), statistics.median(unknown[2:])  # warmed up
    print(f"median ms of {len(known) - 2}: known {k:.2f}, unknown {u:.2f}")
    assert abs(u - k) / k < 0.30


def test_ten_failures_a_minute_per_address_then_429_and_the_right_code_waits(
    store: tuple[sa.Engine, str],
) -> None:
    engine, code = store
    with client_at(engine, "192.0.2.30") as guesser:
        statuses = [register(guesser, f"X{i}", WRONG).status_code for i in range(10)]
        assert statuses == [403] * 10
        refused = register(guesser, "T01", code)  # even the right code, from there
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_attempts"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert registered_at(engine) is None  # nothing changed
    with client_at(engine, "192.0.2.31") as elsewhere:  # another address is not limited
        assert register(elsewhere, "T01", code).status_code == 200
    assert registered_at(engine) is not None


def test_ten_failures_a_minute_per_node_from_many_addresses(
    store: tuple[sa.Engine, str],
) -> None:
    engine, _ = store
    app = create_app(engine)
    for i in range(10):
        if i == CODE_FAILURES:  # a new code: the void one would refuse first
            store_admin.add_terminal(engine, "T01")
        with TestClient(app, client=(f"198.51.100.{i}", 1), raise_server_exceptions=False) as c:
            assert register(c, "T01", WRONG).status_code == 403
    code = store_admin.add_terminal(engine, "T01").registration_code
    with TestClient(app, client=("198.51.100.200", 1), raise_server_exceptions=False) as c:
        refused = register(c, "T01", code)  # the node's minute is used up
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert register(c, "T02", WRONG).status_code == 403  # other nodes are not limited


def test_a_code_is_void_after_five_wrong_ones_until_a_new_one_is_issued(
    store: tuple[sa.Engine, str],
) -> None:
    engine, code = store
    app = create_app(engine)
    for i in range(CODE_FAILURES):  # from five addresses: the code counts, not who
        with TestClient(app, client=(f"203.0.113.{i}", 1)) as c:
            assert register(c, "T01", WRONG).status_code == 403
    with TestClient(app, client=("203.0.113.99", 1)) as c:
        void = register(c, "T01", code)  # the right code, too late: it is void
        assert void.status_code == 429
        assert void.json()["error"]["message"] == (
            "too many wrong codes for T01: ask the store's administrator for a new "
            "registration code"
        )
    with TestClient(app, client=("203.0.113.98", 1)) as c:
        # an unknown id is limited the same way: 5 failures, then 429
        answers = [register(c, "T77", WRONG) for _ in range(CODE_FAILURES + 1)]
        assert [a.status_code for a in answers] == [403] * CODE_FAILURES + [429]
        assert answers[-1].json()["error"]["message"] == (
            "too many wrong codes for T77: ask the store's administrator for a new "
            "registration code"
        )
    with read_tx(engine) as conn:
        peer = conn.execute(sa.select(sync_peer).where(sync_peer.c.node_id == "T01")).one()
    assert peer.code_hash is None and peer.registered_at is None
    status = cli_json("store", "status", "--db", str(engine.url))
    shown = next(t for t in status["terminals"] if t["terminal_id"] == "T01")
    assert shown["last_error"] == (
        "registration code void after 5 wrong codes: issue a new one "
        "(possync store terminal add T01)"
    )
    with write_tx(engine) as conn:  # and the dashboard shows it
        accounts.add_admin(conn, "admin", PASSWORD)
    with TestClient(app, client=("198.51.100.77", 1), follow_redirects=True) as console:
        sign_in(console)
        rows = console.get("/console/dashboard/rows").text
        assert "registration code void after 5 wrong codes" in rows
    fresh = store_admin.add_terminal(engine, "T01").registration_code  # the administrator
    with TestClient(app, client=("203.0.113.97", 1)) as c:
        assert register(c, "T01", fresh).status_code == 200
    assert registered_at(engine) is not None


def test_parallel_attempts_are_counted_before_they_are_checked(
    store: tuple[sa.Engine, str],
) -> None:
    import threading

    engine, _ = store
    window = FailureWindow(max_failures=10, window=60.0)
    admitted, refused = [], []
    barrier = threading.Barrier(50)

    def go(i: int) -> None:
        barrier.wait()
        try:
            with write_tx(engine) as conn:
                admitted.append(window.admit(conn, "addr:x", f"node:N{i}"))
        except TooManyFailures as exc:
            refused.append(exc.retry_after)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 10 and len(refused) == 40 and set(refused) <= {59, 60}


def test_a_window_forgets_after_a_minute_and_a_success_takes_its_count_back(
    store: tuple[sa.Engine, str],
) -> None:
    engine, _ = store
    now = [1000.0]
    window = FailureWindow(max_failures=2, window=60.0, clock=lambda: now[0])

    def admit() -> Admitted:
        with write_tx(engine) as conn:
            return window.admit(conn, "a")

    ok = admit()
    with write_tx(engine) as conn:
        window.succeeded(conn, ok)
    admit()
    admit()
    with pytest.raises(TooManyFailures):
        admit()
    now[0] += 60.0
    admit()

"""Guessing administrators' passwords: the limits hold under concurrency, and a
guesser cannot keep a real administrator out (issue 11)."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.store.app import create_app
from possync.store.console import auth
from possync.store.console.base import ConsoleSettings
from possync.sync.db import write_tx
from possync.webui import accounts  # the sign-in's own module: where a patch counts hashes
from tests.e2e.helpers import make_store
from tests.store_console.conftest import PASSWORD, login_token

ATTEMPTS = 100


@pytest.fixture
def store(tmp_path: Path) -> sa.Engine:
    engine = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    with write_tx(engine) as conn:
        accounts.add_admin(conn, "admin", PASSWORD)
    return engine


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords whose hash was actually checked."""
    seen: list[str] = []
    real = accounts.check_password

    def counting(conn: sa.Connection, username: str, password: str) -> bool:
        seen.append(password)
        return real(conn, username, password)

    monkeypatch.setattr(accounts, "check_password", counting)
    return seen


def app_for(store: sa.Engine, tmp_path: Path, clock: list[float] | None = None):  # type: ignore[no-untyped-def]
    app = create_app(store, ConsoleSettings(backup_dir=tmp_path / "backups"))
    if clock is not None:
        app.state.console_throttle = auth.Throttle(store, clock=lambda: clock[0])
    return app


def attempt(client: TestClient, password: str, username: str = "admin") -> httpx.Response:
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": login_token(client)},
        follow_redirects=False,
    )


def _run(burst: Any) -> Any:
    """asyncio.run in a thread of its own: a browser test before this one, in the same
    worker, may have left an event loop set on this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(burst())).result()


def test_a_hundred_parallel_wrong_passwords_are_evaluated_only_up_to_the_limit(
    store: sa.Engine, tmp_path: Path, evaluated: list[str]
) -> None:
    app = app_for(store, tmp_path)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            page = await c.get("/console/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            return await asyncio.gather(
                *(
                    c.post(
                        "/console/login",
                        data={"username": "admin", "password": f"guess{i}", "csrf_token": token},
                    )
                    for i in range(ATTEMPTS)
                )
            )

    answers = _run(burst)
    statuses = sorted(a.status_code for a in answers)
    assert len(evaluated) == auth.MAX_FAILURES, "every other attempt refused before its hash"
    assert statuses == [401] * auth.MAX_FAILURES + [429] * (ATTEMPTS - auth.MAX_FAILURES)
    refused = next(a for a in answers if a.status_code == 429)
    assert "Too many failed attempts for admin from this address" in refused.text
    # The lock runs from the fifth failure: a loaded machine may answer a moment later.
    assert int(auth.LOCKOUT_SECONDS) - 5 <= int(refused.headers["Retry-After"])
    assert int(refused.headers["Retry-After"]) <= int(auth.LOCKOUT_SECONDS)


def test_the_throttle_admits_exactly_the_limit_from_many_threads(store: sa.Engine) -> None:
    throttle = auth.Throttle(store)
    admitted: list[auth.Admission] = []
    start = threading.Barrier(50)

    def guess() -> None:
        start.wait()
        for _ in range(4):
            found = throttle.admit("admin", "192.0.2.7")
            if not found.wait:
                admitted.append(found)

    threads = [threading.Thread(target=guess) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == auth.MAX_FAILURES


def test_a_guesser_locks_only_its_own_address_with_growing_waits(
    store: sa.Engine, tmp_path: Path, evaluated: list[str]
) -> None:
    now = [1000.0]
    app = app_for(store, tmp_path, now)
    with (
        TestClient(app, client=("192.0.2.66", 1)) as guesser,
        TestClient(app, client=("198.51.100.2", 1)) as admin,
    ):
        for i in range(auth.MAX_FAILURES):
            assert attempt(guesser, f"guess{i}").status_code == 401
        assert attempt(guesser, PASSWORD).status_code == 429  # locked, even the right one
        # the real administrator, elsewhere, is not locked out
        assert attempt(admin, PASSWORD).status_code == 303

        waits = []
        for _ in range(5):  # after each lock, one more guess, then a lock twice as long
            refused = attempt(guesser, "again")
            assert refused.status_code == 429
            waits.append(int(refused.headers["Retry-After"]))
            now[0] += waits[-1]
            assert attempt(guesser, "again").status_code == 401
        assert waits == [60, 120, 240, 480, 900]  # capped at MAX_LOCKOUT_SECONDS
    assert len(evaluated) == auth.MAX_FAILURES + 1 + 5


def test_many_addresses_slow_a_name_down_but_never_lock_out_its_usual_address(
    store: sa.Engine,
) -> None:
    now = [1000.0]
    throttle = auth.Throttle(store, clock=lambda: now[0])
    usual = throttle.admit("admin", "10.0.0.5")
    throttle.succeeded("admin", "10.0.0.5", usual)  # the administrator's own machine

    evaluated = 0
    for i in range(400):  # a botnet: four guesses from each of 100 addresses, at once
        if not throttle.admit("admin", f"203.0.113.{i // 4}").wait:
            evaluated += 1
    assert evaluated == auth.USER_CEILING + 1  # then one per USER_PACE seconds
    paced = throttle.admit("admin", "203.0.113.250")
    assert paced.wait == pytest.approx(auth.USER_PACE) and paced.reason == "name"

    # the administrator's usual address is not paced, and signs in
    assert throttle.admit("admin", "10.0.0.5").wait == 0
    # and a new address gets its turn within USER_PACE seconds: a pace, not a lock
    now[0] += auth.USER_PACE
    assert throttle.admit("admin", "198.51.100.9").wait == 0
    # past the window the name is no longer paced
    now[0] += auth.USER_WINDOW
    assert all(throttle.admit("admin", f"198.51.100.{i}").wait == 0 for i in range(10, 20))


def test_a_success_forgives_its_address(store: sa.Engine, tmp_path: Path) -> None:
    with TestClient(app_for(store, tmp_path), client=("192.0.2.1", 1)) as client:
        for _ in range(auth.MAX_FAILURES - 1):
            assert attempt(client, "nope").status_code == 401
        assert attempt(client, PASSWORD).status_code == 303
        for _ in range(auth.MAX_FAILURES - 1):  # counted afresh
            assert attempt(client, "nope").status_code == 401
        assert attempt(client, PASSWORD).status_code == 303

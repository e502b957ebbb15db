"""Guessing limits that hold across server processes and restarts (issue 11): two
real ``store serve`` processes on one database (a SQLite file, a PostgreSQL
database), 100 concurrent guesses shared between them, then a restart.

What was evaluated is told by the answers: a wrong password or code that was
checked is a 401 or 403; one refused before its check is a 429.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from possync.retail import store_admin
from possync.store.console import accounts, auth
from possync.store.process import StoreProcess
from possync.sync.db import write_tx
from possync.transport.attempts import CODE_FAILURES
from possync.webui import csrf
from tests.e2e.helpers import make_store

pytestmark = pytest.mark.e2e

ATTEMPTS = 100
PASSWORD = "correct horse battery"
TOKEN = "t" * 43  # the sign-in form's CSRF check is double-submit: cookie == field


def _run(burst: Any) -> Any:
    """asyncio.run in a thread of its own (a browser test before this one, in the same
    worker, may have left an event loop set on this thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(burst())).result()


def _fire(requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """All at once: (method, url, keyword arguments of httpx)."""

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=ATTEMPTS, max_keepalive_connections=ATTEMPTS)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            return await asyncio.gather(
                *(client.request(method, url, **kw) for method, url, kw in requests)
            )

    return _run(burst)


def _sign_in(url: str, password: str) -> tuple[str, str, dict[str, Any]]:
    return (
        "POST",
        f"{url}/console/login",
        {
            "data": {"username": "admin", "password": password, "csrf_token": TOKEN},
            "cookies": {csrf.LOGIN_COOKIE: TOKEN},
        },
    )


def test_two_server_processes_evaluate_at_most_the_limit_and_a_restart_forgives_nothing(
    db_url: str,
) -> None:
    engine = make_store(db_url, items=5)
    with write_tx(engine) as conn:
        accounts.add_admin(conn, "admin", PASSWORD)
    engine.dispose()

    with StoreProcess(db_url) as one, StoreProcess(db_url) as two:
        servers = [one.url, two.url]
        answers = _fire([_sign_in(servers[i % 2], f"guess{i}") for i in range(ATTEMPTS)])
    statuses = Counter(a.status_code for a in answers)
    evaluated = statuses[401]  # a wrong password whose hash was checked
    print(f"{db_url.split(':')[0]}: {ATTEMPTS} guesses over two processes, {evaluated} evaluated")
    assert evaluated <= auth.MAX_FAILURES
    assert statuses == {401: auth.MAX_FAILURES, 429: ATTEMPTS - auth.MAX_FAILURES}

    # Both processes are gone; a new one still refuses, even the right password.
    with StoreProcess(db_url) as again:
        (refused,) = _fire([_sign_in(again.url, PASSWORD)])
        assert refused.status_code == 429
        assert "Too many failed attempts for admin from this address" in refused.text
        assert 30 <= int(refused.headers["Retry-After"]) <= auth.LOCKOUT_SECONDS


def test_registration_guesses_over_two_processes_void_the_code_once(db_url: str) -> None:
    engine = make_store(db_url, items=5)
    code = store_admin.add_terminal(engine, "T01").registration_code
    engine.dispose()

    def register(url: str, guess: str) -> tuple[str, str, dict[str, Any]]:
        return ("POST", f"{url}/api/v1/register", {"json": {"node": "T01", "code": guess}})

    with StoreProcess(db_url) as one, StoreProcess(db_url) as two:
        servers = [one.url, two.url]
        wrong = [register(servers[i % 2], f"AAAA-BBBB-CCCC-{i:04d}") for i in range(ATTEMPTS)]
        answers = _fire(wrong)
    statuses = Counter(a.status_code for a in answers)
    assert statuses[403] <= CODE_FAILURES  # checked; the rest refused before the check
    assert statuses == {403: CODE_FAILURES, 429: ATTEMPTS - CODE_FAILURES}

    with StoreProcess(db_url) as again:  # restarted: the code stays void
        (late,) = _fire([register(again.url, code)])
    assert late.status_code == 429 and "too many wrong codes for T01" in late.text

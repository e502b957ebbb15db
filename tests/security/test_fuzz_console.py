"""Schemathesis over the console's part of the store app's OpenAPI, in-process, on
SQLite and on PostgreSQL, signed in as an administrator with the session's CSRF
token: no answer is a 5xx, and a refused one (4xx) writes nothing.

In CI, 60 cases per generation mode drawn over its sixty-odd operations (30 on
PostgreSQL); bench/fuzz_all.py runs many more. Signing out is left out (it ends
the session the cases use).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from possync.retail import store_admin
from possync.store.app import create_app
from possync.store.console import accounts
from possync.store.console.auth import COOKIE
from possync.store.console.base import ConsoleSettings
from possync.sync.db import write_tx
from tests.e2e.helpers import make_store
from tests.security.fuzzing import Tables, Tally, differences, examples

NOT_FUZZED = {("post", "/console/logout")}


@pytest.fixture
def console(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    store = make_store(db_url, items=5)
    store_admin.add_terminal(store, "T01")
    with write_tx(store) as conn:
        accounts.add_admin(conn, "admin", "correct horse battery")
        token, session = accounts.open_session(conn, "admin")
    app = create_app(store, ConsoleSettings(backup_dir=tmp_path / "backups"))
    raw = copy.deepcopy(app.openapi())
    raw["paths"] = {p: v for p, v in raw["paths"].items() if p.startswith("/console")}
    for path, methods in raw["paths"].items():
        for method in list(methods):
            if (method, path) in NOT_FUZZED:
                del methods[method]
    schema = schemathesis.openapi.from_dict(raw)
    with TestClient(app):  # (nothing to start: the app is ready once made)
        schema.app = app
    yield {
        "schema": schema,
        "tables": Tables(store),
        "cookies": {COOKIE: token},
        "headers": {"x-csrf-token": session.csrf_token},
        "examples": examples(60 if db_url.startswith("sqlite") else 30),  # per mode
    }
    store.dispose()


def test_every_malformed_console_request_gets_a_4xx_and_writes_nothing(
    console: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    tally = Tally(f"console ({request.node.callspec.id})")
    tables: Tables = console["tables"]
    state = [tables.snapshot()]

    def fuzz(mode: GenerationMode) -> None:
        @settings(
            max_examples=console["examples"],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        # one strategy over every operation: hypothesis starts once, not sixty times
        @given(case=console["schema"].as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = case.call(
                headers={**console["headers"], **(case.headers or {})},
                cookies=console["cookies"],
                allow_redirects=False,
            )
            what = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}"
            tally.count(response.status_code, what)
            assert response.status_code < 500, f"{what} -> {response.text[:300]}"
            before, state[0] = state[0], tables.snapshot()
            if 400 <= response.status_code < 500:
                changed = differences(before, state[0])
                assert not changed, f"{what} -> {response.status_code}, yet wrote {changed}"

        run()

    assert len(list(console["schema"].get_all_operations())) >= 50
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        fuzz(mode)
    tally.report()
    assert not tally.server_errors

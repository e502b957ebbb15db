"""Schemathesis over the cashier's screen (``pos run``), in-process: every route of
the app, signed in as a cashier with the session's CSRF token, gets generated
query strings, path parameters and form bodies (valid by the schema, and
negative). No answer is a 5xx, and a refused one (4xx) writes nothing to the
till's database.

The screen serves HTML for htmx, not JSON, and publishes no OpenAPI
(``openapi_url=None``): its schema is made here from the app's own routes by
FastAPI, with the forms that two handlers read themselves (payment, returns)
added, named as the pages name their fields.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi

from possync.retail.tender import amount_field, reference_field
from possync.terminal.web.app import create_app
from possync.terminal.web.sessions import COOKIE, Sessions
from tests.security.fuzzing import Snapshot, Tables, Tally, differences, examples

# Routes without input to vary, whose effect is outside the request: signing out
# ends the session the other cases use; the two Store Operations start a sync in a
# background thread, which writes to the database while later cases are checked.
NOT_FUZZED = {("post", "/signout"), ("post", "/operations/sync"), ("post", "/operations/online")}


def form(*fields: str) -> dict[str, Any]:
    return {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {name: {"type": "string"} for name in fields},
                }
            }
        },
    }


def documented(app: FastAPI) -> dict[str, Any]:
    raw = copy.deepcopy(get_openapi(title=app.title, version=app.version, routes=app.routes))
    payment = [f(code) for code in ("CASH", "CARD") for f in (amount_field, reference_field)]
    raw["paths"]["/basket/pay"]["post"]["requestBody"] = form(*payment)
    returned = ("receipt_no", "refund_method", "qty_1", "qty_2")
    raw["paths"]["/returns"]["post"]["requestBody"] = form(*returned)
    htmx = {"name": "HX-Request", "in": "header", "required": False, "schema": {"enum": ["true"]}}
    for path, methods in raw["paths"].items():
        for method, operation in list(methods.items()):
            if (method, path) in NOT_FUZZED:
                del methods[method]
            else:  # a page, or its htmx fragment
                operation.setdefault("parameters", []).append(htmx)
    return raw


@dataclass
class Till:
    app: FastAPI
    schema: Any
    client: asgi.ASGIClient
    tables: Tables
    cookies: dict[str, str]
    headers: dict[str, str]
    state: Snapshot = field(default_factory=dict)


@pytest.fixture
def till(terminal_dir: Path) -> Iterator[Till]:
    sessions = Sessions()
    app = create_app(terminal_dir, sessions=sessions)
    ada = sessions.create("ADA", "Ada Lovelace")
    # Not entered: the app's lifespan (whose end closes the database) is not started,
    # and the database is closed below as it would close it.
    client = asgi.get_client(app)
    pos = app.state.pos
    headers = {"x-csrf-token": ada.csrf}
    cookies = {COOKIE: ada.token}
    assert client.post("/basket/scan", data={"code": "SKU1"}, headers=headers, cookies=cookies).ok
    schema = schemathesis.openapi.from_dict(documented(app))
    tables = Tables(pos.terminal.engine)
    yield Till(app, schema, client, tables, cookies, headers, tables.snapshot())
    pos.operations.shutdown()
    pos.terminal.close()


def fuzz_operation(till: Till, operation: Any, mode: GenerationMode, tally: Tally) -> None:
    @settings(
        max_examples=examples(8),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(
            session=till.client,
            headers={**till.headers, **(case.headers or {})},
            cookies=till.cookies,
            allow_redirects=False,
        )
        what = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}"
        tally.count(response.status_code, what)
        assert response.status_code < 500, f"{what} -> {response.text[:300]}"
        before, till.state = till.state, till.tables.snapshot()
        if 400 <= response.status_code < 500:
            changed = differences(before, till.state)
            assert not changed, f"{what} -> {response.status_code}, yet wrote {changed}"

    run()


def test_every_malformed_request_to_the_till_gets_a_4xx_and_writes_nothing(till: Till) -> None:
    tally = Tally("cashier's screen")
    operations = [result.ok() for result in till.schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.path_parameters or operation.query or operation.body:
            modes.append(GenerationMode.NEGATIVE)  # something to get wrong
        for mode in modes:
            fuzz_operation(till, operation, mode, tally)
    tally.report()
    assert not tally.server_errors
    # still signed in, and the screen still answers: nothing above broke the session
    page = till.client.get("/", cookies=till.cookies, allow_redirects=False)
    assert page.status_code == 200 and "Ada Lovelace" in page.text

"""Schemathesis over the OpenAPI of the store's sync API, in-process, on SQLite and
on PostgreSQL: every generated request (valid by the schema, and negative: wrong
types, missing and extra fields) gets an answer below 500, and a refused one
(not 2xx) writes nothing to the store's database.

The push, rescue and register routes read their bodies themselves (bounded before
parsing, transport/server.py), so FastAPI's schema says nothing of them: the
schemas of those bodies are added here, from docs/protocol.md, and the rows'
shapes from the replication spec (every table and column a till may push).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from possync.retail import store_admin
from possync.retail.replication import SPEC
from possync.store.app import create_app
from possync.sync.tables import SyncSpec
from tests.e2e.helpers import make_store
from tests.security.fuzzing import Snapshot, Tables, Tally, differences, examples

INSTALLATION = "fuzz-installation-T01"


def column_schema(column: sa.Column[Any]) -> dict[str, Any]:
    try:
        kind: type = column.type.python_type
    except NotImplementedError:
        kind = str
    schema: dict[str, Any] = {
        int: {"type": "integer"},
        bool: {"type": "boolean"},
    }.get(kind, {"type": "string"})
    length = getattr(column.type, "length", None)
    if schema["type"] == "string" and length:
        schema["maxLength"] = length
    if column.nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def batch_schema(spec: SyncSpec) -> dict[str, Any]:
    """A push's batch (docs/protocol.md), its rows those of the tables that flow up."""
    changes = [
        {
            "type": "object",
            "required": ["seq", "table", "op", "row"],
            "properties": {
                "seq": {"type": "integer", "minimum": 0},
                "table": {"const": str(t.name)},
                "op": {"enum": sorted(t.ops_for_children)},
                "row": {
                    "type": "object",
                    "required": [str(c.name) for c in t.table.columns],
                    "properties": {str(c.name): column_schema(c) for c in t.table.columns},
                },
            },
        }
        for t in spec.tables
        if t.direction.flows_up
    ]
    return {
        "type": "object",
        "required": ["protocol", "source", "after", "through", "changes"],
        "properties": {
            "protocol": {"enum": list(spec.protocols)},
            "source": {"type": "string"},
            "after": {"type": "integer", "minimum": 0},
            "through": {"type": "integer", "minimum": 0},
            "head": {"type": "integer", "minimum": 0},
            "more": {"type": "boolean"},
            "changes": {"type": "array", "maxItems": 5, "items": {"anyOf": changes}},
        },
    }


REGISTER = {
    "type": "object",
    "required": ["node", "code"],
    "properties": {"node": {"type": "string"}, "code": {"type": "string"}},
}


def documented(app: FastAPI) -> dict[str, Any]:
    """The app's own OpenAPI, the sync API only, with the bodies it reads itself."""
    raw = copy.deepcopy(app.openapi())
    raw["paths"] = {p: v for p, v in raw["paths"].items() if p.startswith("/api/v1/")}
    bodies = {
        "/api/v1/register": REGISTER,
        "/api/v1/sync/push": batch_schema(SPEC),
        "/api/v1/sync/rescue": batch_schema(SPEC),
    }
    for path, schema in bodies.items():
        raw["paths"][path]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    return raw


@dataclass
class Target:
    app: FastAPI
    schema: Any
    tables: Tables
    headers: dict[str, str]
    examples: int  # per operation and generation mode
    state: Snapshot = field(default_factory=dict)  # the database after the last case

    def __post_init__(self) -> None:
        self.state = self.tables.snapshot()


@pytest.fixture
def target(db_url: str) -> Iterator[Target]:
    store = make_store(db_url, items=5)
    code = store_admin.add_terminal(store, "T01").registration_code
    app = create_app(store)
    with TestClient(app) as client:
        secret = client.post("/api/v1/register", json={"node": "T01", "code": code}).json()
        token = base64.b64encode(f"T01:{secret['secret']}".encode()).decode()
        headers = {
            "authorization": f"Basic {token}",
            "possync-protocol": str(SPEC.protocol),
            "possync-installation": INSTALLATION,
        }
        # The first sync binds T01 to this installation: later requests write no binding.
        assert client.get("/api/v1/sync/pull?after=0", headers=headers).status_code == 200
    schema = schemathesis.openapi.from_dict(documented(app))
    schema.app = app
    # PostgreSQL costs more per case; the long runs (bench/fuzz_all.py) run both at length.
    per_operation = examples(20 if db_url.startswith("sqlite") else 10)
    yield Target(app, schema, Tables(store), headers, per_operation)
    store.dispose()


def fuzz_operation(target: Target, operation: Any, mode: GenerationMode, tally: Tally) -> None:
    @settings(
        max_examples=target.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        # T01's credentials, unless the case generated its own headers
        response = case.call(headers={**target.headers, **(case.headers or {})})
        what = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}"
        tally.count(response.status_code, what)
        assert response.status_code < 500, f"{what} -> {response.text[:300]}"
        # The state before this case is the state after the one before it.
        before, target.state = target.state, target.tables.snapshot()
        if not 200 <= response.status_code < 300:
            changed = differences(before, target.state)
            assert not changed, f"{what} -> {response.status_code}, yet wrote {changed}"

    run()


def test_every_malformed_sync_request_gets_a_4xx_and_writes_nothing(
    target: Target, request: pytest.FixtureRequest
) -> None:
    tally = Tally(f"sync API ({request.node.callspec.id})")
    operations = [result.ok() for result in target.schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/sync/push", "/api/v1/sync/pull"}
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.path_parameters or operation.query or operation.body:
            modes.append(GenerationMode.NEGATIVE)  # something to get wrong
        for mode in modes:
            fuzz_operation(target, operation, mode, tally)
    tally.report()
    assert not tally.server_errors
    assert tally.cases >= len(operations) * min(target.examples, 10)

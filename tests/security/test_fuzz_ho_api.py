"""Schemathesis over the OpenAPI of head office's API, in-process, on PostgreSQL
(head office's database in production): every generated request (valid by the
schema, and negative: wrong types, missing and extra fields) gets an answer below
500, and a refused one (not 2xx) writes nothing to head office's database.

The bodies head office reads itself (register, push, rescue, and the store's report
of its tills, ``POST /api/v1/relay/children``) get their schemas here: the first
three as the store server's fuzz test gives them (docs/protocol.md), the report
from the fields head office keeps of a till.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode

from possync.headoffice.app import MAX_TILLS, create_app
from possync.retail import catalog, chain
from possync.retail.replication import SPEC
from possync.sync.db import open_engine, write_tx
from tests.security.fuzzing import Tables, Tally, examples
from tests.security.test_fuzz_sync_api import Target, documented, fuzz_operation

pytestmark = pytest.mark.postgres

CATALOG = "sku,barcode,name,price,tax_code\nSKU1,5000000000001,Item 1,1.50,STD\n"
TILL = {
    "type": "object",
    "required": ["terminal_id"],
    "properties": {
        "terminal_id": {"type": "string"},
        "mode": {"type": "string"},
        "last_sync_at": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "backlog": {"type": "integer", "minimum": 0},
        "unsent": {"type": "integer", "minimum": 0},
        "quarantined": {"type": "integer", "minimum": 0},
        "last_error": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}
REPORT = {
    "type": "object",
    "required": ["children"],
    "properties": {"children": {"type": "array", "maxItems": 5, "items": TILL}},
}


def documented_ho(app: Any) -> dict[str, Any]:
    raw = documented(app)
    raw["paths"]["/api/v1/relay/children"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": REPORT}},
    }
    return raw


@pytest.fixture
def target(pg_url: str) -> Iterator[Target]:
    engine = open_engine(pg_url)
    chain.init_head_office(engine, "Acme Retail")
    with write_tx(engine) as conn:
        catalog.import_csv(conn, CATALOG)
    code = chain.add_store(engine, "S01").registration_code
    app = create_app(engine)
    with TestClient(app) as client:
        secret = client.post("/api/v1/register", json={"node": "S01", "code": code}).json()
        token = base64.b64encode(f"S01:{secret['secret']}".encode()).decode()
        headers = {
            "authorization": f"Basic {token}",
            "possync-protocol": str(SPEC.protocol),
            "possync-installation": "fuzz-installation-S01",
        }
        # The first sync binds S01 to this installation: later requests write no binding.
        assert client.get("/api/v1/sync/pull?after=0", headers=headers).status_code == 200
    schema = schemathesis.openapi.from_dict(documented_ho(app))
    schema.app = app
    # Kept small for CI (< 20 s); bench/fuzz_all.py scales it with POSSYNC_FUZZ_EXAMPLES.
    yield Target(app, schema, Tables(engine), headers, examples(8))
    engine.dispose()


def test_every_malformed_request_to_head_office_gets_a_4xx_and_writes_nothing(
    target: Target,
) -> None:
    tally = Tally("head office API (postgres)")
    operations = [result.ok() for result in target.schema.get_all_operations()]
    paths = {op.path for op in operations}
    assert paths >= {"/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/relay/children"}
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.path_parameters or operation.query or operation.body:
            modes.append(GenerationMode.NEGATIVE)  # something to get wrong
        for mode in modes:
            fuzz_operation(target, operation, mode, tally)
    tally.report()
    assert not tally.server_errors
    assert tally.cases >= len(operations) * min(target.examples, 8)


def test_a_report_of_too_many_tills_is_refused_and_writes_nothing(target: Target) -> None:
    """Past the fuzzer's sizes: more tills than a store has is refused whole."""
    with TestClient(target.app) as client:
        till = {"terminal_id": "T01", "backlog": 0}
        answer = client.post(
            "/api/v1/relay/children",
            json={"children": [till] * (MAX_TILLS + 1)},
            headers=target.headers,
        )
    assert answer.status_code == 422, answer.text
    assert target.tables.snapshot() == target.state

"""The store's app in-process (TestClient), with terminal T01 registered on it."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import store_admin
from possync.store.app import create_app
from tests.e2e.helpers import make_store

Api = tuple[TestClient, sa.Engine, dict[str, str]]


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    """The store's app, and the credentials of terminal T01 registered on it."""
    store = make_store(db_url, items=5)
    store_admin.set_details(store, address="1 Main St", vat_number="FR12")
    code = store_admin.add_terminal(store, "T01").registration_code
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        registered = client.post("/api/v1/register", json={"node": "T01", "code": code})
        assert registered.status_code == 200, registered.text
        token = base64.b64encode(f"T01:{registered.json()['secret']}".encode()).decode()
        yield client, store, {"authorization": f"Basic {token}"}
    store.dispose()

"""A store with a console administrator, driven in-process over HTTP (TestClient)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.store.app import create_app
from possync.store.console import accounts
from possync.store.console.base import ConsoleSettings
from possync.sync.db import write_tx
from tests.e2e.helpers import make_store

PASSWORD = "correct horse battery"


@pytest.fixture
def store(db_url: str) -> sa.Engine:
    """A store on SQLite, and again on PostgreSQL (the console's queries run on both)."""
    engine = make_store(db_url, items=60)
    with write_tx(engine) as conn:
        accounts.add_admin(conn, "admin", PASSWORD)
    return engine


@pytest.fixture
def client(store: sa.Engine, tmp_path: Path) -> TestClient:
    app = create_app(store, ConsoleSettings(backup_dir=tmp_path / "backups"))
    return TestClient(app, follow_redirects=True)


def login_token(client: TestClient) -> str:
    page = client.get("/console/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def sign_in(client: TestClient, username: str = "admin", password: str = PASSWORD) -> str:
    """Sign in; returns the session's CSRF token."""
    answer = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": login_token(client)},
    )
    assert answer.status_code == 200, answer.text
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', answer.text)
    assert found, "signed in, the page carries the session's CSRF token"
    return found.group(1)


def field_errors(html: str) -> list[str]:
    return re.findall(r'class="error"[^>]*>([^<]+)<', html)


@pytest.fixture
def signed_in(client: TestClient) -> tuple[TestClient, str]:
    return client, sign_in(client)

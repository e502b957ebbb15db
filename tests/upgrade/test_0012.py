"""Schema 0012 (the console's accounts in the schema): the 0.1.0 fixtures are
upgraded, a store that had ``console_admin`` and ``console_session`` (made when its
administrator was added) and a till that never had them, and on PostgreSQL stores
made by 0.1.0's code with and without an administrator. Each ends with the tables
of a new database, before any console starts; an administrator it had still signs
in, and a new one can be added and sign in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from possync.retail import schema_version, store_admin
from possync.sync.db import open_engine, read_tx, write_tx
from possync.terminal.local import Terminal
from possync.webui import accounts
from tests.upgrade import release, test_schema
from tests.upgrade.conftest import Shop

CONSOLE_TABLES = ("console_admin", "console_session")
COLUMNS = {
    "console_admin": ["username", "password_hash", "created_at", "last_sign_in_at"],
    "console_session": ["token_hash", "username", "csrf_token", "expires_at"],
}
OLD_ADMIN, OLD_PASSWORD = "manager", "correct horse battery"  # made by make_fixtures.py


def console_shape(engine: sa.Engine) -> dict[str, Any]:
    """The console tables a database has, as test_schema's comparison reads them."""
    tables = test_schema.schema_of(engine)["tables"]
    return {name: tables[name] for name in CONSOLE_TABLES if name in tables}


def admin_signs_in(engine: sa.Engine, username: str, password: str) -> bool:
    """What the sign-in page does: the password, then a session found by its token."""
    with write_tx(engine) as conn:
        if not accounts.check_password(conn, username, password):
            return False
        token, _ = accounts.open_session(conn, username)
    with read_tx(engine) as conn:
        session = accounts.session_for(conn, token)
    return session is not None and session.username == username


def add_and_sign_in(engine: sa.Engine) -> None:
    with write_tx(engine) as conn:
        accounts.add_admin(conn, "newcomer", "a long new password")
    assert admin_signs_in(engine, "newcomer", "a long new password")
    assert not admin_signs_in(engine, "newcomer", "not the password")


def assert_upgraded(engine: sa.Engine) -> None:
    assert schema_version.upgrade(engine).applied[-1] == "0012"
    shape = console_shape(engine)  # before anything else touched the database
    assert {name: [c[0] for c in shape[name]["columns"]] for name in shape} == COLUMNS
    assert shape["console_session"]["indexes"] == [
        ("ix_console_session_username", ("username",), False)
    ]


def test_a_0_1_0_store_keeps_its_administrator_and_has_a_new_stores_schema(
    shop_0_1_0: Shop, tmp_path: Path
) -> None:
    old = open_engine(shop_0_1_0.store_url)
    assert console_shape(old)  # 0.1.0 made them when its administrator was added
    assert_upgraded(old)
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main Street")
    assert test_schema.schema_of(old) == test_schema.schema_of(fresh)

    assert admin_signs_in(old, OLD_ADMIN, OLD_PASSWORD)
    add_and_sign_in(old)
    with read_tx(old) as conn:
        admins = conn.execute(sa.select(accounts.console_admin.c.username)).scalars()
        assert sorted(admins) == [OLD_ADMIN, "newcomer"]
    fresh.dispose()
    old.dispose()


def test_a_0_1_0_till_gets_the_tables_a_new_till_has(shop_0_1_0: Shop, tmp_path: Path) -> None:
    """A terminal has no console, but one schema for every database (see 0012)."""
    till = open_engine(f"sqlite:///{shop_0_1_0.till_db}")
    assert console_shape(till) == {}
    assert_upgraded(till)
    fresh = Terminal.create(tmp_path / "fresh-till", "T01")
    assert console_shape(till) == console_shape(fresh.engine)
    fresh.engine.dispose()
    add_and_sign_in(till)
    till.dispose()


@pytest.fixture
def fresh_pg_store(pg_admin_url: str) -> Iterator[sa.Engine]:
    """A store made by this release on PostgreSQL, beside the test's ``pg_url``."""
    name = f"possync_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = open_engine(pg_admin_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        store_admin.init_store(engine, "S01", "M")
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("had_admin", [False, True], ids=["no-console-yet", "with-admin"])
def test_a_0_1_0_store_on_postgres(
    had_admin: bool,
    pg_url: str,
    fresh_pg_store: sa.Engine,
    old_release: Path,
) -> None:
    release.run(old_release, "store", "init", "--db", pg_url, "--store", "S01", "--name", "M")
    if had_admin:
        release.run(old_release, "store", "admin", "add", OLD_ADMIN, "--db", pg_url,
                    "--password-stdin", stdin=f"{OLD_PASSWORD}\n")  # fmt: skip
    old = open_engine(pg_url)
    try:
        assert bool(console_shape(old)) is had_admin
        assert_upgraded(old)
        assert test_schema.schema_of(old) == test_schema.schema_of(fresh_pg_store)
        assert admin_signs_in(old, OLD_ADMIN, OLD_PASSWORD) is had_admin
        add_and_sign_in(old)
    finally:
        old.dispose()


def test_a_new_database_has_them_before_any_console_starts(tmp_path: Path) -> None:
    store = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    store_admin.init_store(store, "S01", "Main Street")
    assert list(console_shape(store)) == list(CONSOLE_TABLES)
    add_and_sign_in(store)
    store.dispose()

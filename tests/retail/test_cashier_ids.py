"""Ids without case at sign-in (issue 14): "ada" signs in as ADA at the till, a wrong
case neither fails nor counts towards the lock-out, and ids that differ only in
case (made before the rule) keep working; the console's administrators alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from possync.retail import cashiers, store_admin
from possync.retail.errors import FieldErrors
from possync.retail.schema import cashier
from possync.sync.db import open_engine, read_tx, write_tx
from tests.store_console.conftest import client, store
from tests.terminal_web.conftest import PIN, PINS, template_terminal, terminal_dir
from tests.terminal_web.screen import sign_in

__all__ = ["client", "store", "template_terminal", "terminal_dir"]  # fixtures used below


def test_ids_are_compared_without_case_and_old_ones_keep_working(db_url: str) -> None:
    engine = open_engine(db_url)
    store_admin.init_store(engine, "S01", "Shop")
    with write_tx(engine) as conn:
        cashiers.save(conn, "ana", "Ana", pin="1234")
        with pytest.raises(FieldErrors, match="cashier ana already exists"):
            cashiers.save(conn, "ANA", "Another Ana", pin="5678", new=True)
        cashiers.save(conn, "Ana", "Ana Silva")  # changes ana, as typed in any case
        # two ids that differ in case only, from before the rule: each is its own
        hashed = cashiers._hasher.hash("4321")
        conn.execute(
            cashier.insert(),
            [
                {"cashier_id": "Bo", "name": "Bo", "pin_hash": hashed, "active": True},
                {"cashier_id": "BO", "name": "BO", "pin_hash": hashed, "active": True},
            ],
        )
    with read_tx(engine) as conn:
        assert cashiers.verify(conn, "ANA", "1234") == {"cashier_id": "ana", "name": "Ana Silva"}
        assert [cashiers.stored_id(conn, i) for i in ("aNa", "Bo", "BO", "bo", "x")] == [
            "ana",
            "Bo",
            "BO",
            "BO",
            None,
        ]
        assert cashiers.verify(conn, "Bo", "4321")["name"] == "Bo"
        assert cashiers.verify(conn, "BO", "4321")["name"] == "BO"


def test_the_till_signs_in_whatever_the_case_and_counts_one_lockout(terminal_dir: Path) -> None:
    from possync.terminal.web.app import create_app

    with TestClient(create_app(terminal_dir), base_url="http://127.0.0.1:8700") as client:
        for _ in range(4):
            assert sign_in(client, "ADA", "0000").status_code == 422
        # the right PIN with the id in lower case: signed in as ADA, the count forgiven
        signed = sign_in(client, "ada", PIN)
        assert signed.status_code == 303
        assert "Ada Lovelace" in client.get("/").text
        client.cookies.clear()  # another cashier's turn at the till
        for who in ("ADA", "ada", "Ada", "aDa"):
            assert sign_in(client, who, "0000").status_code == 422, who
        # the fifth failure, in yet another case, locks the one id
        assert sign_in(client, "adA", "0000").status_code == 429
        assert sign_in(client, "ADA", PIN).status_code == 429
        assert sign_in(client, "bob", PINS["BOB"]).status_code == 303


def test_the_console_signs_in_an_administrator_whatever_the_case(
    client: TestClient, store: sa.Engine
) -> None:
    from possync.webui.accounts import console_session
    from tests.store_console.conftest import login_token, sign_in

    for typed in ("wrong", "WRONG"):  # one unknown name, one count
        answer = client.post(
            "/console/login",
            data={"username": typed, "password": "x" * 12, "csrf_token": login_token(client)},
        )
        assert answer.status_code == 401 and f'value="{typed}"' in answer.text
    sign_in(client, "ADMIN")  # made as "admin"
    with read_tx(store) as conn:
        assert conn.execute(sa.select(console_session.c.username)).scalars().all() == ["admin"]

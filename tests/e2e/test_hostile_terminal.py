"""A hostile till, holding valid credentials, attempts everything issue 10 lists,
against a real store server, on SQLite and on PostgreSQL. Afterwards the victims
sync, the store's numbers and stock are right, new tills can be provisioned, and
each attempt is either refused whole (malformed, out of scope) or quarantined with
its reason while the rest of its batch is applied.

The attacker's documents are made from a genuine sale of its own till (so they are
well formed), then altered.
"""

from __future__ import annotations

import base64
import copy
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from possync.retail.replication import PROTOCOL
from possync.retail.schema import customer, receipt, stock_movement
from possync.store.process import StoreProcess
from possync.sync import peers, quarantine, state
from possync.sync.db import read_tx
from tests.e2e.helpers import cli, cli_json, make_store, pos_init, stock_of, terminal_engine

pytestmark = pytest.mark.e2e

UP_TABLES = ("customer", "stock_movement", "receipt", "receipt_line", "receipt_payment")


class Attacker:
    """Terminal T09's credentials, and a template of its own genuine sale."""

    def __init__(self, server: StoreProcess, data: Path) -> None:
        engine = terminal_engine(data)
        with read_tx(engine) as conn:
            secret = peers.parent(conn).secret  # type: ignore[union-attr]
            installation = state.get(conn, "installation_id")
            rows = conn.execute(
                sa.text(
                    "SELECT table_name, op, row_data FROM sync_change WHERE origin IS NULL "
                    "AND table_name IN ('receipt', 'receipt_line', 'receipt_payment', "
                    "'stock_movement') ORDER BY seq"
                )
            ).all()
        engine.dispose()
        self.sale = [{"table": t, "op": op, "row": orjson.loads(r)} for t, op, r in rows]
        token = base64.b64encode(f"T09:{secret}".encode()).decode()
        self.headers = {
            "authorization": f"Basic {token}",
            "possync-protocol": str(PROTOCOL),
            "possync-installation": str(installation),
        }
        self.url = server.url + "/api/v1/sync/push"
        self.after = 0

    def document(self, number: str | None = None) -> list[dict[str, Any]]:
        """A copy of its genuine sale, with a new id (and number, if given)."""
        doc = copy.deepcopy(self.sale)
        new_id = str(uuid.uuid4())
        for change in doc:
            row = change["row"]
            if "receipt_id" in row:
                row["receipt_id"] = new_id
            if change["table"] == "stock_movement":
                row["movement_id"] = str(uuid.uuid4())
            if number is not None:
                if "receipt_no" in row:
                    row["receipt_no"] = number
                if row.get("doc_ref"):
                    row["doc_ref"] = number
        return doc

    def push(self, *documents: list[dict[str, Any]]) -> httpx.Response:
        changes = [c for doc in documents for c in doc]
        for i, change in enumerate(changes, start=1):
            change["seq"] = self.after + i
        body = {
            "protocol": PROTOCOL,  # its rows are the till's own, of this release
            "source": "T09",
            "after": self.after,
            "through": self.after + len(changes),
            "changes": changes,
        }
        answer = httpx.post(self.url, content=orjson.dumps(body), headers=self.headers)
        if answer.status_code == 200:
            self.after = answer.json()["acknowledged"]
        return answer


def _held(store: sa.Engine) -> list[tuple[str, str]]:
    with read_tx(store) as conn:
        return [(h.code, h.reason) for h in quarantine.listing(conn, peer="T09")]


def _rows(doc: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    return [c["row"] for c in doc if c["table"] == table]


def test_a_hostile_till_can_neither_block_corrupt_nor_lose_anyones_data(
    db_url: str, tmp_path: Path
) -> None:
    store = make_store(db_url, items=10, stock=100)
    with StoreProcess(db_url) as server:
        victim, thief = tmp_path / "T01", tmp_path / "T09"
        pos_init(store, server.url, victim, "T01")
        pos_init(store, server.url, thief, "T09")
        cli("pos", "sell", "--data", str(victim), "SKU1:1", "--pay", "cash")
        ada = cli_json("pos", "customer", "add", "--data", str(victim), "Ada", "--email", "a@x")
        cli("pos", "sync", "--data", str(victim))
        cli("pos", "sell", "--data", str(thief), "SKU2:2", "--pay", "cash")  # its template
        attacker = Attacker(server, thief)
        before = stock_of(store)

        with read_tx(store) as conn:
            found = conn.execute(
                sa.select(customer).where(customer.c.customer_no == ada["customer_no"])
            ).one()
            ada_row = {str(k): v for k, v in found._mapping.items()}

        # 1. Rows of others: taking over T01's customer, deleting it.
        taken = {**ada_row, "origin_terminal_id": "T09", "name": "Eve"}
        # A contact field: any till of the store may change it, as a till does, with
        # a clock later than the value's (possync.sync.hlc).
        lineage = orjson.loads(ada_row["field_clocks"])
        later = f"{int(time.time() * 1000) + 1000:013d}-000000-T09"
        lineage["name"] = [later, *lineage["name"]]
        renamed = {**ada_row, "name": "Ada L.", "field_clocks": orjson.dumps(lineage).decode()}
        key = {"customer_id": ada_row["customer_id"]}
        # (One batch each: changes of one row in one batch are one document.)
        for change in (
            {"table": "customer", "op": "U", "row": taken},
            {"table": "customer", "op": "U", "row": renamed},
            {"table": "customer", "op": "D", "row": key},
        ):
            answer = attacker.push([change])
            assert answer.status_code == 200, answer.text

        # 2. Squatting the victim's next number, and the victim's own series.
        squat = attacker.document("S01-T01-000002")
        # 3. Values without bounds, or that do not add up.
        huge = attacker.document("S01-T09-000100")
        for row in _rows(huge, "receipt") + _rows(huge, "receipt_payment"):
            row["total" if "total" in row else "amount"] = 2**62
        wrong_total = attacker.document("S01-T09-000101")
        _rows(wrong_total, "receipt")[0]["total"] += 1000
        refund_kind = attacker.document("S01-T09-000102")
        _rows(refund_kind, "receipt")[0]["kind"] = "refund"
        negative_line = attacker.document("S01-T09-000103")
        for row in _rows(negative_line, "receipt_line"):
            row["qty"], row["line_total"] = -row["qty"], -row["line_total"]
        unknown_sku = attacker.document("S01-T09-000104")
        for row in _rows(unknown_sku, "receipt_line") + _rows(unknown_sku, "stock_movement"):
            row["sku"] = "NO-SUCH-SKU"
        goods = [
            {
                "table": "stock_movement",
                "op": "I",
                "row": {
                    "movement_id": str(uuid.uuid4()),
                    "store_id": "S01",
                    "sku": "SKU1",
                    "qty": qty,
                    "reason": "goods_receipt",
                    "doc_ref": None,
                    "terminal_id": "T09",
                    "created_at": "2026-12-01T00:00:00.000Z",
                },
            }
            for qty in (2**63 - 1, -1_000_000)
        ]
        genuine = attacker.document("S01-T09-000001")  # its own, well formed: applied
        answer = attacker.push(
            squat,
            huge,
            wrong_total,
            refund_kind,
            negative_line,
            unknown_sku,
            goods[:1],
            goods[1:],
            genuine,
        )
        assert answer.status_code == 200, answer.text

        # Another store's id is out of scope: refused whole, nothing applied.
        foreign = attacker.document("S01-T09-000105")
        for change in foreign:
            change["row"]["store_id"] = "S02"
        refused = attacker.push(foreign)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope"

        held = _held(store)
        codes = sorted(code for code, _ in held)
        assert codes == sorted(["not_owner", "not_allowed", "incomplete", *["rule"] * 7]), held
        expected = [
            "customer.origin_terminal_id never changes",
            "T09 may not delete customer rows",
            "'S01-T01-000002' is not a number of T09's receipt series",
            "beyond the maximum of 100,000,000,000",
            "is not the sum of its lines",
            "kind 'refund' is neither sale nor return",
            "a quantity of -2 on a sale",
            "unknown item 'NO-SUCH-SKU'",
            "('goods_receipt') that is not part of a receipt",
        ]
        for words in expected:
            assert any(words in reason for _, reason in held), (words, held)

        # The victim keeps syncing; its next number is its own; stock is right.
        sale = cli_json("pos", "sell", "--data", str(victim), "SKU1:1", "--pay", "cash")
        assert sale["receipt_no"] == "S01-T01-000002"
        cli("pos", "sync", "--data", str(victim))
        assert cli_json("pos", "status", "--data", str(victim))["pending_changes"] == 0
        with read_tx(store) as conn:
            numbers = set(conn.execute(sa.select(receipt.c.receipt_no)).scalars())
            names = conn.execute(
                sa.select(customer.c.name, customer.c.origin_terminal_id).where(
                    customer.c.customer_id == ada_row["customer_id"]
                )
            ).one()
            movements = conn.execute(
                sa.select(sa.func.count())
                .select_from(stock_movement)
                .where(stock_movement.c.terminal_id == "T09")
            ).scalar_one()
        assert numbers == {"S01-T01-000001", "S01-T01-000002", "S01-T09-000001"}
        assert tuple(names) == ("Ada L.", "T01")  # renamed by another till, still T01's
        assert movements == 1  # the genuine sale's only
        after = stock_of(store)
        assert after["SKU1"] == before["SKU1"] - 1 and after["SKU2"] == before["SKU2"] - 2
        # The victim sees the rename and the same stock.
        cli("pos", "sync", "--data", str(victim))
        assert stock_of(terminal_engine(victim))["SKU1"] == after["SKU1"]

        # Status and reports still add up; the quarantine is counted per terminal.
        status = cli_json("store", "status", "--db", db_url)
        by_id = {t["terminal_id"]: t for t in status["terminals"]}
        assert by_id["T09"]["quarantined"] == 10 and by_id["T01"]["quarantined"] == 0
        # New tills can still be provisioned.
        pos_init(store, server.url, tmp_path / "T05", "T05")
        assert stock_of(terminal_engine(tmp_path / "T05"))["SKU1"] == after["SKU1"]


def test_an_administrator_resubmits_after_fixing_master_data_or_discards(
    db_url: str, tmp_path: Path
) -> None:
    store = make_store(db_url, items=10, stock=100)
    with StoreProcess(db_url) as server:
        till = tmp_path / "T09"
        pos_init(store, server.url, till, "T09")
        cli("pos", "sell", "--data", str(till), "SKU2:2", "--pay", "cash")
        attacker = Attacker(server, till)
        new_item = attacker.document("S01-T09-000050")
        for row in _rows(new_item, "receipt_line") + _rows(new_item, "stock_movement"):
            row["sku"] = "NEW1"  # an item the store does not have yet
        squat = attacker.document("S01-T01-000001")
        assert attacker.push(new_item, squat).status_code == 200

        listed = cli_json("store", "quarantine", "list", "--db", db_url)
        assert [e["code"] for e in listed] == ["rule", "rule"]
        unknown, squatted = listed
        assert "unknown item 'NEW1'" in unknown["reason"] and unknown["peer"] == "T09"
        tables = sorted({c["table"] for c in unknown["changes"]})  # kept whole
        assert tables == ["receipt", "receipt_line", "receipt_payment", "stock_movement"]

        # Resubmitted before the fix: held again, in a new entry.
        again = cli_json(
            "store", "quarantine", "resubmit", str(unknown["quarantine_id"]), "--db", db_url
        )
        assert again["applied"] is False and "unknown item" in again["held_again"][0]["reason"]
        (tmp_path / "new.csv").write_text("sku,barcode,name,price,tax_code\nNEW1,,New,1.00,STD\n")
        cli("store", "items", "import", str(tmp_path / "new.csv"), "--db", db_url)
        fixed = cli_json(
            "store", "quarantine", "resubmit", str(again["held_again"][0]["quarantine_id"]),
            "--db", db_url, "--note", "item NEW1 added",
        )  # fmt: skip
        assert fixed["applied"] is True
        cli(
            "store", "quarantine", "discard", str(squatted["quarantine_id"]), "--db", db_url,
            "--note", "another till's number",
        )  # fmt: skip
        refused = cli(
            "store", "quarantine", "discard", str(squatted["quarantine_id"]), "--db", db_url,
            "--note", "twice", expect=1,
        )  # fmt: skip
        assert "already discarded" in refused.stderr

    assert cli_json("store", "quarantine", "list", "--db", db_url) == []
    with read_tx(store) as conn:
        numbers = set(conn.execute(sa.select(receipt.c.receipt_no)).scalars())
        log = conn.execute(sa.text("SELECT action, detail FROM admin_log ORDER BY entry_id")).all()
    assert "S01-T09-000050" in numbers and "S01-T01-000001" not in numbers
    assert stock_of(store)["NEW1"] == -2
    actions = [a for a, _ in log]
    assert actions[-3:] == [
        "quarantine_resubmitted",
        "quarantine_resubmitted",
        "quarantine_discarded",
    ]
    assert "another till's number" in log[-1][1]

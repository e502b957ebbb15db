"""Schema 0004 (release 0.3.0): databases made by release 0.2.0's own code (schema
0003) are upgraded and keep their data: a store with its catalog, stock, cashier,
administrator and a terminal's pending registration code; a till set up from a
backup with unsynced sales. Afterwards the guessing limits work on both, and the
cashier's 0.2.0 PIN hash still signs in."""

from __future__ import annotations

import gzip
import tarfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import extract_parameters
from fastapi.testclient import TestClient

from possync.retail import cashiers, schema_version, store_admin
from possync.retail.schema_version import HEAD
from possync.store.app import create_app as store_app
from possync.store.console import accounts
from possync.sync.db import open_engine, read_tx, write_tx
from possync.terminal.web.app import create_app as till_app
from tests.e2e.helpers import catalog_csv, cli_json
from tests.terminal_web.screen import sign_in
from tests.upgrade import release
from tests.upgrade.checks import revision
from tests.upgrade.test_schema import schema_of

pytestmark = pytest.mark.e2e

COMMIT = "a273e5d80fe7cab4317ed684813bbf63da3f2cf7"  # release 0.2.0, schema 0003
# The same package as a file, for a clone without history.
PACKAGE = Path(__file__).with_name("fixtures") / "0.2.0" / "possync-0.2.0.tar.gz"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def release_0_2_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("release-0.2.0")
    archive = release.from_git(COMMIT) or gzip.decompress(PACKAGE.read_bytes())
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def test_the_committed_package_is_release_0_2_0() -> None:
    archive = release.from_git(COMMIT)
    if archive is None:
        pytest.skip("no git history in this clone to compare with")

    def names(data: bytes) -> list[str]:
        with tarfile.open(fileobj=BytesIO(data)) as tar:
            return sorted(tar.getnames())

    assert names(gzip.decompress(PACKAGE.read_bytes())) == names(archive)


def test_a_0_2_0_store_and_till_upgraded_to_0_3_0_keep_their_data(
    release_0_2_0: Path, tmp_path: Path
) -> None:
    def old(*args: str, stdin: str | None = None) -> str:
        return release.run(release_0_2_0, *args, stdin=stdin).stdout

    db = f"sqlite:///{tmp_path / 'store.db'}"
    (tmp_path / "catalog.csv").write_text(catalog_csv(20))
    old("store", "init", "--db", db, "--store", "S01", "--name", "Main Street")
    old("store", "items", "import", str(tmp_path / "catalog.csv"), "--db", db)
    old("store", "stock", "adjust", "SKU1", "100", "--db", db)
    old("store", "cashier", "add", "C1", "--db", db, "--name", "Ann", "--pin", "1234")
    old("store", "admin", "add", "manager", "--db", db, "--password-stdin", stdin=PASSWORD + "\n")
    code = release.run(release_0_2_0, "store", "terminal", "add", "T01", "--db", db, "--json")
    pending_code = cli_json_of(code.stdout)["registration_code"]
    old("store", "terminal", "add", "T02", "--db", db)
    backup_file = str(tmp_path / "T02.bak")
    backup = ("store", "terminal", "backup", "T02", "--db", db, "--out", backup_file)
    made = cli_json_of(old(*backup, "--store-url", "http://127.0.0.1:9", "--json"))
    till = tmp_path / "T02"
    code_of_t02 = made["import_code"]
    old(
        "pos",
        "import",
        backup_file,
        "--data",
        str(till),
        "--terminal",
        "T02",
        "--code",
        str(code_of_t02),
    )
    for _ in range(3):
        old("pos", "sell", "--data", str(till), "SKU1:1", "--pay", "cash")
    before = cli_json_of(old("pos", "status", "--data", str(till), "--json"))
    assert before["pending_changes"] > 0 and before["sales"] == 3

    store = cli_json("store", "upgrade", "--db", db, "--json")
    assert store["from"]["revision"] == "0003"
    assert store["applied"] == schema_version.since("0004")
    upgraded_till = cli_json("pos", "upgrade", "--data", str(till), "--json")
    assert upgraded_till["applied"] == schema_version.since("0004")
    # 0005 (sync protocol 3): store prices, which a 0.2.0 till never received, and
    # 0006's fiscal_chain_start, the cashiers (0007 added their store) and the store
    # (0008 added its locale and time zone): it loads them whole before its next pull.
    till_state = open_engine(f"sqlite:///{till / 'terminal.db'}")
    with read_tx(till_state) as conn:
        reload = "SELECT value FROM sync_state WHERE key = 'reload_tables'"
        reloaded = '["cashier","discount_reason","fiscal_chain_start","store","store_price"]'
        assert conn.execute(sa.text(reload)).scalar() == reloaded
    till_state.dispose()

    engine = open_engine(db)
    assert revision(engine) == HEAD
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main Street")
    assert schema_of(engine) == schema_of(fresh)
    with read_tx(engine) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM item")).scalar() == 20
        on_hand = "SELECT on_hand FROM stock_level WHERE sku = 'SKU1'"
        assert conn.execute(sa.text(on_hand)).scalar() == 100
        assert cashiers.verify(conn, "C1", "1234")["name"] == "Ann"  # a 0.2.0 hash
        assert accounts.check_password(conn, "manager", PASSWORD)
    with write_tx(engine) as conn:  # captured like any replicated table's row
        conn.execute(sa.text("INSERT INTO store_price VALUES ('S01', 'SKU1', 150)"))
        last = "SELECT table_name, route_key FROM sync_change ORDER BY seq DESC LIMIT 1"
        assert tuple(conn.execute(sa.text(last)).one()) == ("store_price", "S01")
    after = cli_json("pos", "status", "--data", str(till), "--json")
    assert (after["pending_changes"], after["sales"]) == (before["pending_changes"], 3)

    # The guessing limits work on the upgraded store: the pending code is still good,
    # after wrong ones counted in the new table.
    with TestClient(store_app(engine), client=("192.0.2.5", 1)) as client:
        wrong = {"node": "T01", "code": "AAAA-BBBB-CCCC-DDDD"}
        assert client.post("/api/v1/register", json=wrong).status_code == 403
        right = client.post("/api/v1/register", json={"node": "T01", "code": pending_code})
        assert right.status_code == 200
    with read_tx(engine) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM guess_limit")).scalar() > 0
    engine.dispose()
    fresh.dispose()

    # ... and on the upgraded till: Ann's 0.2.0 PIN hash signs in, and is made again.
    with TestClient(till_app(till), base_url="http://127.0.0.1:8700") as screen:
        assert sign_in(screen, "C1", "1234").status_code == 303
    till_db = open_engine(f"sqlite:///{till / 'terminal.db'}")
    with read_tx(till_db) as conn:
        made_hash = conn.execute(sa.text("SELECT pin_hash FROM cashier")).scalar_one()
    till_db.dispose()
    assert extract_parameters(made_hash).memory_cost == 40 * 1024


def cli_json_of(text: str) -> dict[str, object]:
    import orjson

    return orjson.loads(text)  # type: ignore[no-any-return]

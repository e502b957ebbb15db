"""Makes the 0.1.0 fixtures in tests/upgrade/fixtures/0.1.0/ with release 0.1.0's
own code (see release.py), and says what they hold:

* ``store.db``: store S01 with a catalog of 20 items, stock, cashier C1 (PIN
  1234), a console administrator, terminals T01 and T02, and what T01 synced;
* ``possync-0.1.0.tar.gz``: the release's package, for a clone without history;
* ``till-T01/terminal.db``: terminal T01, which synced 3 sales and a customer,
  then, with the store down, made 5 more sales, a return and a customer that it
  has not sent yet.

Run from the repository root: ``.venv/bin/python -m tests.upgrade.make_fixtures``.
The files are committed; the tests copy them before they touch anything.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import tempfile
from pathlib import Path

import orjson

from tests.upgrade import release

FIXTURES = Path(__file__).with_name("fixtures") / release.RELEASE


def _catalog(path: Path) -> None:
    lines = ["sku,barcode,name,price,tax_code"]
    lines += [f"SKU{i},{4000000000000 + i},Item {i},{i}.{i % 10}0,STD" for i in range(1, 21)]
    path.write_text("\n".join(lines) + "\n")


def _compact(db: Path) -> None:
    """Fold the WAL into the file, so that one file is the whole database."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def make(out: Path) -> dict[str, object]:
    rel = release.materialise(Path(tempfile.mkdtemp(prefix="possync-0.1.0-")))
    work = Path(tempfile.mkdtemp(prefix="possync-fixtures-"))
    db = f"sqlite:///{work / 'store.db'}"
    till = work / "till-T01"

    def old(*args: str) -> str:
        return release.run(rel, *args).stdout

    old("store", "init", "--db", db, "--store", "S01", "--name", "Main Street")
    _catalog(work / "catalog.csv")
    old("store", "items", "import", str(work / "catalog.csv"), "--db", db)
    for sku, qty in (("SKU1", "100"), ("SKU2", "50"), ("SKU3", "20")):
        old("store", "stock", "adjust", sku, qty, "--db", db)
    old("store", "cashier", "add", "C1", "--db", db, "--name", "Ada", "--pin", "1234")
    release.run(
        rel,
        "store",
        "admin",
        "add",
        "manager",
        "--db",
        db,
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    code = orjson.loads(old("store", "terminal", "add", "T01", "--db", db, "--json"))
    old("store", "terminal", "add", "T02", "--db", db, "--json")

    with release.OldStoreProcess(rel, db) as server:
        old("pos", "init", "--data", str(till), "--store-url", server.url,
            "--terminal", "T01", "--code", code["registration_code"])  # fmt: skip
        for lines in (["SKU1:2"], ["SKU2:1", "SKU3:1"], ["SKU4:3"]):
            old("pos", "sell", "--data", str(till), *lines, "--pay", "cash")
        old("pos", "customer", "add", "--data", str(till), "Grace Hopper")
        old("pos", "sync", "--data", str(till))
    # The store is down from here: these stay on the till, unsynced.
    for lines in (["SKU1:1"], ["SKU1:4", "SKU5:1"], ["SKU2:2"], ["SKU6:1"], ["SKU3:5"]):
        old("pos", "sell", "--data", str(till), *lines, "--pay", "card")
    old("pos", "return", "--data", str(till), "S01-T01-000001", "SKU1:1")
    old("pos", "customer", "add", "--data", str(till), "Alan Turing")
    status = orjson.loads(old("pos", "status", "--data", str(till), "--json"))

    _compact(work / "store.db")
    _compact(till / "terminal.db")
    if out.exists():
        shutil.rmtree(out)
    (out / "till-T01").mkdir(parents=True)
    shutil.copy(work / "store.db", out / "store.db")
    shutil.copy(till / "terminal.db", out / "till-T01" / "terminal.db")
    facts = {
        "release": release.RELEASE,
        "commit": release.COMMIT,
        "till_pending_changes": status["pending_changes"],
        "till_sales": status["sales"],
        "till_returns": status["returns"],
    }
    (out / "facts.json").write_bytes(orjson.dumps(facts, option=orjson.OPT_INDENT_2) + b"\n")
    archive = release.from_git()
    assert archive is not None, "make the fixtures in a clone with history"
    # mtime=0: the same commit always gives the same bytes.
    with gzip.GzipFile(out / release.PACKAGE.name, "wb", mtime=0) as packed:
        packed.write(archive)
    shutil.rmtree(work)
    shutil.rmtree(rel)
    return facts


if __name__ == "__main__":
    print(make(FIXTURES))

"""Create Offline Backup on the store, Import Database on a terminal, then sync with a
real store server: the terminal gets every later change exactly once, ends up with
the same data as a terminal loaded over the network, and sells with its series. The
file is signed by the store's key (kept in a 0600 file beside its database) and
encrypted: it holds no item name nor PIN hash in clear. Bad files and occupied
directories are refused without touching anything."""

from __future__ import annotations

import hashlib
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from possync import __version__
from possync.retail import store_admin
from possync.retail.schema import item, payment_method, receipt, stock_level, store, tax_rate
from possync.store.process import StoreProcess
from possync.sync import backup, peers, signing_key, state
from possync.sync.backup import BackupError
from possync.sync.db import read_tx, write_tx
from possync.terminal import restore
from tests.e2e.helpers import (
    ON_POSTGRES,
    catalog_csv,
    cli,
    cli_init,
    cli_json,
    make_store,
    receipt_numbers,
    stock_of,
    terminal_engine,
)

pytestmark = pytest.mark.e2e

MASTER_DATA = (item, tax_rate, payment_method, store, stock_level)


def make_backup(db_url: str, terminal: str, out: Path, *extra: str) -> dict[str, Any]:
    return cli_json(
        "store", "terminal", "backup", terminal, "--db", db_url, "--out", str(out), *extra
    )


def import_backup(
    file: Path, data: Path, terminal: str, code: str, *extra: str, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    return cli(
        "pos",
        "import",
        str(file),
        *("--data", str(data), "--terminal", terminal, "--code", code),
        *extra,
        expect=expect,
    )


def table_rows(engine: sa.Engine, table: sa.Table) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        result = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(r._mapping) for r in result]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_imported_terminal_syncs_later_changes_once_and_matches_a_network_one(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_store(db_url, items=20, stock=100)
    for t in ("T01", "T02"):
        store_admin.add_terminal(engine, t)
    server = StoreProcess(db_url, log_path=tmp_path / "store.log")  # its address, not yet up
    cli("store", "stock", "adjust", "SKU1", "7", "--db", db_url)  # before: in the baseline

    file = tmp_path / "T01.possync-backup"
    made = make_backup(db_url, "T01", file, "--store-url", server.url)
    assert made["terminal_id"] == "T01" and made["store_id"] == "S01"
    assert made["rows"]["item"] == 20 and made["bytes"] == file.stat().st_size

    # the store changes after the backup: a price, a new item, stock
    with write_tx(engine) as conn:
        conn.execute(item.update().where(item.c.sku == "SKU2").values(price=999))
    csv = tmp_path / "new.csv"
    csv.write_text(catalog_csv(21).splitlines()[0] + "\nSKU900,900900,Late item,3.50,RED\n")
    cli("store", "items", "import", str(csv), "--db", db_url)
    cli("store", "stock", "adjust", "SKU1", "5", "--db", db_url)
    cli("store", "stock", "adjust", "SKU900", "12", "--db", db_url)

    t01 = tmp_path / "t01"
    out = import_backup(file, t01, "T01", made["import_code"])
    assert "terminal T01 of store S01 ready" in out.stdout
    local = terminal_engine(t01)
    assert stock_of(local)["SKU1"] == 107  # as of the backup
    prices = {r["sku"]: r["price"] for r in table_rows(local, item)}
    assert prices["SKU2"] != 999 and "SKU900" not in prices

    with server:
        synced = cli_json("pos", "sync", "--data", str(t01))
        # exactly what changed since: one price, one new item, two movements
        assert synced["pulled"] == 4
        assert cli_json("pos", "sync", "--data", str(t01))["pulled"] == 0
        assert stock_of(local) == stock_of(engine)
        assert stock_of(local)["SKU1"] == 112

        code = store_admin.add_terminal(engine, "T02").registration_code
        t02 = tmp_path / "t02"
        cli_init(t02, server.url, "T02", code)
        for table in MASTER_DATA:
            assert table_rows(local, table) == table_rows(terminal_engine(t02), table), table.name

        sale = cli_json("pos", "sell", "--data", str(t01), "SKU900:2", "SKU1", "--pay", "card")
        assert sale["receipt_no"] == "S01-T01-000001"
        pushed = cli_json("pos", "sync", "--data", str(t01))
        assert pushed["pushed"] > 0 and pushed["pulled"] == 0  # its own movements never echo
        cli("pos", "sync", "--data", str(t02))
        status = cli_json("store", "status", "--db", db_url)
    assert receipt_numbers(engine) == ["S01-T01-000001"]
    assert {t["terminal_id"]: t["sales"] for t in status["terminals"]} == {"T01": 1, "T02": 0}
    assert stock_of(local) == stock_of(engine) == stock_of(terminal_engine(t02))
    assert stock_of(engine)["SKU900"] == 10


@ON_POSTGRES
def test_a_backup_re_provisions_a_terminal_that_sold_before(db_url: str, tmp_path: Path) -> None:
    engine = make_store(db_url, items=10, stock=50)
    old = tmp_path / "old"
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        code = store_admin.add_terminal(engine, "T01").registration_code
        cli_init(old, server.url, "T01", code)
        for _ in range(2):
            cli_json("pos", "sell", "--data", str(old), "SKU1", "--pay", "cash")
        cli("pos", "sync", "--data", str(old))

        file = tmp_path / "T01.possync-backup"
        made = make_backup(db_url, "T01", file, "--store-url", server.url)
        receipt_series = next(s for s in made["series"] if s["kind"] == "receipt")
        assert receipt_series["start_no"] == 3  # past the two receipts the store holds
        assert made["lost_changes"] == 0

        refused = cli("pos", "sync", "--data", str(old), expect=1)
        assert "unauthenticated" in refused.stderr  # the old secret is revoked

        new = tmp_path / "new"
        new.mkdir()  # an empty directory is fine
        import_backup(file, new, "T01", made["import_code"])
        assert (
            cli_json("pos", "sell", "--data", str(new), "SKU1", "--pay", "cash")["receipt_no"]
            == "S01-T01-000003"
        )
        cli("pos", "sync", "--data", str(new))
    assert receipt_numbers(engine) == [f"S01-T01-00000{n}" for n in (1, 2, 3)]
    assert stock_of(engine)["SKU1"] == stock_of(terminal_engine(new))["SKU1"] == 47


def test_bad_files_and_occupied_directories_are_refused_untouched(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    for t in ("T01", "T02"):
        store_admin.add_terminal(engine, t)
    file = tmp_path / "T01.possync-backup"
    made = make_backup(db_url, "T01", file, "--store-url", "http://127.0.0.1:1")
    code = made["import_code"]
    existing = tmp_path / "existing"
    import_backup(file, existing, "T01", code)
    before = snapshot(existing)
    data = file.read_bytes()

    def variant(name: str, content: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    cases = [
        (variant("truncated", data[: len(data) - 40]), "T01", code, (), "truncated is truncated"),
        (
            variant("tampered", data[:-30] + bytes([data[-30] ^ 0xFF]) + data[-29:]),
            "T01",
            code,
            (),
            "tampered is damaged or was altered: the checksum of its data does not match",
        ),
        (
            variant("header", data.replace(b'"S01","node"', b'"S99","node"', 1)),
            "T01",
            code,
            (),
            "header was altered: the signature of its header does not match",
        ),
        (
            variant("v9", data.replace(b"POSSYNC-BACKUP 3", b"POSSYNC-BACKUP 9", 1)),
            "T01",
            code,
            (),
            "v9 has backup format version 9",
        ),
        (
            variant("v2", data.replace(b"POSSYNC-BACKUP 3", b"POSSYNC-BACKUP 2", 1)),
            "T01",
            code,
            (),
            "made by an older possync: such files are neither signed by the store nor "
            f"encrypted, and this possync ({__version__}) refuses them; make a new backup on "
            "the store",
        ),
        (file, "T02", code, (), "is the backup of terminal T01 of store S01, not of T02"),
        (file, "T01", code, ("--store", "S02"), "not of T01 of store S02"),
        (file, "T01", code.replace(code[0], "A" if code[0] != "A" else "B"), (), "import code"),
        (tmp_path / "missing", "T01", code, (), "cannot read"),
    ]
    for path, terminal, typed, extra, message in cases:
        for target in (existing, tmp_path / "fresh"):
            refused = import_backup(path, target, terminal, typed, *extra, expect=1)
            assert message in refused.stderr.replace("\n", " "), (path.name, refused.stderr)
            assert snapshot(existing) == before
            assert not (tmp_path / "fresh").exists()
            # each refusal counts against the backup on this machine (five, and it is
            # refused for good: tests/terminal/test_import_attempts.py); start afresh
            (tmp_path / ".possync-import-attempts.db").unlink(missing_ok=True)

    # a good file, but the directory already holds a terminal
    refused = import_backup(file, existing, "T01", code, expect=1)
    assert "already holds a terminal database" in refused.stderr
    assert snapshot(existing) == before
    assert [p.name for p in tmp_path.iterdir() if ".import-" in p.name] == []


def test_a_backup_without_the_store_address_needs_it_at_import(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    store_admin.add_terminal(make_store(db_url, items=5), "T01")
    file = tmp_path / "b"
    code = make_backup(db_url, "T01", file)["import_code"]
    refused = import_backup(file, tmp_path / "t", "T01", code, expect=1)
    assert "give it with --store-url" in refused.stderr
    assert not (tmp_path / "t").exists()
    import_backup(file, tmp_path / "t", "T01", code, "--store-url", "http://store:8600/")
    assert cli_json("pos", "status", "--data", str(tmp_path / "t"))["store_url"] == (
        "http://store:8600"
    )


def test_refusals_on_the_store_change_nothing(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    store_admin.add_terminal(engine, "T01")

    def pending_code() -> str | None:
        with read_tx(engine) as conn:
            return conn.execute(
                sa.text("SELECT code_hash FROM sync_peer WHERE node_id = 'T01'")
            ).scalar()

    before = pending_code()
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    out = tmp_path / "b"
    checks = [
        (("T09", "--out", str(out)), "store S01 has no terminal T09"),
        (("T01", "--out", str(taken)), "already exists"),
        (("T01", "--out", str(tmp_path / "no" / "b")), "is not a directory"),
        (("T01", "--out", str(out), "--store-url", "store:8600"), "must start with http://"),
    ]
    for args, message in checks:
        refused = cli("store", "terminal", "backup", *args, "--db", db_url, expect=1)
        assert message in refused.stderr
    cli("store", "offline", "disable", "--db", db_url)
    refused = cli("store", "terminal", "backup", "T01", "--out", str(out), "--db", db_url, expect=1)
    assert "offline mode is disabled for store S01" in refused.stderr
    assert pending_code() == before  # T01's pending registration code still stands
    assert taken.read_text() == "keep me" and not out.exists()


def test_a_failed_import_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    store_admin.add_terminal(make_store(db_url, items=5), "T01")
    file = tmp_path / "b"
    code = make_backup(db_url, "T01", file, "--store-url", "http://store:8600")["import_code"]
    target = tmp_path / "t"
    target.mkdir()
    loaded = backup.restore

    def load_then_fail(*args: Any) -> int:
        loaded(*args)  # the whole database is built, then the power goes
        raise OSError("disk unplugged")

    monkeypatch.setattr(backup, "restore", load_then_fail)
    with pytest.raises(
        BackupError, match=r"import failed \(disk unplugged\); nothing was imported"
    ):
        restore.import_backup(file, target, "T01", code)
    assert list(target.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if ".import-" in p.name] == []
    monkeypatch.undo()
    done = restore.import_backup(file, target, "T01", code)
    assert done.rows > 0 and (target / "terminal.db").exists()
    with read_tx(terminal_engine(target)) as conn:
        parent = peers.parent(conn)
        assert parent is not None and parent.inbound_seq == done.header.cursor
        assert conn.execute(sa.select(sa.func.count()).select_from(receipt)).scalar_one() == 0


def test_the_file_is_signed_by_the_store_and_reveals_nothing_without_its_code(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    store_admin.add_terminal(engine, "T01")
    cli("store", "cashier", "add", "C01", "--name", "Ann", "--pin", "4821", "--db", db_url)
    pin = hashlib.sha256(b"the store's certificate").hexdigest()
    with write_tx(engine) as conn:  # as store init --tls records it
        state.put(conn, backup.PARENT_TLS_PIN, pin)

    file = tmp_path / "T01.possync-backup"
    made = make_backup(db_url, "T01", file, "--store-url", "https://127.0.0.1:1")  # it has a pin
    # the store's key: made on the first backup of a store without one, 0600, beside
    # the database, and not in it
    key_file = tmp_path / "store.db.signing-key"
    assert made["signing_key"]["file"] == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = signing_key.SigningKey(key_file, signing_key.load(key_file))
    assert made["signing_key"]["fingerprint"] == key.fingerprint
    assert key_file.read_bytes() not in (tmp_path / "store.db").read_bytes()
    assert len(made["import_code"]) == 34 and made["tls_pin"] == pin

    data = file.read_bytes()
    for clear in (b"Item 1", b"SKU1", b"Ann", b"$argon2", b"argon2"):
        assert clear not in data, clear

    t01 = tmp_path / "t01"
    done = cli_json(
        "pos", "import", str(file), "--data", str(t01), "--terminal", "T01",
        "--code", made["import_code"].lower().replace("-", " "),
    )  # fmt: skip
    assert done["signed_by"] == key.fingerprint and done["tls_pin"] == pin
    local = terminal_engine(t01)
    with read_tx(local) as conn:
        assert state.get(conn, backup.CHILD_TLS_PIN) == pin
        hashes = conn.execute(sa.text("SELECT pin_hash FROM cashier")).scalars().all()
    assert [h[:8] for h in hashes] == ["$argon2i"]  # it was in the file, encrypted
    assert "Item 1" in {r["name"] for r in table_rows(local, item)}

    # a second backup: the same key, another code
    again = make_backup(db_url, "T01", tmp_path / "again", "--store-url", "http://127.0.0.1:1")
    assert again["signing_key"] == made["signing_key"]
    assert again["import_code"] != made["import_code"]


def test_a_key_file_others_may_read_is_refused_before_anything_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    store_admin.add_terminal(engine, "T01")
    key_file = tmp_path / "keys" / "store.key"
    out = tmp_path / "b"
    args = ("store", "terminal", "backup", "T01", "--db", db_url, "--out", str(out))
    made = cli_json(*args, "--signing-key", str(key_file), "--store-url", "http://s:1")
    assert made["signing_key"]["file"] == str(key_file)
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    out.unlink()
    key_file.chmod(0o644)
    with read_tx(engine) as conn:
        before = conn.execute(sa.text("SELECT code_hash FROM sync_peer")).all()
    monkeypatch.setenv(signing_key.ENV, str(key_file))  # the same key, named by the variable
    refused = cli(*args, expect=1)
    said = " ".join(refused.stderr.split())
    assert f"the signing key {key_file} may be read by others (mode 0644)" in said
    assert f"chmod 600 {key_file}" in said
    assert not out.exists()
    with read_tx(engine) as conn:  # T01 was not re-provisioned
        assert conn.execute(sa.text("SELECT code_hash FROM sync_peer")).all() == before


def test_store_init_makes_the_signing_key_that_backups_then_use(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    made = cli("store", "init", "--db", db_url, "--store", "S01", "--name", "Main")
    key_file = tmp_path / "store.db.signing-key"
    key = signing_key.SigningKey(key_file, signing_key.load(key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    said = " ".join(made.stdout.split())
    assert f"backup signing key {key_file} (readable by its owner only)" in said
    assert f"fingerprint {key.fingerprint}" in said
    cli("store", "init", "--db", db_url, "--store", "S01", "--name", "Main")  # kept
    assert signing_key.load(key_file).public_key() == key.private.public_key()

    cli("store", "terminal", "add", "T01", "--db", db_url)
    backup_made = cli(
        "store", "terminal", "backup", "T01", "--db", db_url, "--out", str(tmp_path / "b"),
        "--store-url", "http://127.0.0.1:1",
    )  # fmt: skip
    assert backup_made.stderr == ""  # no key made now: store init made it
    assert f"signed with the store key {key.fingerprint}" in " ".join(backup_made.stdout.split())


def test_a_till_imported_from_a_tls_store_syncs_by_the_pin_its_backup_carried(
    tmp_path: Path,
) -> None:
    """The store's certificate is self-signed and the till is given no CA: only the
    pin that came in the backup lets it sync."""
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url, items=5)
    cli("store", "init", "--db", db_url, "--store", "S01", "--name", "Main Street",
        "--self-signed-cert")  # fmt: skip
    store_admin.add_terminal(engine, "T01")
    with read_tx(engine) as conn:
        pin = state.get(conn, backup.PARENT_TLS_PIN)
    assert pin is not None
    with StoreProcess(db_url, log_path=tmp_path / "store.log", https=True) as server:
        assert server.url.startswith("https://")
        file = tmp_path / "T01.possync-backup"
        made = make_backup(db_url, "T01", file, "--store-url", server.url)
        assert made["tls_pin"] == pin

        # a plain-HTTP address for a store that has a pin is refused
        refused = import_backup(
            file, tmp_path / "t01", "T01", made["import_code"],
            "--store-url", "http://127.0.0.1:1", expect=1,
        )  # fmt: skip
        assert "carries the store's TLS certificate pin, but http://127.0.0.1:1 is plain HTTP" in (
            " ".join(refused.stderr.split())
        )
        assert not (tmp_path / "t01").exists()

        import_backup(file, tmp_path / "t01", "T01", made["import_code"])
        status = cli_json("pos", "status", "--data", str(tmp_path / "t01"))
        assert status["store_tls"] == "pinned"
        assert status["store_tls_pin"] == f"sha256:{pin}"
        sale = cli_json("pos", "sell", "--data", str(tmp_path / "t01"), "SKU1", "--pay", "cash")
        synced = cli_json("pos", "sync", "--data", str(tmp_path / "t01"))
        assert synced["pushed"] > 0
    assert receipt_numbers(engine) == [sale["receipt_no"]]

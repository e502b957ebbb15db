"""Offline backups across releases: a 0.1.0 backup (neither signed by the store nor
encrypted) is refused, saying to make a new one, and the new one made on the upgraded
store is imported and migrated; a backup this release makes, or one of a newer
release, is refused clearly by a till that cannot read it, which is left as it was."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from possync import __version__
from possync.retail import store_admin
from possync.retail.replication import PROTOCOL
from possync.retail.schema_version import HEAD
from possync.store.process import StoreProcess
from possync.sync import backup, signing_key
from possync.sync.db import open_engine
from tests.e2e.helpers import cli, cli_json, make_store
from tests.upgrade import release
from tests.upgrade.checks import assert_in_step, revision, till_engine
from tests.upgrade.conftest import Shop

pytestmark = pytest.mark.e2e


def test_a_0_1_0_backup_is_refused_and_a_new_one_is_imported_and_migrated(
    old_release: Path, shop_0_1_0: Shop, tmp_path: Path
) -> None:
    made = orjson.loads(
        release.run(
            old_release, "store", "terminal", "backup", "T02", "--db", shop_0_1_0.store_url,
            "--out", str(tmp_path / "T02.backup"), "--json",
        ).stdout
    )  # fmt: skip
    assert (tmp_path / "T02.backup").read_bytes().startswith(b"POSSYNC-BACKUP 1\n")
    cli("store", "upgrade", "--db", shop_0_1_0.store_url)
    till = tmp_path / "T02"
    refused = cli(
        "pos", "import", str(tmp_path / "T02.backup"), "--data", str(till),
        "--terminal", "T02", "--code", made["import_code"], expect=1,
    )  # fmt: skip
    said = " ".join(refused.stderr.split())
    assert "has backup format version 1, made by an older possync" in said, said
    assert "make a new backup on the store" in said and not till.exists()

    # the upgraded store makes its signing key on its first backup, and says so
    new = cli(
        "store", "terminal", "backup", "T02", "--db", shop_0_1_0.store_url,
        "--out", str(tmp_path / "T02.new.backup"), "--json",
    )  # fmt: skip
    assert "made a backup signing key for this store" in " ".join(new.stderr.split())
    made = orjson.loads(new.stdout)
    with StoreProcess(shop_0_1_0.store_url) as server:
        imported = cli_json(
            "pos", "import", str(tmp_path / "T02.new.backup"), "--data", str(till),
            "--terminal", "T02", "--code", made["import_code"], "--store-url", server.url,
        )  # fmt: skip
        assert imported["rows"] == sum(made["rows"].values())
        assert revision(till_engine(till)) == HEAD
        cli("store", "details", "--db", shop_0_1_0.store_url, "--address", "9 Quay")
        cli("pos", "sell", "--data", str(till), "SKU1:1", "--pay", "cash")
        cli("pos", "sync", "--data", str(till))
    held = assert_in_step(open_engine(shop_0_1_0.store_url), till, "T02")
    assert [r[1] for r in held["receipt"]] == ["S01-T02-000001"]


def test_a_0_1_0_till_refuses_a_backup_of_this_release(old_release: Path, tmp_path: Path) -> None:
    engine = make_store(f"sqlite:///{tmp_path / 'store.db'}")
    store_admin.add_terminal(engine, "T03")
    made = cli_json(
        "store", "terminal", "backup", "T03", "--db", f"sqlite:///{tmp_path / 'store.db'}",
        "--out", str(tmp_path / "T03.backup"), "--store-url", "http://127.0.0.1:9",
    )  # fmt: skip
    refused = release.run(
        old_release, "pos", "import", str(tmp_path / "T03.backup"), "--data",
        str(tmp_path / "T03"), "--terminal", "T03", "--code", made["import_code"], expect=1,
    )  # fmt: skip
    said = " ".join(refused.stderr.split())
    assert "has backup format version 3; this possync (0.1.0) reads version 1 only" in said
    assert not (tmp_path / "T03").exists()


def test_a_backup_of_a_newer_protocol_is_refused(tmp_path: Path) -> None:
    """A file as a newer release would write it: this release's backup with the
    header saying the next protocol, signed again with the store's key."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(url)
    store_admin.add_terminal(engine, "T04")
    made = cli_json(
        "store", "terminal", "backup", "T04", "--db", url, "--out", str(tmp_path / "b"),
        "--store-url", "http://127.0.0.1:9",
    )  # fmt: skip
    first, header, _signature, payload = (tmp_path / "b").read_bytes().split(b"\n", 3)
    fields = orjson.loads(header)
    assert fields["protocol"] == PROTOCOL
    fields["protocol"] = PROTOCOL + 1
    lead = first + b"\n" + orjson.dumps(fields) + b"\n"
    key_file = tmp_path / "store.db.signing-key"
    key = signing_key.SigningKey(key_file, signing_key.load(key_file))
    (tmp_path / "newer.backup").write_bytes(lead + backup.signature_line(key, lead) + payload)
    refused = cli(
        "pos", "import", str(tmp_path / "newer.backup"), "--data", str(tmp_path / "T04"),
        "--terminal", "T04", "--code", made["import_code"], expect=1,
    )  # fmt: skip
    said = " ".join(refused.stderr.split())
    known = ", ".join(str(p) for p in range(1, PROTOCOL + 1))
    expected = f"for sync protocol {PROTOCOL + 1}; this possync ({__version__}) reads protocols"
    assert f"{expected} {known}" in said, said
    assert "update possync here first" in said
    assert not (tmp_path / "T04").exists()

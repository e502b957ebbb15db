"""``possync pos import`` of crafted files: a clear refusal, exit status 1, no
traceback, and no terminal directory left behind (issue 11). Files signed by a
forger's key are refused whatever they hold; files signed with the store's real key
(a store's bug, a stolen key) are still read within bounds."""

from __future__ import annotations

import hashlib
import io
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from possync.retail import offline_backup, store_admin
from possync.sync import backup, signing_key
from possync.sync.backup_cipher import EncryptingWriter
from possync.sync.backup_keys import SECRET_CHARS, CodeKeys, normalise_import_code
from possync.sync.signing_key import SigningKey
from tests.e2e.helpers import cli, make_store
from tests.sync.test_backup import decrypted


@pytest.fixture(scope="module")
def real_backup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("crafted")
    store = make_store(f"sqlite:///{tmp / 'store.db'}", items=20)
    store_admin.add_terminal(store, "T01")
    file = tmp / "T01.possync-backup"
    made = offline_backup.create(store, "T01", file, store_url="http://127.0.0.1:9")
    store.dispose()
    return file, made.import_code


def resign(
    file: Path,
    code: str,
    out: Path,
    payload: bytes | None = None,
    key: SigningKey | None = None,
    **header: Any,
) -> Path:
    """``file`` with header fields changed and/or another payload (a gzip stream),
    encrypted for the real import code and signed by ``key``: by default the store's
    real one, read from its file beside the store database."""
    key = key or SigningKey(file.parent, signing_key.load(file.parent / "store.db.signing-key"))
    data = file.read_bytes()
    raw = orjson.loads(data.split(b"\n")[1])
    plain = decrypted(file, code, "T01") if payload is None else payload
    keys = CodeKeys(
        normalise_import_code(code)[:SECRET_CHARS], bytes.fromhex(raw["kdf"]["salt"]), key.public
    )
    sink = io.BytesIO()
    sealer = EncryptingWriter(sink, keys.payload_key)
    sealer.write(plain)
    sealer.finish()
    body = sink.getvalue()
    secret = backup.verify(file, code, node="T01").keys.unseal(
        raw["sealed_secret"], raw["backup_id"]
    )
    raw.update(header)
    raw["signer"]["public_key"] = key.public.hex()
    raw["code_check"] = keys.check
    raw["sealed_secret"] = keys.seal(secret, raw["backup_id"])
    raw["payload"] = {
        **raw["payload"],
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    lead = data.split(b"\n")[0] + b"\n" + orjson.dumps(raw) + b"\n"
    out.write_bytes(lead + backup.signature_line(key, lead) + body)
    return out


def pos_import(file: Path, data: Path, code: str) -> str:
    done = cli(
        "pos",
        "import",
        str(file),
        "--data",
        str(data),
        "--terminal",
        "T01",
        "--code",
        code,
        expect=1,
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "Error:" not in output.replace("BackupError", "")
    assert not data.exists(), "nothing is left behind"
    assert not [p for p in data.parent.iterdir() if p.name.startswith(f".{data.name}.import-")]
    return output


def test_a_cursor_beyond_64_bits_is_refused(real_backup: tuple[Path, str], tmp_path: Path) -> None:
    file, code = real_backup
    crafted = resign(file, code, tmp_path / "cursor.possync-backup", cursor=2**64 - 1)
    output = pos_import(crafted, tmp_path / "T01", code)
    assert "header field cursor is out of range" in output


def test_a_gzip_bomb_is_refused(real_backup: tuple[Path, str], tmp_path: Path) -> None:
    file, code = real_backup
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"0" * (1 << 20)
    bomb = b"".join([*(packer.compress(zeros) for _ in range(1024)), packer.flush()])  # 1 GiB
    crafted = resign(file, code, tmp_path / "bomb.possync-backup", payload=bomb)
    output = pos_import(crafted, tmp_path / "T01", code)
    assert "is refused: a line of its data is longer than" in output


def test_a_backup_signed_by_another_key_is_refused(
    real_backup: tuple[Path, str], tmp_path: Path
) -> None:
    """Whoever holds the code can encrypt a file for it, with their own store's
    address in it, but cannot sign it with the key the code names."""
    file, code = real_backup
    forger = SigningKey(tmp_path / "forger.key", Ed25519PrivateKey.generate())
    crafted = resign(
        file, code, tmp_path / "forged.possync-backup", key=forger, parent_url="http://evil:1"
    )
    output = pos_import(crafted, tmp_path / "T01", code)
    said = " ".join(output.split())
    assert "forged.possync-backup is not signed by the store key its import code names" in said
    assert f"(it is signed by key {forger.fingerprint})" in said

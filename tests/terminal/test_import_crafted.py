"""``possync pos import`` of files crafted with a real import code (whoever holds a
code can sign a file): a clear refusal, exit status 1, no traceback, and no
terminal directory left behind (issue 11)."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from possync.retail import offline_backup, store_admin
from possync.sync import backup
from possync.sync.backup_keys import CodeKeys
from tests.e2e.helpers import cli, make_store


@pytest.fixture(scope="module")
def real_backup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("crafted")
    store = make_store(f"sqlite:///{tmp / 'store.db'}", items=20)
    store_admin.add_terminal(store, "T01")
    file = tmp / "T01.possync-backup"
    made = offline_backup.create(store, "T01", file, store_url="http://127.0.0.1:9")
    store.dispose()
    return file, made.import_code


def resign(file: Path, code: str, out: Path, payload: bytes | None = None, **header: Any) -> Path:
    """``file`` with header fields changed and/or another payload, signed again with
    the real import code."""
    verified = backup.verify(file, code, node="T01")
    data = file.read_bytes()
    raw = orjson.loads(data.split(b"\n")[1])
    body = data[verified.payload_offset :] if payload is None else payload
    raw.update(header)
    raw["payload"] = {
        **raw["payload"],
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    lead = data.split(b"\n")[0] + b"\n" + orjson.dumps(raw) + b"\n"
    out.write_bytes(lead + b"hmac-sha256=" + CodeKeys(code).sign(lead).encode() + b"\n" + body)
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

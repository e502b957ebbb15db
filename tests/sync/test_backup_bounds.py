"""Backups crafted with the parent's own key (a parent's bug, or a stolen key: since
issue 11 an import code alone no longer signs a file): a gzip bomb and out-of-range
numbers are refused with a BackupError, within bounded memory, never a MemoryError
or an OverflowError."""

from __future__ import annotations

import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from possync.sync import backup
from possync.sync.backup import BackupError
from possync.sync.backup_header import MAX_INT, Header
from tests.sync.test_backup import URL, Scene, craft, plain_payload


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    return Scene(f"sqlite:///{tmp_path / 'parent.db'}", tmp_path)


def gzip_stream(pieces: Any) -> bytes:
    """A gzip file of the concatenated pieces, made piece by piece."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: with a gzip header
    out = [packer.compress(p) for p in pieces]
    out.append(packer.flush())
    return b"".join(out)


def signed(scene: Scene, payload: bytes, **fields: Any) -> Path:
    """A file around ``payload`` (a gzip stream), encrypted for the scene's import
    code and signed by the parent's key."""
    return craft(scene, payload, **fields)


def test_a_gzip_bomb_is_refused_after_one_bounded_line(scene: Scene) -> None:
    zeros = b"0" * (1 << 20)
    bomb = gzip_stream(zeros for _ in range(1024))  # 1 GiB of one line, in ~1 MB
    assert len(bomb) < 2 << 20
    verified = backup.verify(signed(scene, bomb), scene.code, node="C1")
    max_line, _ = backup.payload_limits(verified.header)
    child = scene.child()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(BackupError) as refused:
            backup.restore(verified, child, URL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    took = time.perf_counter() - started
    print(f"bomb: refused in {took:.2f} s, peak {peak / 2**20:.0f} MiB, line limit {max_line:,}")
    assert f"a line of its data is longer than {max_line:,} bytes" in str(refused.value)
    assert peak < 3 * max_line  # nowhere near the 1 GiB it unpacks to
    assert child.load_state() != "done"


def test_data_beyond_what_the_declared_rows_can_take_is_refused(scene: Scene) -> None:
    h = scene.written.header
    max_line, max_total = backup.payload_limits(h)
    # one line within the line limit, but more than the declared rows can take
    filler = orjson.dumps({"kind": "start", "x": "y" * max_total}) + b"\n"
    assert len(filler) < max_line
    verified = backup.verify(signed(scene, gzip_stream([filler])), scene.code, node="C1")
    child = scene.child()
    with pytest.raises(BackupError) as refused:
        backup.restore(verified, child, URL)
    assert f"its data unpacks to more than {max_total:,} bytes" in str(refused.value)
    assert child.load_state() != "done"


def test_more_rows_than_the_header_declares_are_refused(scene: Scene) -> None:
    h = scene.written.header
    few = {**h.rows, "catalog": 1}  # the file holds 39 catalog rows for C1
    verified = backup.verify(signed(scene, plain_payload(scene), rows=few), scene.code, node="C1")
    child = scene.child()
    with pytest.raises(BackupError, match="holds more rows of catalog than the 1 its header"):
        backup.restore(verified, child, URL)
    assert child.load_state() != "done"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cursor": 2**63}, "cursor"),
        ({"cursor": 2**64 - 1}, "cursor"),
        ({"payload_bytes": 2**63}, "payload.bytes"),
        ({"protocol": 2**63}, "protocol"),
        ({"rows": {"catalog": 2**63}}, "rows"),
        ({"baselines": {"total": 2**63}}, "baselines"),
    ],
)
def test_header_integers_beyond_64_bits_are_refused(
    scene: Scene, fields: dict[str, Any], field: str
) -> None:
    *_, payload = scene.path.read_bytes().split(b"\n", 3)
    h = scene.written.header
    header = Header(**{**h.__dict__, **fields})
    lead = backup._lead(header)
    path = scene.tmp / "huge.backup"
    path.write_bytes(lead + backup.signature_line(scene.key, lead) + payload)
    with pytest.raises(BackupError) as refused:
        backup.verify(path, scene.code, node="C1")
    assert f"is damaged: header field {field}" in str(refused.value)
    assert "out of range" in str(refused.value) or "from 0 to" in str(refused.value)
    assert str(MAX_INT) in str(refused.value)


def test_the_largest_cursor_is_still_read(scene: Scene) -> None:
    verified = backup.verify(
        signed(scene, plain_payload(scene), cursor=MAX_INT), scene.code, node="C1"
    )
    assert verified.header.cursor == MAX_INT

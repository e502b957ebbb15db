"""Offline backups at the engine level (the toy schema): the file round-trips to a
load identical to the network one, is signed by the parent's key and encrypted
with its import code, and every kind of bad or forged file is refused with a
precise message before anything is written."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from possync import __version__
from possync.sync import backup, backup_keys, peers, signing_key, state
from possync.sync.backup import BackupError, Verified
from possync.sync.backup_cipher import DecryptingReader, EncryptingWriter
from possync.sync.backup_header import Header
from possync.sync.backup_keys import CodeKeys
from possync.sync.child import Child
from possync.sync.db import read_tx, write_tx
from possync.sync.hashing_io import HashingReader
from possync.sync.parent import Parent
from possync.sync.signing_key import SigningKey
from tests.sync.toy import SPEC, catalog, make_node, rows, total, wire

URL = "http://parent.example:8600"


class Scene:
    """A parent P with a routed catalog, its child C1 registered, and C1's backup."""

    def __init__(self, parent_url: str, tmp: Path) -> None:
        self.tmp = tmp
        self.engine = make_node(parent_url, "P")
        self.parent = Parent(self.engine, SPEC, "P")
        with write_tx(self.engine) as conn:
            conn.execute(
                catalog.insert(),
                [
                    {"key": k, "name": f"n{k}", "price": k, "active": k % 3 > 0, "route": route}
                    for k in range(1, 60)
                    for route in [(None, "R1", "R2")[k % 3]]
                ],
            )
            conn.execute(total.insert(), [{"name": "x", "value": 42}])
            code = peers.add_child(conn, "C1", ["R1"])
            _, self.secret = peers.register(conn, "C1", code)
        self.key = signing_key.ensure(self.engine, tmp / "parent.signing-key")
        self.path = tmp / "c1.backup"
        self.written = self.write(self.path, chunk_rows=7)
        self.code = self.written.import_code

    def write(self, path: Path, **kw: Any) -> backup.Written:
        return backup.write(path, self.parent, self.peer(), self.secret, key=self.key, **kw)

    def peer(self) -> peers.Peer:
        with read_tx(self.engine) as conn:
            found = peers.get(conn, "C1")
        assert found is not None
        return found

    def child(self, name: str = "child") -> Child:
        return Child(make_node(f"sqlite:///{self.tmp / name}.db", "C1"), SPEC)


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    return Scene(f"sqlite:///{tmp_path / 'parent.db'}", tmp_path)


def restore(scene: Scene) -> Child:
    verified = backup.verify(scene.path, scene.code, node="C1", parent="P")
    child = scene.child()
    backup.restore(verified, child, URL)
    return child


def pull_all(scene: Scene, child: Child) -> int:
    got = 0
    while True:
        batch = scene.parent.changes_for(scene.peer(), child.inbound_cursor(), 100)
        child.apply_pulled(wire(batch.to_wire()))
        got += len(batch.changes)
        if not batch.more:
            return got


def network_load(scene: Scene, child: Child) -> None:
    """What ``possync pos init`` does, in-process."""
    with write_tx(child.engine) as conn:
        peers.set_parent(conn, "P", URL, scene.secret, ["R1"])
    start = scene.parent.start_load(scene.peer())
    child.begin_load(start.cursor, start.tables, wire(start.baselines))
    for table in start.tables:
        key, more = None, True
        while more:
            chunk, key, more = scene.parent.load_chunk(scene.peer(), table, key, 5)
            child.apply_chunk(table, wire(chunk), key, more)
    child.finish_load()


def untouched(child: Child) -> bool:
    with read_tx(child.engine) as conn:
        return peers.parent(conn) is None and child.load_state() == "none"


def another_key() -> SigningKey:
    return SigningKey(Path("elsewhere.signing-key"), Ed25519PrivateKey.generate())


def decrypted(path: Path, code: str, node: str) -> bytes:
    """The payload of a backup, decrypted: the gzip stream its parent wrote."""
    verified = backup.verify(path, code, node=node)
    with open(path, "rb") as f:
        f.seek(verified.payload_offset)
        source = HashingReader(f, verified.header.payload_bytes)
        reader = DecryptingReader(source, verified.keys.payload_key)
        return b"".join(iter(lambda: reader.read(1 << 20), b""))


def plain_payload(scene: Scene) -> bytes:
    return decrypted(scene.path, scene.code, "C1")


def craft(
    scene: Scene,
    plain: bytes,
    *,
    key: SigningKey | None = None,
    name: str = "crafted.backup",
    **fields: Any,
) -> Path:
    """A file around ``plain`` (a gzip stream), encrypted for the scene's import code
    and signed by ``key``: the parent's own (what a faulty parent could write) unless
    another is given (what a forger who holds the code can write)."""
    key = key or scene.key
    h = scene.written.header
    text = backup_keys.normalise_import_code(scene.code)
    keys = CodeKeys(text[: backup_keys.SECRET_CHARS], bytes.fromhex(h.salt), key.public)
    sink = io.BytesIO()
    sealer = EncryptingWriter(sink, keys.payload_key)
    sealer.write(plain)
    sealer.finish()
    payload = sink.getvalue()
    header = Header(
        **{
            **h.__dict__,
            "signer": key.public.hex(),
            "code_check": keys.check,
            "sealed_secret": keys.seal(scene.secret, h.backup_id),
            "payload_bytes": len(payload),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
            **fields,
        }
    )
    lead = backup._lead(header)
    path = scene.tmp / name
    path.write_bytes(lead + backup.signature_line(key, lead) + payload)
    return path


# -- round trip ----------------------------------------------------------------------------


def test_round_trip_gives_the_network_load_and_resumes_at_the_cursor(
    db_url: str, tmp_path: Path
) -> None:
    scene = Scene(db_url, tmp_path)
    child = restore(scene)
    assert child.load_state() == "done"
    routed = [r for r in rows(scene.engine, catalog) if r["route"] in (None, "R1")]
    assert rows(child.engine, catalog) == routed
    assert rows(child.engine, total) == [{"name": "x", "value": 42}]
    with read_tx(child.engine) as conn:
        parent = peers.parent(conn)
    assert parent is not None
    assert (parent.node_id, parent.url, parent.route_keys) == ("P", URL, ("R1",))
    assert parent.secret == scene.secret
    assert parent.inbound_seq == scene.written.header.cursor

    # the same as a load over the network
    other = scene.child("network")
    network_load(scene, other)
    assert rows(other.engine, catalog) == rows(child.engine, catalog)
    assert rows(other.engine, total) == rows(child.engine, total)

    # what changed after the backup arrives once, nothing from before it
    with write_tx(scene.engine) as conn:
        conn.execute(catalog.update().where(catalog.c.key == 3).values(price=300))
        conn.execute(catalog.delete().where(catalog.c.key == 6))
        conn.execute(
            catalog.insert(),
            [
                {"key": 100, "name": "new", "price": 1, "active": True, "route": "R1"},
                {"key": 101, "name": "not for C1", "price": 1, "active": True, "route": "R2"},
            ],
        )
    assert pull_all(scene, child) == 3
    routed = [r for r in rows(scene.engine, catalog) if r["route"] in (None, "R1")]
    assert rows(child.engine, catalog) == routed
    assert pull_all(scene, child) == 0


def test_header_describes_the_file_and_the_payload_is_encrypted(scene: Scene) -> None:
    data = scene.path.read_bytes()
    first, header_line, signature, payload = data.split(b"\n", 3)
    assert first == b"POSSYNC-BACKUP 3"
    header = orjson.loads(header_line)
    assert (
        header["format"],
        header["version"],
        header["protocol"],
        header["parent"],
        header["node"],
    ) == ("possync-offline-backup", 3, 1, "P", "C1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", header["created_at"])
    assert header["rows"] == {"catalog": 39, "shared": 0}  # key % 3 in (0, 1)
    assert header["baselines"] == {"total": 1}
    assert header["kdf"] == {
        "name": "scrypt",
        "n": 65536,
        "r": 8,
        "p": 1,
        "salt": scene.written.header.salt,
    }
    assert header["signer"] == {"algorithm": "ed25519", "public_key": scene.key.public.hex()}
    assert header["payload"]["encryption"] == "chacha20-poly1305"
    assert header["tls_pin"] is None
    assert re.fullmatch(rb"ed25519=[0-9a-f]{128}", signature)
    # the payload is not a gzip stream, and nothing of the rows is in the file...
    assert not payload.startswith(b"\x1f\x8b")
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(payload)
    plain = gzip.decompress(plain_payload(scene))
    for text in (b'"name":"n13"', b'"kind":"chunk"', scene.secret.encode()):
        assert text not in data
    # ...though it is all in the decrypted payload, except the secret (sealed apart)
    assert b'"name":"n13"' in plain and scene.secret.encode() not in plain
    assert re.fullmatch(r"([A-HJ-NP-Z2-9]{4}-){6}[A-HJ-NP-Z2-9]{4}", scene.code)


def test_codes_differ_per_backup_and_can_be_typed_loosely(scene: Scene) -> None:
    second = scene.write(scene.tmp / "again")
    assert second.import_code != scene.code
    assert second.header.salt != scene.written.header.salt
    # the same key signs both, and each code's last 12 characters name it
    assert second.header.signer == scene.written.header.signer == scene.key.public.hex()
    # typed in lower case, without dashes, with spaces: the same code
    typed = scene.code.replace("-", " ").lower()
    verified = backup.verify(scene.path, typed, node="C1")
    assert verified.header == scene.written.header
    assert verified.signer_fingerprint == scene.key.fingerprint


def test_a_destination_that_exists_is_never_overwritten(scene: Scene) -> None:
    before = scene.path.read_bytes()
    with pytest.raises(BackupError, match="already exists"):
        scene.write(scene.path)
    assert scene.path.read_bytes() == before
    assert sorted(p.name for p in scene.tmp.iterdir() if ".part" in p.name) == []


# -- refusals --------------------------------------------------------------------------------


def refused(scene: Scene, path: Path, message: str, code: str | None = None, **kw: Any) -> None:
    child = scene.child()
    with pytest.raises(BackupError) as exc:
        backup.verify(path, code or scene.code, **{"node": "C1", "parent": "P", **kw})
    assert message in str(exc.value), str(exc.value)
    assert untouched(child)


def altered(scene: Scene, change: Any) -> Path:
    path = scene.tmp / "altered.backup"
    path.write_bytes(change(scene.path.read_bytes()))
    return path


def test_truncated_files_are_refused(scene: Scene) -> None:
    data = scene.path.read_bytes()
    header_end = data.index(b"\n", data.index(b"\n") + 1)
    signature_end = data.index(b"\n", header_end + 1)
    held = len(data) - signature_end - 1 - 10
    cases = {
        len(data) - 10: f"is truncated: it holds {held:,} of its {held + 10:,} bytes of data",
        signature_end - 5: "is truncated: its signature is incomplete",
        header_end - 20: "is truncated or damaged: its header is incomplete",
        8: "is truncated: its first line is incomplete",
        0: "altered.backup is empty",
    }
    for size, message in cases.items():
        refused(scene, altered(scene, lambda d, n=size: d[:n]), message)


def test_a_tampered_payload_is_refused(scene: Scene) -> None:
    def flip_last_byte(data: bytes) -> bytes:
        return data[:-20] + bytes([data[-20] ^ 1]) + data[-19:]

    refused(
        scene,
        altered(scene, flip_last_byte),
        "altered.backup is damaged or was altered: the checksum of its data does not match",
    )
    refused(
        scene,
        altered(scene, lambda d: d + b"extra"),
        "altered.backup was altered: 5 bytes follow the end of its data",
    )


def test_a_tampered_header_is_refused(scene: Scene) -> None:
    cursor = scene.written.header.cursor
    refused(
        scene,
        altered(
            scene, lambda d: d.replace(b'"cursor":%d' % cursor, b'"cursor":%d' % (cursor - 1), 1)
        ),
        "altered.backup was altered: the signature of its header does not match",
    )
    refused(
        scene,
        altered(scene, lambda d: d.replace(b'"cursor":', b'"cursor" ', 1)),
        "altered.backup is damaged: its header is not valid JSON",
    )
    refused(
        scene,
        altered(scene, lambda d: d.replace(b'"cursor":%d' % cursor, b'"cursor":"x"', 1)),
        "altered.backup is damaged: header field cursor",
    )
    refused(
        scene,
        altered(scene, lambda d: d.replace(b"ed25519=", b"ed25518=", 1)),
        "its signature line is malformed",
    )
    # the scrypt cost is the format's, not the file's: a cheaper one is refused
    refused(
        scene,
        altered(scene, lambda d: d.replace(b'"n":65536', b'"n":2', 1)),
        "altered.backup uses a key derivation this possync does not accept",
    )
    # a signer swapped in the header no longer verifies the signature
    other = another_key().public.hex().encode()
    refused(
        scene,
        altered(scene, lambda d: d.replace(scene.key.public.hex().encode(), other, 1)),
        "altered.backup was altered: the signature of its header does not match",
    )


def test_a_wrong_or_mistyped_code_is_refused(scene: Scene) -> None:
    other = backup_keys.grouped(backup_keys.new_secret() + scene.code.replace("-", "")[16:])
    refused(scene, scene.path, "the import code does not match c1.backup", code=other)
    refused(scene, scene.path, "instead of 28 (7 groups of 4)", code=scene.code[:-1])
    refused(scene, scene.path, "contains 'O', which import codes never use", code="O" + scene.code)
    # a typo in the characters that name the key: the file is not trusted
    last = scene.code[-1]
    typo = scene.code[:-1] + ("A" if last != "A" else "B")
    refused(
        scene,
        scene.path,
        "c1.backup is not signed by the store key its import code names",
        code=typo,
    )


def test_a_backup_signed_by_another_key_is_refused_even_with_the_right_code(
    scene: Scene,
) -> None:
    """A forger who holds the code (it was read over the phone) can encrypt a file
    for it and sign it with their own key, but the code names the parent's key."""
    forger = another_key()
    forged = craft(scene, plain_payload(scene), key=forger, name="forged.backup")
    message = (
        f"forged.backup is not signed by the store key its import code names (it is signed "
        f"by key {forger.fingerprint})"
    )
    refused(scene, forged, message)
    # the same file signed by the parent's own key is fine: only the key differs
    assert backup.verify(craft(scene, plain_payload(scene)), scene.code, node="C1")


def test_the_parents_tls_pin_travels_to_the_child(scene: Scene) -> None:
    # the scene's backup was made without a pin: the child gets none
    with read_tx(restore(scene).engine) as conn:
        assert state.get(conn, backup.CHILD_TLS_PIN) is None

    pin = hashlib.sha256(b"the parent's certificate").hexdigest()
    colons = ":".join(pin[i : i + 2] for i in range(0, 64, 2)).upper()
    with write_tx(scene.engine) as conn:
        state.put(conn, backup.PARENT_TLS_PIN, colons)  # written as lower-case hex
    written = scene.write(scene.tmp / "pinned.backup")
    assert written.header.tls_pin == pin
    verified = backup.verify(scene.tmp / "pinned.backup", written.import_code, node="C1")
    assert orjson.loads(verified.path.read_bytes().split(b"\n")[1])["tls_pin"] == pin
    child = scene.child("pinned")
    backup.restore(verified, child, URL)
    with read_tx(child.engine) as conn:
        assert state.get(conn, backup.CHILD_TLS_PIN) == pin

    # a malformed pin on the parent refuses the backup
    with write_tx(scene.engine) as conn:
        state.put(conn, backup.PARENT_TLS_PIN, "not-a-digest")
    with pytest.raises(BackupError, match="is not a SHA-256 in hexadecimal"):
        scene.write(scene.tmp / "bad-pin.backup")
    assert not (scene.tmp / "bad-pin.backup").exists()


def test_a_backup_for_another_node_or_parent_is_refused(scene: Scene) -> None:
    refused(
        scene, scene.path, "c1.backup is the backup of terminal C1 of store P, not of C2", node="C2"
    )
    refused(
        scene,
        scene.path,
        "c1.backup is the backup of terminal C1 of store P, not of C1 of store Q",
        parent="Q",
    )


def test_an_unknown_or_old_format_version_or_foreign_file_is_refused(scene: Scene) -> None:
    refused(
        scene,
        altered(scene, lambda d: d.replace(b"POSSYNC-BACKUP 3\n", b"POSSYNC-BACKUP 4\n", 1)),
        f"altered.backup has backup format version 4; this possync ({__version__}) reads "
        "version 3: update possync on this terminal",
    )
    for old in (b"1", b"2"):
        refused(
            scene,
            altered(scene, lambda d, v=old: d.replace(b"BACKUP 3\n", b"BACKUP " + v + b"\n", 1)),
            f"altered.backup has backup format version {old.decode()}, made by an older "
            "possync: such files are neither signed by the store nor encrypted, and this "
            f"possync ({__version__}) refuses them; make a new backup on the store",
        )
    refused(
        scene,
        altered(scene, lambda d: b"SQLite format 3\x00" + d),
        "altered.backup is not a possync backup file",
    )
    refused(scene, scene.tmp / "missing.backup", "cannot read")


# -- restoring -----------------------------------------------------------------------------


def forge(scene: Scene, records: list[Any]) -> Verified:
    """A file signed by the parent's key with the given payload: what a faulty or
    newer parent could write. Checks that restore does not trust a signature blindly."""
    payload = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return backup.verify(craft(scene, payload, name="forged.backup"), scene.code, node="C1")


START = {"kind": "start", "tables": ["catalog", "shared"], "baselines": {"total": []}}


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (
            [START, {"kind": "chunk", "table": "catalog", "rows": [{"key": 1}], "more": False}],
            "does not fit this terminal's database: rows[0].row: missing column(s)",
        ),
        ([START], "forged.backup is truncated: its data has no end"),
        ([{"kind": "chunk"}], "forged.backup is damaged: unexpected record 'chunk'"),
        ([START, {"kind": "end", "chunks": 3, "rows": 9}], "its data does not add up"),
    ],
)
def test_restore_refuses_a_signed_but_inconsistent_payload(
    scene: Scene, records: list[Any], message: str
) -> None:
    verified = forge(scene, records)
    child = scene.child()
    with pytest.raises(BackupError) as exc:
        backup.restore(verified, child, URL)
    assert message in str(exc.value)
    assert child.load_state() != "done"


def test_restore_notices_a_file_changed_after_it_was_verified(scene: Scene) -> None:
    verified = backup.verify(scene.path, scene.code, node="C1")
    data = bytearray(scene.path.read_bytes())
    data[-20] ^= 1
    scene.path.write_bytes(bytes(data))
    child = scene.child()
    with pytest.raises(BackupError, match=r"c1\.backup changed after it was checked"):
        backup.restore(verified, child, URL)
    assert child.load_state() != "done"


def test_restore_refuses_a_database_that_already_has_a_parent(scene: Scene) -> None:
    verified = backup.verify(scene.path, scene.code, node="C1")
    child = scene.child()
    backup.restore(verified, child, URL)
    with pytest.raises(BackupError, match="already registered with a parent"):
        backup.restore(verified, child, URL)
    with read_tx(child.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(catalog)).scalar_one() == 39

"""Offline backups: a child's initial load in one signed, encrypted, compressed file.

A parent writes exactly what the child would receive by a network initial load
(``Parent.start_load``, then ``Parent.load_chunk`` for every table, so routing is
the same), plus what the child needs to sync afterwards: its parent's id, its
route keys, its secret and the cursor the load starts from. The child restores it
through ``Child.begin_load`` / ``apply_chunk`` / ``finish_load``, so the result is
that of a network load, and its first pull starts at the backup's cursor.

File layout (see docs/backup.md)::

    POSSYNC-BACKUP 3\\n           magic and format version
    {"format": ...}\\n            the header: one line of JSON, in clear
    ed25519=<128 hex>\\n          the parent's signature of the two lines above
    <sealed segments>             the payload: a gzip stream of JSON lines (start,
                                  chunk..., end), encrypted (backup_cipher)

The header holds the payload's size and SHA-256, so the signature covers every
byte; the import code names the signing key (backup_keys), so a child knows the
file comes from the parent that gave the code. Nothing is trusted, and nothing
written, before all of it has been checked.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from possync import __version__
from possync.sync import backup_keys, peers, state
from possync.sync.backup_cipher import DecryptingReader, EncryptingWriter, SegmentError
from possync.sync.backup_header import MAX_HEADER, READABLE, UNSIGNED, VERSION, Header
from possync.sync.backup_keys import BackupError, CodeKeys
from possync.sync.child import Child
from possync.sync.clock import utc_now
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import SyncError
from possync.sync.hashing_io import HashingReader, HashingWriter
from possync.sync.parent import Parent
from possync.sync.peers import Peer
from possync.sync.signing_key import SigningKey, fingerprint

__all__ = ["BackupError", "Verified", "Written", "check_destination", "restore", "verify", "write"]

MAGIC = b"POSSYNC-BACKUP"
CHUNK_ROWS = 10_000  # the most Parent.load_chunk hands out at once
# gzip level. 50,000 items (6.3 MB of JSON): level 6 gives 0.84 MB in 0.06 s, level 9
# 0.78 MB in 0.26 s; not worth it.
COMPRESSION = 6
# Reading a payload, which only the parent's key signs, yet is bounded all the same
# (a parent's bug, a stolen key): it is read one line at a time, and both a line and
# the whole are bounded, so a gzip bomb ends in a BackupError, not in MemoryError.
# A row takes ~100-300 bytes of JSON; ROW_BYTES is a generous average to allow.
ROW_BYTES = 4 * 1024
SLACK_BYTES = 1 << 20  # for the records' own keys, the start record's lists...
MAX_LINE = 256 * 1024 * 1024  # absolute: the start record of a million items fits
_FIRST_LINE = re.compile(rb"POSSYNC-BACKUP (\d{1,6})\n")
_SIGNATURE_LINE = re.compile(rb"ed25519=([0-9a-f]{128})\n")
# sync_state keys of the TLS certificate pin: the parent's own certificate, and the
# one the child expects of its parent (read by the child's sync client).
PARENT_TLS_PIN = "tls_cert_sha256"
CHILD_TLS_PIN = "tls_pin"
_PIN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Written:
    path: Path
    header: Header
    import_code: str


@dataclass(frozen=True)
class Verified:
    """A backup file whose header, signature and checksum have been checked."""

    path: Path
    header: Header
    keys: CodeKeys
    payload_offset: int

    @property
    def signer_fingerprint(self) -> str:
        return fingerprint(bytes.fromhex(self.header.signer))


# -- writing (the parent) ------------------------------------------------------------------


def check_destination(path: Path) -> None:
    """Refuse a destination before anything is changed: never overwrite a file."""
    if path.exists():
        raise BackupError(f"{path} already exists; choose another file name or remove it")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory")
    if not os.access(path.parent, os.W_OK):
        raise BackupError(f"cannot write in {path.parent}")


def write(
    path: Path,
    parent: Parent,
    peer: Peer,
    secret: str,
    *,
    key: SigningKey,
    parent_url: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Written:
    """Write the initial load of ``peer`` (registered with ``secret``) to ``path``,
    signed with ``key``; its import code is drawn here and returned.

    The file appears whole or not at all (written beside it, then renamed)."""
    check_destination(path)
    backup_id = str(uuid.uuid4())
    salt = secrets.token_bytes(backup_keys.SALT_BYTES)
    keys = CodeKeys(backup_keys.new_secret(), salt, key.public)
    tls_pin = parent_tls_pin(parent.engine)
    created_at = utc_now()
    start = parent.start_load(peer)
    # An anonymous file in the destination directory: it vanishes if we crash, and
    # a payload far larger than memory costs nothing.
    with tempfile.TemporaryFile(dir=path.parent) as payload:
        sink = HashingWriter(payload)
        sealer = EncryptingWriter(sink, keys.payload_key)
        with gzip.GzipFile(fileobj=sealer, mode="wb", compresslevel=COMPRESSION, mtime=0) as gz:
            _put(
                gz,
                {
                    "kind": "start",
                    "tables": start.tables,
                    "counts": start.counts,
                    "baselines": start.baselines,
                },
            )
            rows: dict[str, int] = {}
            chunks = 0
            for table in start.tables:
                rows[table], after, more = 0, None, True
                while more:
                    chunk, after, more = parent.load_chunk(peer, table, after, chunk_rows)
                    _put(
                        gz,
                        {
                            "kind": "chunk",
                            "table": table,
                            "rows": chunk,
                            "last_key": after,
                            "more": more,
                        },
                    )
                    rows[table] += len(chunk)
                    chunks += 1
            _put(gz, {"kind": "end", "chunks": chunks, "rows": sum(rows.values())})
        sealer.finish()
        header = Header(
            backup_id=backup_id,
            created_at=created_at,
            parent=parent.node_id,
            node=peer.node_id,
            parent_url=parent_url,
            cursor=start.cursor,
            route_keys=tuple(peer.route_keys),
            rows=rows,
            baselines={name: len(b) for name, b in start.baselines.items()},
            payload_bytes=sink.count,
            payload_sha256=sink.digest.hexdigest(),
            code_check=keys.check,
            sealed_secret=keys.seal(secret, backup_id),
            software=f"possync {__version__}",
            protocol=parent.spec.protocol,
            salt=salt.hex(),
            signer=key.public.hex(),
            tls_pin=tls_pin,
        )
        lead = _lead(header)
        payload.seek(0)
        _publish(path, lead + signature_line(key, lead), payload)
    return Written(path, header, keys.import_code)


def parent_tls_pin(engine: sa.Engine) -> str | None:
    """The parent's TLS certificate pin (lower-case hex), if it has one."""
    with read_tx(engine) as conn:
        found = state.get(conn, PARENT_TLS_PIN)
    if found is None:
        return None
    pin = found.replace(":", "").lower()
    if not _PIN.fullmatch(pin):
        raise BackupError(
            f"this store's TLS certificate fingerprint ({PARENT_TLS_PIN}) is not a SHA-256 "
            "in hexadecimal; fix it before making a backup"
        )
    return pin


def _lead(header: Header) -> bytes:
    """The signed part: the first line and the header line."""
    return MAGIC + b" %d\n" % VERSION + orjson.dumps(header.to_json()) + b"\n"


def signature_line(key: SigningKey, lead: bytes) -> bytes:
    return b"ed25519=" + key.sign(lead).hex().encode() + b"\n"


def _put(out: IO[bytes], record: dict[str, Any]) -> None:
    out.write(orjson.dumps(record))
    out.write(b"\n")


def _publish(path: Path, lead: bytes, payload: IO[bytes]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(lead)
            shutil.copyfileobj(payload, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- reading (the child) -------------------------------------------------------------------


def verify(path: Path, code: str, *, node: str, parent: str | None = None) -> Verified:
    """Check a backup for ``node`` (and ``parent`` if given) with its import code:
    format, identity, signature, code, signer, size and checksum. Reads only."""
    try:
        with open(path, "rb") as f:
            header, lead, signature = _read_lead(f, path.name)
            if header.node != node or (parent is not None and header.parent != parent):
                raise BackupError(
                    f"{path.name} is the backup of terminal {header.node} of store "
                    f"{header.parent}, not of {node}"
                    + (f" of store {parent}" if parent is not None else "")
                )
            backup_keys.normalise_import_code(code)  # a malformed code: said before any work
            signer = bytes.fromhex(header.signer)
            if not _signed_by(signer, lead, signature):
                raise BackupError(
                    f"{path.name} was altered: the signature of its header does not match"
                )
            keys, names_signer = CodeKeys.from_code(code, bytes.fromhex(header.salt), signer)
            if keys.check != header.code_check:
                raise BackupError(
                    f"the import code does not match {path.name}: check the code printed "
                    "when this backup was made"
                )
            if not names_signer:
                raise BackupError(
                    f"{path.name} is not signed by the store key its import code names "
                    f"(it is signed by key {fingerprint(signer)}): if the code's last "
                    f"{backup_keys.NAME_CHARS} characters are typed right, the file was not "
                    "made by the store that gave the code; do not use it"
                )
            offset = f.tell()
            held = os.fstat(f.fileno()).st_size - offset
            if held < header.payload_bytes:
                raise BackupError(
                    f"{path.name} is truncated: it holds {held:,} of its "
                    f"{header.payload_bytes:,} bytes of data"
                )
            if held > header.payload_bytes:
                raise BackupError(
                    f"{path.name} was altered: {held - header.payload_bytes:,} bytes "
                    "follow the end of its data"
                )
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    if digest != header.payload_sha256:
        raise BackupError(
            f"{path.name} is damaged or was altered: the checksum of its data does not match"
        )
    return Verified(path, header, keys, offset)


def _signed_by(public: bytes, lead: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, lead)
    except (InvalidSignature, ValueError):
        return False
    return True


def _read_lead(f: IO[bytes], name: str) -> tuple[Header, bytes, bytes]:
    first = f.readline(64)
    found = _FIRST_LINE.fullmatch(first)
    if found is None:
        if not first:
            raise BackupError(f"{name} is empty")
        if not first.endswith(b"\n") and (MAGIC + b" ").startswith(first[: len(MAGIC) + 1]):
            raise BackupError(f"{name} is truncated: its first line is incomplete")
        raise BackupError(f"{name} is not a possync backup file")
    version = int(found.group(1))
    if version in UNSIGNED:
        raise BackupError(
            f"{name} has backup format version {version}, made by an older possync: such "
            f"files are neither signed by the store nor encrypted, and this possync "
            f"({__version__}) refuses them; make a new backup on the store"
        )
    if version not in READABLE:
        raise BackupError(
            f"{name} has backup format version {version}; this possync ({__version__}) "
            f"reads version {VERSION}: update possync on this terminal"
        )
    line = f.readline(MAX_HEADER)
    if not line.endswith(b"\n"):
        reason = "header is too long" if len(line) >= MAX_HEADER else "header is incomplete"
        raise BackupError(f"{name} is truncated or damaged: its {reason}")
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise BackupError(f"{name} is damaged: its header is not valid JSON") from None
    header = Header.from_json(raw, name, version)
    sig_line = f.readline(256)
    if not sig_line.endswith(b"\n"):
        raise BackupError(f"{name} is truncated: its signature is incomplete")
    signature = _SIGNATURE_LINE.fullmatch(sig_line)
    if signature is None:
        raise BackupError(f"{name} is damaged: its signature line is malformed")
    return header, first + line, bytes.fromhex(signature.group(1).decode())


def restore(verified: Verified, child: Child, parent_url: str) -> int:
    """Load a verified backup into ``child``'s new, empty database (its node id set,
    no parent yet) exactly as a network initial load would. Returns rows loaded.

    A failure can leave the database half loaded: restore into a database that is
    thrown away on failure (the terminal builds it in a temporary directory)."""
    h = verified.header
    if h.protocol not in child.spec.protocols:
        newer = h.protocol > child.spec.protocol
        raise BackupError(
            f"{verified.path.name} was made by {h.software} for sync protocol {h.protocol}; "
            f"this possync ({__version__}) reads protocols "
            f"{', '.join(map(str, child.spec.protocols))}: "
            + ("update possync here first" if newer else "make a new backup on the store")
        )
    with read_tx(child.engine) as conn:
        if child.node_id(conn) != h.node:
            raise BackupError(f"this database is node {child.node_id(conn)}, not {h.node}")
        if peers.parent(conn) is not None:
            raise BackupError("this database is already registered with a parent")
    secret = verified.keys.unseal(h.sealed_secret, h.backup_id)
    with write_tx(child.engine) as conn:
        peers.set_parent(conn, h.parent, parent_url, secret, list(h.route_keys))
        if h.tls_pin is not None:
            state.put(conn, CHILD_TLS_PIN, h.tls_pin)
    name = verified.path.name
    loaded, chunks, started, ended = 0, 0, False, False
    per_table: dict[str, int] = {}
    try:
        for record in _records(verified):
            kind = record.get("kind") if isinstance(record, dict) else None
            if kind == "start" and not started:
                child.begin_load(
                    h.cursor, record.get("tables"), record.get("baselines"), record.get("counts")
                )
                started = True
            elif kind == "chunk" and started and not ended:
                more, table = record.get("more"), record.get("table")
                applied = child.apply_chunk(
                    table,
                    record.get("rows"),
                    record.get("last_key"),
                    more is True,
                    protocol=h.protocol,
                )
                loaded += applied
                chunks += 1
                # apply_chunk accepted the table's name, so it is a str
                per_table[table] = per_table.get(table, 0) + applied
                if per_table[table] > h.rows.get(table, 0):
                    raise BackupError(
                        f"{name} is damaged: it holds more rows of {table} than the "
                        f"{h.rows.get(table, 0):,} its header declares"
                    )
            elif kind == "end" and started and not ended:
                if (record.get("chunks"), record.get("rows")) != (chunks, loaded):
                    raise BackupError(f"{name} is damaged: its data does not add up")
                ended = True
            else:
                raise BackupError(f"{name} is damaged: unexpected record {kind!r:.40} in its data")
    except BackupError:
        raise
    except SyncError as exc:
        raise BackupError(f"{name} does not fit this terminal's database: {exc}") from exc
    if not ended:
        raise BackupError(f"{name} is truncated: its data has no end")
    child.finish_load()
    return loaded


def payload_limits(header: Header) -> tuple[int, int]:
    """The most bytes of decompressed data a backup may hold in one line and in all,
    from the rows its header declares (a line holds one chunk of at most CHUNK_ROWS
    rows, or the start record with the baselines)."""
    baseline_rows = sum(header.baselines.values())
    rows = sum(header.rows.values()) + baseline_rows
    line = min(MAX_LINE, SLACK_BYTES + ROW_BYTES * max(CHUNK_ROWS, baseline_rows))
    return line, SLACK_BYTES + ROW_BYTES * rows


def _records(verified: Verified) -> Iterator[Any]:
    """The payload's records, hashed again and decrypted on the way: the file must
    not have changed since it was verified. Read line by line within payload_limits."""
    name, header = verified.path.name, verified.header
    max_line, max_total = payload_limits(header)
    total = 0
    with open(verified.path, "rb") as f:
        f.seek(verified.payload_offset)
        source = HashingReader(f, header.payload_bytes)
        plain = DecryptingReader(source, verified.keys.payload_key)
        try:
            with gzip.GzipFile(fileobj=plain, mode="rb") as gz:
                while line := gz.readline(max_line + 1):
                    total += len(line)
                    if len(line) > max_line:
                        raise BackupError(
                            f"{name} is refused: a line of its data is longer than "
                            f"{max_line:,} bytes, more than {header.node}'s rows can take"
                        )
                    if total > max_total:
                        raise BackupError(
                            f"{name} is refused: its data unpacks to more than {max_total:,} "
                            f"bytes, more than the {sum(header.rows.values()):,} rows its "
                            "header declares can take"
                        )
                    yield orjson.loads(line)
        except (OSError, EOFError, zlib.error, orjson.JSONDecodeError, SegmentError) as exc:
            # The checksum was right when verified: the file has changed since.
            raise BackupError(
                f"{name} changed after it was checked: its data cannot be read ({exc})"
            ) from None
        if source.remaining or source.digest.hexdigest() != header.payload_sha256:
            raise BackupError(
                f"{name} changed after it was checked: the checksum of its data does not match"
            )

"""Offline backups: a child's initial load in one signed, compressed file.

A parent writes exactly what the child would receive by a network initial load
(``Parent.start_load``, then ``Parent.load_chunk`` for every table, so routing is
the same), plus what the child needs to sync afterwards: its parent's id, its
route keys, its secret and the cursor the load starts from. The child restores it
through ``Child.begin_load`` / ``apply_chunk`` / ``finish_load``, so the result is
that of a network load, and its first pull starts at the backup's cursor.

File layout (see docs/backup.md)::

    POSSYNC-BACKUP 2\\n           magic and format version (1 is still read)
    {"format": ...}\\n            the header: one line of JSON
    hmac-sha256=<64 hex>\\n       HMAC-SHA256 of the two lines above
    <gzip stream>                 the payload: JSON lines (start, chunk..., end)

The header holds the payload's size and SHA-256, so the signature covers every
byte. Nothing is trusted, and nothing written, before all of it has been checked.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
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

from possync import __version__
from possync.sync import backup_keys, peers
from possync.sync.backup_header import MAX_HEADER, READABLE, VERSION, Header
from possync.sync.backup_keys import BackupError, CodeKeys
from possync.sync.child import Child
from possync.sync.clock import utc_now
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import SyncError
from possync.sync.parent import Parent
from possync.sync.peers import Peer

__all__ = ["BackupError", "Verified", "Written", "check_destination", "restore", "verify", "write"]

MAGIC = b"POSSYNC-BACKUP"
CHUNK_ROWS = 10_000  # the most Parent.load_chunk hands out at once
# gzip level. 50,000 items (6.3 MB of JSON): level 6 gives 0.84 MB in 0.06 s, level 9
# 0.78 MB in 0.26 s; not worth it.
COMPRESSION = 6
# Reading a payload, which the holder of an import code can write at will (the code
# alone signs it): it is read one line at a time, and both a line and the whole are
# bounded, so a gzip bomb ends in a BackupError, not in MemoryError.
# A row takes ~100-300 bytes of JSON; ROW_BYTES is a generous average to allow.
ROW_BYTES = 4 * 1024
SLACK_BYTES = 1 << 20  # for the records' own keys, the start record's lists...
MAX_LINE = 256 * 1024 * 1024  # absolute: the start record of a million items fits
_FIRST_LINE = re.compile(rb"POSSYNC-BACKUP (\d{1,6})\n")
_SIGNATURE_LINE = re.compile(rb"hmac-sha256=([0-9a-f]{64})\n")


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
    parent_url: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Written:
    """Write the initial load of ``peer`` (registered with ``secret``) to ``path``.

    The file appears whole or not at all (written beside it, then renamed)."""
    check_destination(path)
    backup_id = str(uuid.uuid4())
    code = backup_keys.import_code(backup_keys.parent_key(parent.engine), backup_id)
    keys = CodeKeys(code)
    created_at = utc_now()
    start = parent.start_load(peer)
    # An anonymous file in the destination directory: it vanishes if we crash, and
    # a payload far larger than memory costs nothing.
    with tempfile.TemporaryFile(dir=path.parent) as payload:
        sink = _HashingWriter(payload)
        with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=COMPRESSION, mtime=0) as gz:
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
        )
        lead = _lead(header)
        signature = b"hmac-sha256=" + keys.sign(lead).encode() + b"\n"
        payload.seek(0)
        _publish(path, lead + signature, payload)
    return Written(path, header, code)


def _lead(header: Header) -> bytes:
    """The signed part: the first line and the header line."""
    return MAGIC + b" %d\n" % VERSION + orjson.dumps(header.to_json()) + b"\n"


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


class _HashingWriter:
    """Counts and hashes what gzip writes, on its way to the file."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.count += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


# -- reading (the child) -------------------------------------------------------------------


def verify(path: Path, code: str, *, node: str, parent: str | None = None) -> Verified:
    """Check a backup for ``node`` (and ``parent`` if given) with its import code:
    format, identity, code, signature, size and checksum. Reads only."""
    try:
        with open(path, "rb") as f:
            header, lead, signature = _read_lead(f, path.name)
            if header.node != node or (parent is not None and header.parent != parent):
                raise BackupError(
                    f"{path.name} is the backup of terminal {header.node} of store "
                    f"{header.parent}, not of {node}"
                    + (f" of store {parent}" if parent is not None else "")
                )
            keys = CodeKeys(code)
            if keys.check != header.code_check:
                raise BackupError(
                    f"the import code does not match {path.name}: check the code printed "
                    "when this backup was made"
                )
            if not keys.signature_matches(lead, signature):
                raise BackupError(
                    f"{path.name} was altered: the signature of its header does not match"
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


def _read_lead(f: IO[bytes], name: str) -> tuple[Header, bytes, str]:
    first = f.readline(64)
    found = _FIRST_LINE.fullmatch(first)
    if found is None:
        if not first:
            raise BackupError(f"{name} is empty")
        if not first.endswith(b"\n") and (MAGIC + b" ").startswith(first[: len(MAGIC) + 1]):
            raise BackupError(f"{name} is truncated: its first line is incomplete")
        raise BackupError(f"{name} is not a possync backup file")
    version = int(found.group(1))
    if version not in READABLE:
        raise BackupError(
            f"{name} has backup format version {version}; this possync ({__version__}) "
            f"reads versions {READABLE[0]} to {READABLE[-1]}: update possync on this terminal"
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
    sig_line = f.readline(128)
    if not sig_line.endswith(b"\n"):
        raise BackupError(f"{name} is truncated: its signature is incomplete")
    signature = _SIGNATURE_LINE.fullmatch(sig_line)
    if signature is None:
        raise BackupError(f"{name} is damaged: its signature line is malformed")
    return header, first + line, signature.group(1).decode()


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
    """The payload's records, hashed again on the way: the file must not have
    changed since it was verified. Read line by line within payload_limits."""
    name, header = verified.path.name, verified.header
    max_line, max_total = payload_limits(header)
    total = 0
    with open(verified.path, "rb") as f:
        f.seek(verified.payload_offset)
        source = _HashingReader(f, header.payload_bytes)
        try:
            with gzip.GzipFile(fileobj=source, mode="rb") as gz:
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
        except (OSError, EOFError, zlib.error, orjson.JSONDecodeError) as exc:
            # The checksum was right when verified: the file has changed since.
            raise BackupError(
                f"{name} changed after it was checked: its data cannot be read ({exc})"
            ) from None
        if source.remaining or source.digest.hexdigest() != header.payload_sha256:
            raise BackupError(
                f"{name} changed after it was checked: the checksum of its data does not match"
            )


class _HashingReader:
    """Hands gzip at most ``limit`` bytes of the file, hashing them."""

    def __init__(self, f: IO[bytes], limit: int) -> None:
        self.f = f
        self.remaining = limit
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.remaining:
            size = self.remaining
        data = self.f.read(size)
        self.remaining -= len(data)
        self.digest.update(data)
        return data

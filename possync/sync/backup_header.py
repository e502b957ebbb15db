"""The header of an offline backup file: what it holds, for whom, and how to check it.

One line of JSON, readable with ``head -2``. Every field is checked for its type
when read, so a damaged header is refused with the field named, before the
signature (which covers it) is even computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from possync.sync import backup_cipher
from possync.sync.backup_keys import SALT_BYTES, SCRYPT_N, SCRYPT_P, SCRYPT_R, BackupError

FORMAT = "possync-offline-backup"
# Written and read. 2 added "protocol" (release 0.2.0); 3 (0.3.0) is signed by the
# store's key (Ed25519) and encrypted, with "kdf", "signer", "tls_pin" and the
# payload's "encryption" and "segment".
VERSION = 3
READABLE = (3,)
UNSIGNED = (1, 2)  # older formats: signed with a key derived from the code, not encrypted
MAX_HEADER = 1 << 20  # bytes; a real header is well under 4 KiB
# Every integer of a header (cursor, counts, bytes) is at most what a signed 64-bit
# column holds: a bigger one is refused here, not met as an OverflowError later.
MAX_INT = 2**63 - 1
_HEX = re.compile(r"[0-9a-f]+")
SIGNATURE = "ed25519"
KDF = {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}


@dataclass(frozen=True)
class Header:
    backup_id: str  # a UUID; the import code is derived from it
    created_at: str  # ISO-8601 UTC
    parent: str  # the node that wrote it (the store)
    node: str  # the node it is for (the terminal)
    parent_url: str | None  # where the node reaches its parent, if the parent was told
    cursor: int  # the parent's log position the load was taken at
    route_keys: tuple[str, ...]
    rows: dict[str, int]  # rows per table in the payload
    baselines: dict[str, int]  # rows per baseline
    payload_bytes: int
    payload_sha256: str
    code_check: str  # tells a mistyped import code from an altered file
    sealed_secret: str  # the node's secret, sealed with a key derived from the code
    software: str
    protocol: int  # the sync protocol the rows are shaped for
    salt: str  # hex: the scrypt salt (with the signer's public key)
    signer: str  # hex: the Ed25519 public key that signs the file
    tls_pin: str | None  # hex SHA-256 of the parent's TLS certificate, if it has one

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,  # only the current format is ever written
            "backup_id": self.backup_id,
            "created_at": self.created_at,
            "parent": self.parent,
            "node": self.node,
            "parent_url": self.parent_url,
            "cursor": self.cursor,
            "route_keys": list(self.route_keys),
            "rows": self.rows,
            "baselines": self.baselines,
            "payload": {
                "compression": "gzip",
                "encryption": backup_cipher.NAME,
                "segment": backup_cipher.SEGMENT,
                "bytes": self.payload_bytes,
                "sha256": self.payload_sha256,
            },
            "kdf": {**KDF, "salt": self.salt},
            "signer": {"algorithm": SIGNATURE, "public_key": self.signer},
            "tls_pin": self.tls_pin,
            "code_check": self.code_check,
            "sealed_secret": self.sealed_secret,
            "software": self.software,
            "protocol": self.protocol,
        }

    @classmethod
    def from_json(cls, raw: Any, name: str, version: int = VERSION) -> Header:
        """``version``: the format version the file's first line names (a READABLE one)."""
        fields = _Fields(raw, name)
        if fields.text("format") != FORMAT or fields.integer("version") != version:
            raise BackupError(f"{name} is damaged: its header names another format or version")
        payload = _Fields(fields.get("payload", dict), name, "payload.")
        if payload.text("compression") != "gzip":
            raise BackupError(f"{name} uses a compression this possync does not read")
        if (payload.text("encryption"), payload.integer("segment")) != (
            backup_cipher.NAME,
            backup_cipher.SEGMENT,
        ):
            raise BackupError(f"{name} uses an encryption this possync does not read")
        kdf = _Fields(fields.get("kdf", dict), name, "kdf.")
        # The cost is fixed, never the file's to choose: a cheap one would make
        # guessing the code, or forging the characters that name the signer, cheap.
        if {k: kdf.raw.get(k) for k in KDF} != KDF:
            raise BackupError(f"{name} uses a key derivation this possync does not accept")
        signer = _Fields(fields.get("signer", dict), name, "signer.")
        if signer.text("algorithm") != SIGNATURE:
            raise BackupError(f"{name} is signed with an algorithm this possync does not read")
        return cls(
            backup_id=fields.text("backup_id"),
            created_at=fields.text("created_at"),
            parent=fields.text("parent"),
            node=fields.text("node"),
            parent_url=fields.get("parent_url", (str, type(None))),
            cursor=fields.integer("cursor"),
            route_keys=tuple(fields.texts("route_keys")),
            rows=fields.counts("rows"),
            baselines=fields.counts("baselines"),
            payload_bytes=payload.integer("bytes"),
            payload_sha256=payload.text("sha256"),
            code_check=fields.text("code_check"),
            sealed_secret=fields.text("sealed_secret"),
            software=fields.text("software"),
            protocol=fields.integer("protocol"),
            salt=kdf.hexadecimal("salt", 2 * SALT_BYTES),
            signer=signer.hexadecimal("public_key", 64),
            tls_pin=None if raw.get("tls_pin") is None else fields.hexadecimal("tls_pin", 64),
        )


class _Fields:
    """Typed access to a JSON object, refusing with the field's name."""

    def __init__(self, raw: Any, name: str, prefix: str = "") -> None:
        if not isinstance(raw, dict):
            raise BackupError(f"{name} is damaged: its header is not a JSON object")
        self.raw, self.name, self.prefix = raw, name, prefix

    def get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.raw.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise BackupError(f"{self.name} is damaged: header field {self.prefix}{key}")
        return value

    def text(self, key: str) -> str:
        return str(self.get(key, str))

    def integer(self, key: str) -> int:
        value = int(self.get(key, int))
        if not 0 <= value <= MAX_INT:
            raise BackupError(
                f"{self.name} is damaged: header field {self.prefix}{key} is out of range "
                f"(0 to {MAX_INT})"
            )
        return value

    def hexadecimal(self, key: str, length: int) -> str:
        value = self.text(key)
        if len(value) != length or not _HEX.fullmatch(value):
            raise BackupError(
                f"{self.name} is damaged: header field {self.prefix}{key} is not "
                f"{length} hexadecimal digits"
            )
        return value

    def texts(self, key: str) -> list[str]:
        values = self.get(key, list)
        if not all(isinstance(v, str) for v in values):
            raise BackupError(f"{self.name} is damaged: header field {self.prefix}{key}")
        return list(values)

    def counts(self, key: str) -> dict[str, int]:
        values = self.get(key, dict)
        if not all(type(v) is int and 0 <= v <= MAX_INT for v in values.values()):
            raise BackupError(
                f"{self.name} is damaged: header field {self.prefix}{key} holds a count "
                f"that is not a whole number from 0 to {MAX_INT}"
            )
        return dict(values)

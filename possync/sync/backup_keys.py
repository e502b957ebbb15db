"""The keys of offline backups: the parent's backup key, import codes, and what a
child derives from the code it is given.

A parent keeps one random 32-byte key (in ``sync_state``, created on first use).
Each backup gets a fresh id; the backup's **import code** is derived from the key
and that id, so the parent can always tell the code of a backup it made, yet no
two backups share one. The operator types the code on the child, which derives
from it, offline:

* the HMAC-SHA256 key that signs the file's header,
* the key that seals the child's secret inside the file (a file without its code
  gives no credential to whoever finds it),
* a short check value stored in the header, so a mistyped code is told apart from
  an altered file. It tells an attacker nothing the signature does not: both only
  confirm a guess of a 120-bit code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from possync.sync import state
from possync.sync.credentials import _CODE_ALPHABET
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import SyncError

BACKUP_KEY = "backup_key"  # sync_state key of the parent's backup key (hex)
CODE_CHARS = 24  # 24 characters of a 32-letter alphabet: 120 bits
GROUP = 4
_BITS = 5  # per character: the alphabet has exactly 32 letters
assert len(_CODE_ALPHABET) == 2**_BITS


class BackupError(SyncError):
    """An offline backup cannot be written, read or trusted; nothing was changed."""

    code = "invalid_backup"


# -- the parent's side ------------------------------------------------------------------


def parent_key(engine: sa.Engine) -> bytes:
    """This node's backup key, created on first use."""
    with read_tx(engine) as conn:
        found = state.get(conn, BACKUP_KEY)
    if found is not None:
        return bytes.fromhex(found)
    try:
        with write_tx(engine) as conn:
            found = state.get(conn, BACKUP_KEY)  # another backup may have just made it
            if found is None:
                found = secrets.token_bytes(32).hex()
                state.put(conn, BACKUP_KEY, found)
    except sa.exc.IntegrityError:
        # Two first backups at once on PostgreSQL: the other one's key won.
        with read_tx(engine) as conn:
            found = state.get(conn, BACKUP_KEY)
    assert found is not None
    return bytes.fromhex(found)


def import_code(key: bytes, backup_id: str) -> str:
    """The code of one backup: ``XXXX-XXXX-XXXX-XXXX-XXXX-XXXX``."""
    raw = hmac.new(key, b"possync-backup/code|" + backup_id.encode(), hashlib.sha256).digest()
    number = int.from_bytes(raw[: CODE_CHARS * _BITS // 8], "big")
    chars = [
        _CODE_ALPHABET[(number >> (_BITS * (CODE_CHARS - 1 - i))) & 0b11111]
        for i in range(CODE_CHARS)
    ]
    text = "".join(chars)
    return "-".join(text[i : i + GROUP] for i in range(0, CODE_CHARS, GROUP))


# -- the child's side ---------------------------------------------------------------------


def normalise_import_code(code: str) -> str:
    """The code without spaces or dashes, upper case; refuses a malformed one with
    a message an operator can act on (before any file is read)."""
    text = "".join(code.split()).replace("-", "").upper()
    for char in text:
        if char not in _CODE_ALPHABET:
            raise BackupError(
                f"the import code contains {char!r}, which import codes never use "
                "(they have letters and the digits 2-9, no 0/O or 1/I)"
            )
    if len(text) != CODE_CHARS:
        raise BackupError(
            f"the import code has {len(text)} characters instead of {CODE_CHARS} "
            f"({CODE_CHARS // GROUP} groups of {GROUP})"
        )
    return text


class CodeKeys:
    """What the import code of one backup unlocks."""

    def __init__(self, code: str) -> None:
        root = normalise_import_code(code).encode()
        self._sign = _derive(root, "sign")
        self._seal = _derive(root, "seal")
        self.check = _derive(root, "check")[:4].hex()

    def sign(self, data: bytes) -> str:
        return hmac.new(self._sign, data, hashlib.sha256).hexdigest()

    def signature_matches(self, data: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(data), signature)

    def seal(self, secret: str, backup_id: str) -> str:
        data = secret.encode()
        return _xor(data, self._stream(backup_id, len(data))).hex()

    def unseal(self, sealed: str, backup_id: str) -> str:
        try:
            data = bytes.fromhex(sealed)
            return _xor(data, self._stream(backup_id, len(data))).decode("ascii")
        except ValueError:
            raise BackupError("the sealed secret in the backup is damaged") from None

    def _stream(self, backup_id: str, length: int) -> bytes:
        # HMAC-SHA256 in counter mode: a keystream unique to this code and backup.
        # The header signature covers the sealed value, so it cannot be altered.
        blocks = (length + 31) // 32
        return b"".join(
            hmac.new(self._seal, f"{backup_id}|{i}".encode(), hashlib.sha256).digest()
            for i in range(blocks)
        )[:length]


def _derive(root: bytes, purpose: str) -> bytes:
    return hmac.new(root, b"possync-backup/" + purpose.encode(), hashlib.sha256).digest()


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))

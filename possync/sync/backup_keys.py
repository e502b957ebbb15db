"""Import codes of offline backups, and the keys a code unlocks.

An import code has 28 characters (7 groups of 4) of a 32-letter alphabet:

* the first 16 are a random **secret** (80 bits), drawn afresh for every backup and
  kept nowhere: the parent prints it once;
* the last 12 **name the signing key** (60 bits): they are derived from the secret
  and the public key the file is signed with.

Everything else comes from ``master = scrypt(secret, salt)``, where the salt is the
file's random salt followed by the signer's public key: the key that encrypts the
payload, the key that seals the child's secret, the check value in the header
(tells a mistyped secret from an altered file) and the 12 characters that name the
signer. scrypt costs 64 MiB and about a quarter of a second per try, so

* guessing the secret of a lost file costs 2^80 tries of that (docs/security.md);
* a forger who holds a code must find a key pair (or salt) whose 12 characters match
  the code: about 2^60 tries of that, each a whole scrypt, before the file is used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from possync.sync.credentials import _CODE_ALPHABET
from possync.sync.errors import SyncError

SECRET_CHARS = 16  # 80 bits
NAME_CHARS = 12  # 60 bits
CODE_CHARS = SECRET_CHARS + NAME_CHARS
GROUP = 4
_BITS = 5  # per character: the alphabet has exactly 32 letters
assert len(_CODE_ALPHABET) == 2**_BITS
# scrypt's cost, fixed (a file cannot choose a cheaper one): 2^16 x 128 x 8 bytes =
# 64 MiB, 0.25 s on one core of the reference machine (docs/security.md).
SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
_DOMAIN = b"possync-backup/3|"


class BackupError(SyncError):
    """An offline backup cannot be written, read or trusted; nothing was changed."""

    code = "invalid_backup"


def new_secret() -> str:
    """The secret part of a new import code."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(SECRET_CHARS))


def grouped(text: str) -> str:
    return "-".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))


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
    """What the secret of one import code unlocks, for one file (its salt and
    signer). Costs one scrypt."""

    def __init__(self, secret: str, salt: bytes, signer: bytes) -> None:
        master = Scrypt(
            salt=_DOMAIN + salt + signer, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P
        ).derive(secret.encode())
        self.secret = secret
        self.payload_key = _derive(master, "payload")
        self._seal = ChaCha20Poly1305(_derive(master, "seal"))
        self.check = _derive(master, "check")[:4].hex()
        self.signer_name = _chars(_derive(master, "signer"), NAME_CHARS)

    @classmethod
    def from_code(cls, code: str, salt: bytes, signer: bytes) -> tuple[CodeKeys, bool]:
        """The keys of a typed code, and whether its last characters name ``signer``."""
        text = normalise_import_code(code)
        keys = cls(text[:SECRET_CHARS], salt, signer)
        return keys, hmac.compare_digest(keys.signer_name, text[SECRET_CHARS:])

    @property
    def import_code(self) -> str:
        return grouped(self.secret + self.signer_name)

    def seal(self, secret: str, backup_id: str) -> str:
        # The key is used for this one message only: a fixed nonce is safe.
        return self._seal.encrypt(bytes(12), secret.encode(), backup_id.encode()).hex()

    def unseal(self, sealed: str, backup_id: str) -> str:
        try:
            return self._seal.decrypt(bytes(12), bytes.fromhex(sealed), backup_id.encode()).decode(
                "ascii"
            )
        except (ValueError, InvalidTag):
            raise BackupError("the sealed secret in the backup is damaged") from None


def _derive(master: bytes, purpose: str) -> bytes:
    return hmac.new(master, b"possync-backup/" + purpose.encode(), hashlib.sha256).digest()


def _chars(raw: bytes, count: int) -> str:
    number = int.from_bytes(raw, "big") >> (len(raw) * 8 - count * _BITS)
    return "".join(
        _CODE_ALPHABET[(number >> (_BITS * (count - 1 - i))) & 0b11111] for i in range(count)
    )

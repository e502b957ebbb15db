"""The parent's backup signing key: an Ed25519 key pair whose private half lives in
a file of its own (mode 0600), never in a database.

Offline backups are signed with it, so a child can tell a file its parent made from
one made by whoever holds an import code. The private key stays out of the
replicated database and out of the parent's database altogether: a copy of the
database (a dump, a stolen disk image of a PostgreSQL server) does not give it.
The parent's ``sync_state`` keeps the public half only, to notice a changed key.

Where the file is (docs/security.md):

* ``--signing-key FILE`` or the environment variable ``POSSYNC_SIGNING_KEY``;
* else, for a SQLite database, beside it: ``store.db.signing-key``;
* else (PostgreSQL), ``$XDG_DATA_HOME/possync/signing-keys/<host>-<port>-<database>.key``
  (``~/.local/share`` when ``XDG_DATA_HOME`` is unset).

Losing the file costs nothing but a new key: every backup carries its public key,
and its import code names that key, so files made with an older key still import.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from possync.sync import state
from possync.sync.backup_keys import BackupError
from possync.sync.db import read_tx, write_tx

ENV = "POSSYNC_SIGNING_KEY"
SUFFIX = ".signing-key"
PUBLIC_KEY = "backup_signing_key"  # sync_state: the public half (hex), to notice a change
OLD_BACKUP_KEY = "backup_key"  # sync_state of releases before 0.3: a secret, now unused
MAX_FILE = 4096  # a PEM Ed25519 key is 119 bytes


@dataclass(frozen=True)
class SigningKey:
    path: Path
    private: Ed25519PrivateKey
    note: str | None = None  # said once: the key was made, or is not the one recorded

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def fingerprint(public: bytes) -> str:
    """What people compare: the first 64 bits of the public key's SHA-256."""
    digest = hashlib.sha256(public).hexdigest()[:16]
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def key_path(engine: sa.Engine, given: Path | None = None) -> Path:
    """Where this parent's signing key is (see the module's docstring)."""
    if given is not None:
        return given
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise BackupError(
                f"a database in memory has no place for its signing key: give one with {ENV}"
            )
        return Path(url.database + SUFFIX)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    name = f"{url.host or 'localhost'}-{url.port or 5432}-{url.database}.key"
    return base / "possync" / "signing-keys" / name


def ensure(engine: sa.Engine, given: Path | None = None) -> SigningKey:
    """This parent's signing key: read from its file, or made there if there is none
    (``store init``, or a store made by an older release: ``note`` says so)."""
    path = key_path(engine, given)
    with read_tx(engine) as conn:
        recorded = state.get(conn, PUBLIC_KEY)
    if path.exists():
        key = SigningKey(path, load(path))
        if recorded == key.public.hex():
            return key
        note = (
            None
            if recorded is None
            else (
                f"the backup signing key in {path} (fingerprint {key.fingerprint}) is not the one "
                f"this store used before ({fingerprint(bytes.fromhex(recorded))}); backups are "
                "signed with it from now on"
            )
        )
    else:
        key = SigningKey(path, create(path))
        note = (
            f"made a backup signing key for this store in {path} (mode 0600, fingerprint "
            f"{key.fingerprint})"
            + (
                ""
                if recorded is None
                else f"; the one used before ({fingerprint(bytes.fromhex(recorded))}) was not "
                "found there"
            )
        )
    try:
        with write_tx(engine) as conn:
            state.put(conn, PUBLIC_KEY, key.public.hex())
            # The HMAC key of older releases made import codes; it has no use left.
            state.delete(conn, OLD_BACKUP_KEY)
    except sa.exc.IntegrityError:
        pass  # two first backups at once on PostgreSQL: the other one recorded it
    return SigningKey(path, key.private, note)


def create(path: Path) -> Ed25519PrivateKey:
    """A new key in a new file, 0600 from the start (never widened, even briefly).
    The file appears whole (written aside, then linked into place); an existing one
    is never replaced: a command that made one at the same moment wins, and its key
    is returned."""
    if not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise BackupError(f"cannot create {path.parent} for the signing key: {exc}") from None
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    except OSError as exc:
        raise BackupError(f"cannot create the signing key {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        os.link(aside, path)  # fails if the file exists: never replaced
    except FileExistsError:
        return load(path)
    except OSError as exc:
        raise BackupError(f"cannot create the signing key {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(aside)
    return private


def load(path: Path) -> Ed25519PrivateKey:
    """The key in ``path``; refused if others may read it, as ssh does."""
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = f.read(MAX_FILE + 1)
    except OSError as exc:
        raise BackupError(f"cannot read the signing key {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BackupError(
            f"the signing key {path} may be read by others (mode {stat.S_IMODE(mode):04o}): "
            f"make it private with 'chmod 600 {path}'"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise BackupError(f"{path} is not a signing key (an unencrypted PEM Ed25519 key)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BackupError(f"{path} is not an Ed25519 key")
    return key

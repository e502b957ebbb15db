"""A terminal's local data directory and database."""

from __future__ import annotations

import contextlib
import fcntl
import os
import ssl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from possync.retail import database, schema_version
from possync.retail.replication import SPEC
from possync.retail.sales import Till
from possync.retail.schema import store
from possync.sync import peers, state
from possync.sync.child import Child
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.errors import NotProvisioned, SyncError
from possync.transport.client import SyncClient
from possync.transport.tls import PinError, pinned_context

DB_FILE = "terminal.db"
LOCK_FILE = "sync.lock"
LAST_SYNC_AT = "last_sync_at"
# The CA certificate(s) this till trusts for an https store, as PEM text in
# sync_state (so the data directory holds all it needs; no schema change).
STORE_CA = "store_ca_pem"
# The SHA-256 fingerprint (hex) of the store's own certificate, pinned at
# registration: when set, the store is checked by it instead of any CA.
TLS_PIN = "tls_pin"
MAX_CA_BYTES = 1 << 20


class TlsSetupError(SyncError):
    code = "tls_setup"


def read_ca_file(path: Path) -> str:
    """The PEM text of a CA file, checked: readable, and certificates ssl can load."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CA_BYTES + 1)
    except OSError as exc:
        raise TlsSetupError(f"cannot read the CA file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CA_BYTES:
        raise TlsSetupError(f"{path} is larger than {MAX_CA_BYTES:,} bytes: not a CA file")
    text = raw.decode("ascii", errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise TlsSetupError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    tls_verify(text)  # refuses what ssl cannot load
    return text


def tls_verify(ca_pem: str | None, pin: str | None = None) -> ssl.SSLContext | bool:
    """How to check the store's certificate: by its fingerprint if pinned, else
    against ``ca_pem`` only, if given (the system's CAs are then not trusted for the
    store), else the system's CAs."""
    if pin:
        try:
            return pinned_context(pin)
        except PinError as exc:
            raise TlsSetupError(f"the store's pinned certificate: {exc}") from None
    if not ca_pem:
        return True
    try:
        return ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError) as exc:
        raise TlsSetupError(f"the store's CA certificate cannot be loaded: {exc}") from None


INSTALLATION_ID = "installation_id"


def how_to_upgrade(data_dir: Path) -> str:
    return (
        f"run 'possync pos upgrade --data {data_dir}' first "
        "(or start 'possync pos run', which upgrades by itself)"
    )


class SyncBusy(SyncError):
    code = "sync_busy"


class Terminal:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.db_path = data_dir / DB_FILE
        self.engine = open_engine(f"sqlite:///{self.db_path}")
        self.child = Child(self.engine, SPEC)

    @classmethod
    def create(cls, data_dir: Path, terminal_id: str) -> Terminal:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)  # the database holds the terminal's secret
        # The file too, in case the directory's mode is changed later: SQLite gives
        # the -wal and -shm files it makes the main file's mode. O_EXCL: an existing
        # database (a registration resumed) keeps the mode its owner gave it.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(data_dir / DB_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        terminal = cls(data_dir)
        database.install(terminal.engine, terminal_id, how_to_upgrade(data_dir))
        terminal.installation_id()  # each database made is an installation of its own
        return terminal

    @classmethod
    def open(cls, data_dir: Path, *, check_schema: bool = True) -> Terminal:
        """Open the terminal's database; refuse one whose schema is not this
        release's (older: it says how to upgrade; newer: it is left untouched)."""
        if not (data_dir / DB_FILE).exists():
            raise NotProvisioned(f"no terminal database in {data_dir}; run 'possync pos init'")
        terminal = cls(data_dir)
        if check_schema:
            try:
                with read_tx(terminal.engine) as conn:
                    schema_version.check(conn, how_to_upgrade(data_dir))
            except schema_version.SchemaError:
                terminal.close()
                raise
        return terminal

    def close(self) -> None:
        self.engine.dispose()

    @property
    def terminal_id(self) -> str:
        with read_tx(self.engine) as conn:
            return self.child.node_id(conn)

    def till(self) -> Till:
        with read_tx(self.engine) as conn:
            terminal_id = self.child.node_id(conn)
            parent = self.child.parent(conn)
            row = conn.execute(sa.select(store).where(store.c.store_id == parent.node_id)).first()
        if row is None or self.child.load_state() != "done":
            raise NotProvisioned(
                "the initial load from the store has not completed; run 'possync pos init' again"
            )
        return Till(store_id=row.store_id, terminal_id=terminal_id, currency=row.currency)

    def store_url(self) -> str:
        with read_tx(self.engine) as conn:
            parent = self.child.parent(conn)
        assert parent.url is not None
        return parent.url

    def set_store_url(self, url: str) -> None:
        with write_tx(self.engine) as conn:
            peers.set_url(conn, self.child.parent(conn).node_id, url.rstrip("/"))

    def client(self, url: str | None = None, timeout: float = 60.0) -> SyncClient:
        with read_tx(self.engine) as conn:
            node = self.child.node_id(conn)
            parent = self.child.parent(conn)
            ca = state.get(conn, STORE_CA)
            pin = state.get(conn, TLS_PIN)
            installation = state.get(conn, INSTALLATION_ID)
        return SyncClient(
            url or parent.url or "",
            node,
            parent.secret,
            timeout=timeout,
            protocol=SPEC.protocol,
            installation=installation or self.installation_id(),
            verify=tls_verify(ca, pin),
        )

    def store_ca(self) -> str | None:
        return self.get_state(STORE_CA)

    def set_store_ca(self, ca_pem: str | None) -> None:
        """Trust only ``ca_pem`` for the store's certificate (None: the system's CAs)."""
        with write_tx(self.engine) as conn:
            if ca_pem is None:
                state.delete(conn, STORE_CA)
            else:
                state.put(conn, STORE_CA, ca_pem)

    def store_pin(self) -> str | None:
        return self.get_state(TLS_PIN)

    def set_store_pin(self, pin: str | None) -> None:
        """Check the store by this fingerprint (64 hex digits; None: forget it)."""
        with write_tx(self.engine) as conn:
            if pin is None:
                state.delete(conn, TLS_PIN)
            else:
                state.put(conn, TLS_PIN, pin)

    def installation_id(self) -> str:
        """This installation's id (made when its database was created; made now for
        a database of an earlier release): the store binds the terminal to the first
        installation that syncs and refuses a copy."""
        with read_tx(self.engine) as conn:
            found = state.get(conn, INSTALLATION_ID)
        if found is not None:
            return found
        with write_tx(self.engine) as conn:
            found = state.get(conn, INSTALLATION_ID)
            if found is None:
                found = str(uuid.uuid4())
                state.put(conn, INSTALLATION_ID, found)
        return found

    @contextmanager
    def sync_lock(self, wait: float = 0.0) -> Iterator[None]:
        """One sync at a time per terminal, across processes; waits up to ``wait``
        seconds for a sync already running to finish."""
        deadline = time.monotonic() + wait
        with open(self.data_dir / LOCK_FILE, "a+") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise SyncBusy("another sync of this terminal is running") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def get_state(self, key: str) -> str | None:
        with read_tx(self.engine) as conn:
            return state.get(conn, key)

    def put_state(self, key: str, value: str) -> None:
        with write_tx(self.engine) as conn:
            state.put(conn, key, value)

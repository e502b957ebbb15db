"""First start of a terminal: register with the store, then the initial load.

The load is resumable: each chunk is committed with its position, so running
``possync pos init`` again after an interruption carries on where it stopped.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from possync.retail.replication import SPEC
from possync.sync import failpoints, peers
from possync.sync.db import write_tx
from possync.sync.errors import NotProvisioned, SyncError
from possync.terminal import trust
from possync.terminal.local import (
    DB_FILE,
    LOCK_FILE,
    Terminal,
    TlsSetupError,
    read_ca_file,
    tls_verify,
)
from possync.transport.client import Refused, SyncClient, Unreachable

CHUNK_ROWS = 5000


@dataclass(frozen=True)
class LoadStatus:
    table: str  # the table being loaded
    rows_loaded: int  # all tables, including chunks loaded before an interruption
    rows_total: int  # as the store counted them when the load started


LoadProgress = Callable[[LoadStatus], None]


class NotAStore(SyncError):
    code = "not_a_store"


# What to do when the store refuses a registration, by its refusal's code: said by
# ``pos init`` and by the till's first-start screen alike.
REGISTRATION_HINTS = {
    "registration_failed": "Check the terminal id ({terminal}) is the one the store added, "
    "and the code as printed (valid 7 days, used once); if in doubt ask the store for a new "
    "code ('possync store terminal add {terminal}' prints one, or the console's POS terminals "
    "page)",
    "too_many_attempts": "Wait as said, then try again with the right code, or ask the store "
    "for a new one ('possync store terminal add {terminal}')",
}


def register(
    data_dir: Path,
    store_url: str,
    terminal_id: str,
    code: str,
    ca_file: Path | None = None,
    *,
    pin: str | None = None,
    insecure_http: bool = False,
) -> Terminal:
    """Exchange the one-time code for this terminal's secret and store it.
    ``ca_file``: the CA certificate to trust for an https store; ``pin``: instead,
    the fingerprint of the store's own certificate (``sha256:...``, printed with the
    code); both kept for later syncs. ``insecure_http``: accept plain HTTP to
    another machine. A registration that fails leaves no database behind (nor the
    directory, if it made it), so it can be run again with other arguments."""
    url = store_url.rstrip("/")
    # All checked before any change: nothing is made for a setup that cannot work.
    if pin is not None and ca_file is not None:
        raise TlsSetupError("--pin and --ca-file are two ways to check the store: give one")
    pin_hex = trust.check_pin(pin) if pin is not None else None
    trust.check_store_url(url, insecure_http=insecure_http, pinned=pin_hex is not None)
    ca_pem = read_ca_file(ca_file) if ca_file is not None else None
    if (data_dir / DB_FILE).exists():
        terminal = Terminal.open(data_dir)
        with write_tx(terminal.engine) as conn:
            registered = peers.parent(conn) is not None
        if registered and terminal.terminal_id != terminal_id:
            terminal.close()
            raise NotProvisioned(
                f"{data_dir} holds terminal {terminal.terminal_id}, not {terminal_id}"
            )
        if registered:
            return terminal  # registered before; the load may still be unfinished
        # Made by a registration that failed (before releases that clean up after
        # one): it holds nothing yet, and may be for another terminal id.
        terminal.close()
        _remove_database(data_dir)
    verify = tls_verify(ca_pem, pin_hex)
    _check_is_store(url, verify)
    made_dir = not data_dir.exists()
    terminal = Terminal.create(data_dir, terminal_id)
    try:
        terminal.set_store_ca(ca_pem)  # one way to check the store at a time
        terminal.set_store_pin(pin_hex)
        trust.remember_insecure_http(terminal, url, insecure_http)
        with SyncClient(url, protocol=SPEC.protocol, verify=verify) as client:
            # A store older than this till is refused before the code is used; so is
            # one whose certificate is not the pinned one (in the handshake).
            client.health()
            answer = client.register(terminal_id, code)
        with write_tx(terminal.engine) as conn:
            peers.set_parent(conn, answer["parent"], url, answer["secret"], answer["route_keys"])
    except BaseException:
        terminal.close()
        _remove_database(data_dir, made_dir)
        raise
    return terminal


def _check_is_store(url: str, verify: ssl.SSLContext | bool) -> None:
    """Refuse, in one line, an address that answers but not as a possync server
    does (the till's own screen, any web page), before anything is made or sent."""
    refused = NotAStore(
        f"{url} answers, but it is not a possync store server: give the store's address "
        "as 'possync store serve' prints it (e.g. http://store:8600; a till's own "
        "screen, port 8700, is not one)"
    )
    with SyncClient(url, protocol=None, verify=verify, timeout=10.0) as client:
        try:
            answer = client.health()
        except Refused as exc:
            if exc.code == "http_error":  # not the error shape a possync server sends
                raise refused from None
            return  # a possync server that refused: the registration says why
        except Unreachable as exc:
            if isinstance(exc.__cause__, ValueError):  # it answered, but not JSON
                raise refused from None
            raise
    if not isinstance(answer, dict) or not {"node", "status"} <= answer.keys():
        raise refused


def _remove_database(data_dir: Path, directory_too: bool = False) -> None:
    for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", f"{DB_FILE}-journal", LOCK_FILE):
        (data_dir / name).unlink(missing_ok=True)
    if directory_too:
        with contextlib.suppress(OSError):  # something else is in it: it stays
            data_dir.rmdir()


def initial_load(
    terminal: Terminal, progress: LoadProgress | None = None, chunk_rows: int = CHUNK_ROWS
) -> int:
    """Load (or finish loading) the terminal's data from the store; returns the rows
    loaded by this call."""
    notify = progress or (lambda _status: None)
    child = terminal.child
    if child.load_state() == "done":
        return 0
    loaded = 0
    with terminal.sync_lock(), terminal.client() as client:
        if child.load_state() == "none":
            start = client.start_load()
            child.begin_load(
                start.get("cursor"),
                start.get("tables"),
                start.get("baselines"),
                start.get("counts"),
            )
            failpoints.hit("load-after-start")
        tables = child.load_progress()
        total = sum(t["rows_total"] for t in tables)
        done_so_far = sum(t["rows_loaded"] for t in tables)
        for table in tables:
            name, last_key, done = table["table_name"], table["last_key"], table["done"]
            key = None if last_key is None else orjson.loads(last_key)
            while not done:
                chunk = client.load_chunk(name, key, chunk_rows)
                failpoints.hit("load-before-chunk")
                n = child.apply_chunk(
                    name, chunk.get("rows"), chunk.get("last_key"), bool(chunk.get("more"))
                )
                failpoints.hit("load-after-chunk")
                loaded += n
                done_so_far += n
                key, done = chunk.get("last_key"), not chunk.get("more")
                notify(LoadStatus(name, done_so_far, max(total, done_so_far)))
        child.finish_load()
    return loaded

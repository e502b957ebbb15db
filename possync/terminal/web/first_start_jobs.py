"""The first start's work and where it stands, for the first-start screen.

What the screen needs to know of a data directory (nothing there yet, registered
with the store but not loaded, or set up), and the one background job of a first
start: the initial load (resumable: ``provision.initial_load`` commits each chunk
with its position), then the working mode the person setting the till up chose.
The screen polls :meth:`SetupJob.snapshot`; ``pos run`` hands over to the cashier's
screen once :attr:`SetupJob.ready` is set.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from possync.retail.errors import RetailError
from possync.sync import peers
from possync.sync.db import read_tx
from possync.sync.errors import SyncError
from possync.terminal import modes, provision
from possync.terminal.local import DB_FILE, Terminal
from possync.terminal.web.link import MODE_WORDS, plain_error
from possync.transport.client import Refused, Unreachable

log = logging.getLogger("possync.first_start")

NEW, REGISTERED, READY = "new", "registered", "ready"
IDLE, RUNNING, DONE, FAILED = "idle", "running", "done", "failed"
ONLINE_WAIT = 30.0  # seconds Enable Online POS waits for the sync lock (none is held yet)


@dataclass(frozen=True)
class Found:
    """What a data directory holds, as far as setting it up goes."""

    state: str  # NEW, REGISTERED (load not finished) or READY
    terminal_id: str = ""
    store_url: str = ""
    rows_loaded: int = 0
    rows_total: int = 0


def inspect(data_dir: Path) -> Found:
    """NEW when there is no database, or only what a registration that failed left
    (``provision.register`` removes it when run again); REGISTERED when the initial
    load has not finished; READY when the till can sell."""
    if not (data_dir / DB_FILE).exists():
        return Found(NEW)
    term = Terminal.open(data_dir)
    try:
        with read_tx(term.engine) as conn:
            parent = peers.parent(conn)
            terminal_id = term.child.node_id(conn) if parent is not None else ""
        if parent is None:
            return Found(NEW)
        if term.child.load_state() == "done":
            return Found(READY, terminal_id, parent.url or "")
        tables = term.child.load_progress()
        return Found(
            REGISTERED,
            terminal_id,
            parent.url or "",
            sum(t["rows_loaded"] for t in tables),
            sum(t["rows_total"] for t in tables),
        )
    finally:
        term.close()


@dataclass(frozen=True)
class Progress:
    """What the screen shows of the job (a copy: the job's thread goes on)."""

    state: str = IDLE
    stage: str = ""
    table: str = ""
    rows_loaded: int = 0
    rows_total: int = 0
    message: str = ""  # the outcome when done, the reason when failed
    detail: str = ""  # the error as raised, for the page's title attribute

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_loaded * 100 // self.rows_total)


class SetupJob:
    """The one set-up of this process: a single background thread at a time."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ready = threading.Event()  # set up: the cashier's screen may take over
        self.seen = threading.Event()  # the outcome was shown once (see first_start)
        self.guard = threading.Lock()  # held while a set-up request runs (one at a time)
        self._lock = threading.Lock()
        self._progress = Progress()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> Progress:
        with self._lock:
            return self._progress

    @property
    def busy(self) -> bool:
        """Running, or done: a new set-up must not start."""
        return self.snapshot().state in (RUNNING, DONE)

    def start(self, offline: bool, *, load: bool) -> None:
        """In the background: the initial load (if ``load``: a till set up from a
        backup has its data already), then the working mode chosen."""
        with self._lock:
            if self._progress.state in (RUNNING, DONE):
                return
            self._progress = Progress(RUNNING, "contacting the store" if load else "")
        self._thread = threading.Thread(
            target=self._run, args=(offline, load), name="possync-first-start", daemon=True
        )
        self._thread.start()

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._progress = replace(self._progress, **changes)  # type: ignore[arg-type]

    def _run(self, offline: bool, load: bool) -> None:
        try:
            term = Terminal.open(self.data_dir)
        except (SyncError, RetailError) as exc:
            self._update(state=FAILED, stage="failed", message=str(exc), detail=str(exc))
            return
        try:
            if load:
                self._load(term)
            self._update(stage="setting the working mode")
            outcome = apply_mode(term, offline)
        except (Refused, Unreachable, SyncError, RetailError) as exc:
            self._update(
                state=FAILED, stage="failed", message=plain_error(str(exc)), detail=str(exc)
            )
            return
        except Exception as exc:  # a thread must not die silently: show it, log it
            log.exception("first start failed")
            self._update(state=FAILED, stage="failed", message=f"unexpected error: {exc}")
            return
        finally:
            term.close()
        log.info("first start done: %s", outcome)
        self._update(state=DONE, stage="done", message=outcome)
        self.ready.set()

    def _load(self, term: Terminal) -> None:
        tables = term.child.load_progress()  # a resumed load starts where it stopped
        self._update(
            stage="loading",
            rows_loaded=sum(t["rows_loaded"] for t in tables),
            rows_total=sum(t["rows_total"] for t in tables),
        )
        provision.initial_load(term, self._show)

    def _show(self, status: provision.LoadStatus) -> None:
        self._update(
            stage="loading",
            table=status.table,
            rows_loaded=status.rows_loaded,
            rows_total=status.rows_total,
        )


def words(mode: str) -> str:
    """A mode as the status bar says it: "Offline mode: sales are kept on this till..."."""
    label, meaning = MODE_WORDS[mode]
    return f"{label}: {meaning}"


def apply_mode(term: Terminal, offline: bool) -> str:
    """Record the working mode chosen on the first screen, where the till keeps it
    (``modes``), and say what the till does now. Whether a till *may* work offline
    is the store's to say (its Off-line Enabled flag, loaded with the till's data):
    the choice is a preference within that, so an online-only till works online
    whatever was chosen, and is told so."""
    if not modes.offline_enabled(term):
        note = (
            " (the store has this till online-only: to let it work offline, set it "
            "Off-line Enabled on the store)"
            if offline
            else ""
        )
        return words(modes.ONLINE) + note
    if offline:
        modes.go_offline(term)
        return words(modes.OFFLINE)
    try:  # as 'pos online': what is pending first, then the switch
        modes.enable_online(term, wait_for_lock=ONLINE_WAIT)
    except (Refused, Unreachable, SyncError, RetailError) as exc:
        return (
            f"{words(modes.current(term))} (online mode needs the store, and "
            f"{plain_error(str(exc))}; choose Enable Online POS in the user menu once it "
            "answers)"
        )
    return words(modes.ONLINE)

"""Store Operations started from the cashier's screen, run in the background.

*Synchronize Data from Store* and *Enable Online POS* can take a while (a big price
change to pull, a slow link), so the screen starts them here and polls their
progress instead of waiting. They behave exactly as ``possync pos sync`` and
``possync pos online``: the same calls, the same messages. One runs at a time; the
terminal's sync lock makes it take turns with the background agent (it waits for
a scheduled sync to finish, as ``pos sync`` does).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from possync.retail.errors import RetailError
from possync.sync.clock import utc_now
from possync.sync.errors import SyncError
from possync.terminal import modes, syncer
from possync.terminal.local import Terminal
from possync.transport.client import Refused, Unreachable

log = logging.getLogger("possync.operations")

SYNC, ONLINE = "sync", "online"
TITLES = {SYNC: "Synchronize Data from Store", ONLINE: "Enable Online POS"}
LOCK_WAIT = 60.0  # seconds to wait for a scheduled sync that holds the lock
RUNNING, DONE, FAILED = "running", "done", "failed"
KEEP = 20  # finished operations remembered


@dataclass
class Operation:
    op_id: str
    kind: str
    state: str = RUNNING
    stage: str = "waiting for the sync lock"
    pushed: int = 0
    pulled: int = 0
    message: str = ""
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def running(self) -> bool:
        return self.state == RUNNING


class Operations:
    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.stop = threading.Event()  # set by shutdown(), when the screen's server stops
        self._ops: dict[str, Operation] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def get(self, op_id: str) -> Operation | None:
        with self._lock:
            return self._ops.get(op_id)

    def running(self) -> Operation | None:
        with self._lock:
            return next((op for op in self._ops.values() if op.running), None)

    def start(self, kind: str) -> Operation:
        """Start ``kind``; if an operation is already running, return that one."""
        if kind not in TITLES:
            raise RetailError(f"unknown operation {kind!r}")
        with self._lock:
            busy = next((op for op in self._ops.values() if op.running), None)
            if busy is not None:
                return busy
            op = Operation(uuid.uuid4().hex, kind)
            self._ops[op.op_id] = op
            finished = [o for o in self._ops.values() if not o.running]
            for old in finished[:-KEEP]:
                del self._ops[old.op_id]
        work = self._sync if kind == SYNC else self._online
        self._thread = threading.Thread(
            target=self._run, args=(op, work), name=f"possync-{kind}", daemon=True
        )
        self._thread.start()
        return op

    def shutdown(self, timeout: float = 30.0) -> None:
        """Ask a running sync to stop between batches and wait for it. (Enable Online
        POS is waited for, not stopped: a sync cut short must not let it switch.)"""
        self.stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _progress(self, op: Operation) -> syncer.Progress:
        def notify(stage: str, count: int) -> None:
            with self._lock:
                if stage == "push":
                    op.stage, op.pushed = "sending changes to the store", count
                else:
                    op.stage, op.pulled = "receiving changes from the store", count

        return notify

    def _sync(self, op: Operation) -> str:
        report = syncer.sync(
            self.terminal,
            progress=self._progress(op),
            wait_for_lock=LOCK_WAIT,
            should_stop=self.stop.is_set,
        )
        return (
            f"pushed {report.pushed} changes in {report.push_batches} batches, "
            f"pulled {report.pulled} changes in {report.pull_batches} batches"
        )

    def _online(self, op: Operation) -> str:
        try:
            report = modes.enable_online(
                self.terminal, progress=self._progress(op), wait_for_lock=LOCK_WAIT
            )
        except (RetailError, SyncError, Refused, Unreachable) as exc:
            raise RetailError(f"still {modes.current(self.terminal).upper()}: {exc}") from exc
        return f"ONLINE (pushed {report.pushed}, pulled {report.pulled} changes first)"

    def _run(self, op: Operation, work: Callable[[Operation], str]) -> None:
        try:
            message, state = work(op), DONE
        except (RetailError, SyncError, Refused, Unreachable) as exc:
            message, state = str(exc), FAILED
        except Exception as exc:  # a thread must not die silently: show it, log it
            log.exception("%s failed", op.title)
            message, state = f"unexpected error: {exc}", FAILED
        with self._lock:
            op.message, op.state, op.finished_at = message, state, utc_now()
            op.stage = "done" if state == DONE else "failed"

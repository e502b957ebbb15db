"""One sync of a terminal with its store: push what is pending, then pull (the
loops are transport/exchange.py's), recorded for ``status``."""

from __future__ import annotations

import sqlalchemy as sa

from possync.sync import peers, state
from possync.sync.child import CaughtUp
from possync.sync.clock import utc_now
from possync.sync.db import write_tx
from possync.sync.errors import SyncError
from possync.terminal.local import LAST_SYNC_AT, Terminal
from possync.terminal.mode_state import current
from possync.terminal.upgrade import COPY_GLOB as SAFETY_COPIES
from possync.transport import exchange
from possync.transport.client import Refused, SyncClient, Unreachable

PUSH_BATCH = exchange.PUSH_BATCH  # read at each sync (the benchmark sets it)
PULL_BATCH = exchange.PULL_BATCH
# When the first sync failed since the last one that worked: the screen says "store
# not reachable since" (last_error_at is only the latest failure)
FAILING_SINCE = "sync_failing_since"

Progress = exchange.Progress
StopCheck = exchange.StopCheck
SyncReport = exchange.SyncReport


def push(
    terminal: Terminal,
    client: SyncClient,
    report: SyncReport,
    progress: Progress,
    should_stop: StopCheck,
) -> None:
    exchange.push(terminal.child, client, report, progress, should_stop, PUSH_BATCH)


def pull(
    terminal: Terminal,
    client: SyncClient,
    report: SyncReport,
    progress: Progress,
    should_stop: StopCheck,
    caught_up: CaughtUp | None = None,
) -> None:
    mode = current(terminal)
    exchange.pull(
        terminal.child, client, report, progress, should_stop, mode, PULL_BATCH, caught_up
    )


def sync(
    terminal: Terminal,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    do_push: bool = True,
    do_pull: bool = True,
    timeout: float = 60.0,
    wait_for_lock: float = 0.0,
    should_stop: StopCheck | None = None,
) -> SyncReport:
    """Push then pull, once. Raises Unreachable / Refused / SyncError on failure,
    after recording the error for ``status``. ``should_stop`` is asked between
    batches (each batch is atomic, so stopping there loses nothing)."""
    report = SyncReport()
    notify = progress or (lambda _stage, _n: None)
    stop = should_stop or (lambda: False)
    recorded = False

    def caught_up(conn: sa.Connection, parent_id: str) -> None:
        # The sync's success is recorded in the transaction of its last pulled batch
        # (the push is done by then): one write transaction, and its fsync, fewer.
        nonlocal recorded
        _succeeded(conn, parent_id)
        recorded = True

    with terminal.sync_lock(wait_for_lock), terminal.client(url, timeout) as client:
        try:
            if do_push:
                push(terminal, client, report, notify, stop)
            if do_pull:
                pull(terminal, client, report, notify, stop, caught_up)
        except (Unreachable, Refused, SyncError) as exc:
            _record(terminal, str(exc))
            raise
    if not recorded:  # no pull, or stopped before the last batch
        _record(terminal, None)
    if do_push and do_pull:
        # In step with the store in this release's shape: the copy kept by the
        # last upgrade is no longer needed for a rollback.
        for path in terminal.data_dir.glob(SAFETY_COPIES):
            path.unlink(missing_ok=True)
    return report


def _succeeded(conn: sa.Connection, parent_id: str) -> None:
    peers.record_success(conn, parent_id)
    state.put(conn, LAST_SYNC_AT, utc_now())
    state.delete(conn, FAILING_SINCE)


def _record(terminal: Terminal, error: str | None) -> None:
    with write_tx(terminal.engine) as conn:
        parent = terminal.child.parent(conn)
        if error is None:
            _succeeded(conn, parent.node_id)
        else:
            peers.record_error(conn, parent.node_id, error)
            if state.get(conn, FAILING_SINCE) is None:
                state.put(conn, FAILING_SINCE, utc_now())

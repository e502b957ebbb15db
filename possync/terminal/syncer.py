"""One sync of a terminal with its store: push what is pending, then pull.

Each batch is committed on the receiving side together with its cursor, so the
loop can be cut anywhere (network, either process killed) and simply run again.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from possync.sync import failpoints, peers, state
from possync.sync.child import Child
from possync.sync.clock import utc_now
from possync.sync.db import write_tx
from possync.sync.errors import OutOfSequence, SyncError
from possync.terminal.local import LAST_SYNC_AT, Terminal
from possync.terminal.mode_state import current
from possync.terminal.upgrade import COPY_GLOB as SAFETY_COPIES
from possync.transport.client import Refused, SyncClient, Unreachable

PUSH_BATCH = 10_000  # changes; ~1,250 receipts, ~3 MB of JSON
PULL_BATCH = 5000
RELOAD_CHUNK = 5000  # rows per chunk of a table loaded again after an upgrade

Progress = Callable[[str, int], None]


@dataclass
class SyncReport:
    pushed: int = 0
    push_batches: int = 0
    pulled: int = 0
    pull_batches: int = 0
    pushed_through: int = 0
    pulled_through: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


StopCheck = Callable[[], bool]


def push(
    terminal: Terminal,
    client: SyncClient,
    report: SyncReport,
    progress: Progress,
    should_stop: StopCheck,
) -> None:
    """Send batches until the store has everything. While one batch travels and is
    applied, the next is read from the local log (a batch is only sent once the
    previous one is acknowledged, so the store always sees them in order)."""
    child = terminal.child
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="possync-push") as sender:
        batch = child.outgoing(PUSH_BATCH)
        while batch is not None and not should_stop():
            in_flight = sender.submit(client.push, batch)
            following = child.outgoing(PUSH_BATCH, after=batch.through) if batch.more else None
            try:
                acknowledged = in_flight.result()
            except Refused as exc:
                _rewind(child, batch.after, exc)
                batch = child.outgoing(PUSH_BATCH)
                continue
            failpoints.hit("push-before-ack")
            child.acknowledged(acknowledged)
            report.pushed += len(batch.changes)
            report.push_batches += 1
            report.pushed_through = acknowledged
            progress("push", report.pushed)
            if following is None or acknowledged != batch.through:
                following = child.outgoing(PUSH_BATCH)  # new sales, or an unexpected ack
            batch = following


def _rewind(child: Child, sent_after: int, exc: Refused) -> None:
    """After an out-of-sequence refusal: send again from where the store stands if it
    has less than it once acknowledged (its database was restored); refuse to go on
    if it has more than this terminal knows (this terminal's database was)."""
    expected = exc.details.get("expected_after")
    if exc.code != OutOfSequence.code or type(expected) is not int:
        raise exc
    if expected > sent_after:
        raise OutOfSequence(
            f"the store holds changes of this terminal up to {expected} that this "
            f"terminal does not know (it stands at {sent_after}): was this terminal's "
            "database restored from an old copy? Provision the terminal again."
        ) from exc
    child.acknowledged(expected)


def pull(
    terminal: Terminal,
    client: SyncClient,
    report: SyncReport,
    progress: Progress,
    should_stop: StopCheck,
) -> None:
    child = terminal.child
    mode = current(terminal)
    reload(child, client, progress)
    while not should_stop():
        body = client.pull(child.inbound_cursor(), PULL_BATCH, head=child.log_head(), mode=mode)
        failpoints.hit("pull-before-apply")
        batch = child.apply_pulled(body)
        failpoints.hit("pull-after-apply")
        report.pulled += len(batch.changes)
        report.pull_batches += 1
        report.pulled_through = batch.through
        progress("pull", report.pulled)
        # Stop at a batch that is empty and moved nothing: asking once more after the
        # last one that moved the cursor (even one whose changes were all filtered
        # out, e.g. this terminal's own changes coming back) is what acknowledges it,
        # so the store knows exactly where this terminal is.
        if not batch.more and not batch.changes and batch.through == batch.after:
            return


def reload(child: Child, client: SyncClient, progress: Progress) -> None:
    """Tables left to load again after an upgrade (see Child.request_reload)."""
    for table in child.pending_reloads():
        after, more, rows = None, True, 0
        while more:
            answer = client.load_chunk(table, after, RELOAD_CHUNK)
            more = answer.get("more") is True
            rows += child.reload_chunk(table, answer.get("rows"), more)
            after = answer.get("last_key")
            progress("reload", rows)


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
    with terminal.sync_lock(wait_for_lock), terminal.client(url, timeout) as client:
        try:
            if do_push:
                push(terminal, client, report, notify, stop)
            if do_pull:
                pull(terminal, client, report, notify, stop)
        except (Unreachable, Refused, SyncError) as exc:
            _record(terminal, str(exc))
            raise
    _record(terminal, None)
    if do_push and do_pull:
        # In step with the store in this release's shape: the copy kept by the
        # last upgrade is no longer needed for a rollback.
        for path in terminal.data_dir.glob(SAFETY_COPIES):
            path.unlink(missing_ok=True)
    return report


def _record(terminal: Terminal, error: str | None) -> None:
    with write_tx(terminal.engine) as conn:
        parent = terminal.child.parent(conn)
        if error is None:
            peers.record_success(conn, parent.node_id)
            state.put(conn, LAST_SYNC_AT, utc_now())
        else:
            peers.record_error(conn, parent.node_id, error)

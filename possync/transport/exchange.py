"""One child's exchange with its parent over HTTP: push what is pending, pull what
is routed to it, load again what an upgrade reshaped. Used by a terminal toward its
store and by a store toward head office: the same loops, the same guarantees.

Each batch is committed on the receiving side together with its cursor, so a loop
can be cut anywhere (network, either process killed) and simply run again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass

from possync.sync import failpoints
from possync.sync.batch import Batch
from possync.sync.child import CaughtUp, Child
from possync.sync.errors import OutOfSequence
from possync.transport.client import Refused, SyncClient

PUSH_BATCH = 10_000  # changes; ~1,250 receipts, ~3 MB of JSON
IN_FLIGHT = 2  # pushed batches not yet acknowledged, at most
PULL_BATCH = 5000
RELOAD_CHUNK = 5000  # rows per chunk of a table loaded again after an upgrade

Progress = Callable[[str, int], None]
StopCheck = Callable[[], bool]


@dataclass
class SyncReport:
    pushed: int = 0
    push_batches: int = 0
    pulled: int = 0
    pull_batches: int = 0
    pushed_through: int = 0
    pulled_through: int = 0
    sent_again: int = 0  # pushed batches that overtook the one before them (exchange.push)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def push(
    child: Child,
    client: SyncClient,
    report: SyncReport,
    progress: Progress,
    should_stop: StopCheck,
    batch_size: int = PUSH_BATCH,
) -> None:
    """Send batches until the parent has everything.

    A backlog goes out with two batches in flight: the next is read from the local
    log and sent while the previous one is applied, so that the parent reads and
    checks batch N+1 while it applies N (it applies them in order: turns.py). Each
    acknowledgement is recorded in order. Whatever goes wrong with one batch, the
    ones sent after it are waited for and forgotten, and the loop goes on from
    where the parent's acknowledgements stand: a batch it applied is at worst sent
    again, which it recognises as a re-send.
    """
    batch = child.outgoing(batch_size)
    if batch is not None and not batch.more and not should_stop():
        # One batch (a till's periodic sync): nothing to read while it travels, so
        # no sender thread to start (a thread start was a tenth of the till's time).
        try:
            acknowledged = client.push(batch)
        except Refused as exc:
            _rewind(child, batch.after, exc)
        else:
            if _acknowledged(child, batch, acknowledged, report, progress) <= acknowledged:
                return  # no change made meanwhile: nothing to read again
        batch = child.outgoing(batch_size)  # changes made meanwhile, or a rewind
    if batch is None:
        return
    with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="possync-push") as sender:
        in_flight: deque[_Sent] = deque()
        try:
            while True:
                while batch is not None and len(in_flight) < IN_FLIGHT and not should_stop():
                    future = sender.submit(client.push, batch)
                    in_flight.append(_Sent(batch, future, behind=bool(in_flight)))
                    batch = child.outgoing(batch_size, after=batch.through) if batch.more else None
                if not in_flight:
                    return
                if _settle(child, in_flight.popleft(), report, progress):
                    continue  # acknowledged as expected: the ones behind it still hold
                _drain(in_flight)
                batch = child.outgoing(batch_size)  # from the acknowledgement, again
        finally:
            _drain(in_flight)  # an error: let the ones behind it end before raising


@dataclass
class _Sent:
    batch: Batch
    future: Future[int]
    behind: bool  # sent while an earlier batch was in flight


def _settle(child: Child, sent: _Sent, report: SyncReport, progress: Progress) -> bool:
    """The outcome of one sent batch (the batches before it were acknowledged
    through its start), recorded; whether the batches sent after it may stand."""
    batch = sent.batch
    try:
        acknowledged = sent.future.result()
    except Refused as exc:
        expected = exc.details.get("expected_after")
        overtook = exc.code == OutOfSequence.code and type(expected) is int
        if sent.behind and overtook and expected < batch.after:
            # It overtook the batch before it, which the parent had not applied yet
            # (another of its processes had it, or it was still on its way); that
            # one is acknowledged now, so this one is sent again, nothing ahead of it.
            report.sent_again += 1
            return False
        _rewind(child, batch.after, exc)
        return False
    _acknowledged(child, batch, acknowledged, report, progress)
    return acknowledged == batch.through


def _drain(in_flight: deque[_Sent]) -> None:
    """Wait for batches whose outcome no longer counts (sent after one that failed),
    so that no request is still running when the loop goes on or gives up."""
    while in_flight:
        wait([in_flight.popleft().future])


def _acknowledged(
    child: Child, batch: Batch, acknowledged: int, report: SyncReport, progress: Progress
) -> int:
    """Record the acknowledgement; returns the log head as it stood then."""
    failpoints.hit("push-before-ack")
    head = child.acknowledged(acknowledged)
    report.pushed += len(batch.changes)
    report.push_batches += 1
    report.pushed_through = acknowledged
    progress("push", report.pushed)
    return head


def _rewind(child: Child, sent_after: int, exc: Refused) -> None:
    """After an out-of-sequence refusal: send again from where the parent stands if
    it has less than it once acknowledged (its database was restored); refuse to go
    on if it has more than this node knows (this node's database was)."""
    expected = exc.details.get("expected_after")
    if exc.code != OutOfSequence.code or type(expected) is not int:
        raise exc
    if expected > sent_after:
        raise OutOfSequence(
            f"the parent holds changes of this node up to {expected} that this node does "
            f"not know (it stands at {sent_after}): was this node's database restored from "
            "an old copy? Provision it again."
        ) from exc
    child.acknowledged(expected)


def pull(
    child: Child,
    client: SyncClient,
    report: SyncReport,
    progress: Progress,
    should_stop: StopCheck,
    mode: str | None = None,
    batch_size: int = PULL_BATCH,
    caught_up: CaughtUp | None = None,
) -> None:
    """Apply pulled batches until the parent has nothing more; ``mode``: this node's
    working mode, reported for the parent's dashboard; ``caught_up``: run in the
    transaction of the last batch (see Child.apply_pulled)."""
    reload(child, client, progress)
    while not should_stop():
        cursor, head = child.pull_position()
        body = client.pull(cursor, batch_size, head=head, mode=mode)
        failpoints.hit("pull-before-apply")
        batch = child.apply_pulled(body, caught_up)
        failpoints.hit("pull-after-apply")
        report.pulled += len(batch.changes)
        report.pull_batches += 1
        report.pulled_through = batch.through
        progress("pull", report.pulled)
        # Stop at the first batch with nothing to apply and nothing more behind it.
        # Its cursor may have moved (over this node's own changes, filtered out): the
        # parent learns it at the next request, as the acknowledgement of a batch
        # with changes is learnt from the request after it. Nothing was sent that is
        # not acknowledged, so no dashboard shows a backlog; the parent's log keeps
        # those changes one sync longer before its purge may drop them. Asking once
        # more only to say so was a third request in every periodic sync.
        if not batch.more and not batch.changes:
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

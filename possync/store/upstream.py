"""The store as a child of head office: joining, and syncing with it.

A store server is at once the parent of its tills and a child of head office,
through the same engine: it pushes what its tills (and its own people) recorded,
and pulls the master data and stock movements head office routes to it, capturing
them again (``relays``) so that they flow on to its tills.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from possync.retail import joining, joining_history, reports
from possync.retail.replication import SPEC
from possync.retail.store_admin import store_row
from possync.sync import log, peers, state
from possync.sync.child import Child
from possync.sync.clock import utc_now
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import NotProvisioned, SyncError
from possync.transport import exchange
from possync.transport.client import Refused, SyncClient, Unreachable

CHUNK_ROWS = 5000
OPENING_CHUNK = 5000  # opening balances per request (opening_stock.MAX_ITEMS)
LAST_SYNC_AT = "head_office_last_sync_at"
MODE = "store"  # what the store reports as its working mode on head office's dashboard

Progress = Callable[[str, int], None]


class SyncBusy(SyncError):
    code = "sync_busy"


@dataclass
class JoinReport:
    head_office: str
    rows_loaded: int
    changes: dict[str, Any] = field(default_factory=dict)  # joining.summary()
    carried: dict[str, Any] = field(default_factory=dict)  # joining_history.Carried
    history: str = ""  # what went up and what could not, in a sentence


def child(engine: sa.Engine) -> Child:
    # Relays: what it pulls is captured again, stamped with head office's id, to
    # reach the store's tills; what its tills pushed goes up with its own changes.
    return Child(engine, SPEC, relays=True)


def has_head_office(engine: sa.Engine) -> bool:
    with read_tx(engine) as conn:
        return peers.parent(conn) is not None


def join(engine: sa.Engine, url: str, code: str, progress: Progress | None = None) -> JoinReport:
    """Register with head office, then take its master data (resumable: run it again
    after an interruption and it carries on). The history the store still holds goes
    up with its next syncs; its stock reaches head office as those movements plus an
    opening balance for what it purged (retail/joining_history.py)."""
    notify = progress or (lambda _stage, _n: None)
    url = url.rstrip("/")
    node = child(engine)
    with read_tx(engine) as conn:
        store_id = node.node_id(conn)
        store_row(conn)  # refuses a database that is not a store's
        registered = peers.parent(conn)
    if registered is None:
        with SyncClient(url, protocol=SPEC.protocol) as client:
            client.health()
            # One transaction: what goes up is captured again while nothing else
            # writes, and is undone if head office refuses the code.
            with write_tx(engine) as conn:
                joining_history.carry(conn, store_id)
                answer = client.register(store_id, code)
                peers.set_parent(
                    conn, answer["parent"], url, answer["secret"], answer["route_keys"]
                )
    if node.load_state() == "none":
        with write_tx(engine) as conn:
            joining.remember_before(conn)  # once: a resumed join compares with the start
    loaded = _load(engine, node, notify)
    with write_tx(engine) as conn:
        report = joining.replace(conn) if state.get(conn, joining.BEFORE) else {}
        parent = node.parent(conn)
    with sync_lock(engine, 30.0), _client(engine) as client:
        _send_opening(engine, client)
    with read_tx(engine) as conn:
        carried = joining_history.carried(conn)
    return JoinReport(
        parent.node_id,
        loaded,
        joining.summary(report) if report else {},
        carried.as_dict() if carried else {},
        carried.sentence() if carried else "",
    )


def _send_opening(engine: sa.Engine, client: SyncClient) -> None:
    """Hand head office the opening balance if it has not acknowledged it: in chunks,
    each written there once however often it is sent."""
    with read_tx(engine) as conn:
        opening = joining_history.opening_to_send(conn)
    if opening is None:
        return
    balances = [{"sku": sku, "qty": qty} for sku, qty in sorted(opening.items())]
    for start in range(0, len(balances), OPENING_CHUNK):
        client.opening_stock(balances[start : start + OPENING_CHUNK])
    with write_tx(engine) as conn:
        joining_history.opening_sent(conn)


def _load(engine: sa.Engine, node: Child, notify: Progress) -> int:
    """Head office's master data: the initial load, keeping the store's own stock
    (it is the store's, and goes up as movements)."""
    if node.load_state() == "done":
        return 0
    loaded = 0
    with sync_lock(engine), _client(engine) as client:
        if node.load_state() == "none":
            start = client.start_load()
            node.begin_load(
                start.get("cursor"), start.get("tables"), {}, start.get("counts"),
                keep_baselines=True,
            )  # fmt: skip
        for table in node.load_progress():
            name, done = table["table_name"], table["done"]
            key = None if table["last_key"] is None else orjson.loads(table["last_key"])
            while not done:
                chunk = client.load_chunk(name, key, CHUNK_ROWS)
                rows = chunk.get("rows")
                with write_tx(engine) as conn:
                    joining.note_received(conn, name, key, rows if isinstance(rows, list) else [])
                loaded += node.apply_chunk(
                    name, rows, chunk.get("last_key"), bool(chunk.get("more"))
                )
                key, done = chunk.get("last_key"), not chunk.get("more")
                notify("load", loaded)
        node.finish_load()
    return loaded


def sync(
    engine: sa.Engine,
    *,
    progress: Progress | None = None,
    timeout: float = 60.0,
    wait_for_lock: float = 0.0,
) -> exchange.SyncReport:
    """Push what head office has not acknowledged, then pull what it routes here."""
    node = child(engine)
    report = exchange.SyncReport()
    notify = progress or (lambda _stage, _n: None)
    if node.load_state() != "done":
        raise NotProvisioned("this store has not finished joining head office: run 'store join'")
    if engine.dialect.name != "sqlite":
        with write_tx(engine) as conn:
            # Number what is committed, as every reader of the log does first (the
            # history captured again at the join, changes no till's pull numbered).
            log.publish(conn)
    with sync_lock(engine, wait_for_lock), _client(engine, timeout) as client:
        try:
            _send_opening(engine, client)  # a join cut short before it did
            exchange.push(node, client, report, notify, lambda: False)
            exchange.pull(node, client, report, notify, lambda: False, mode=MODE)
            _report_tills(engine, client)
        except (Unreachable, Refused, SyncError) as exc:
            _record(engine, node, str(exc))
            raise
    _record(engine, node, None)
    return report


TILL_FIELDS = ("terminal_id", "mode", "last_sync_at", "backlog", "unsent", "quarantined")


def _report_tills(engine: sa.Engine, client: SyncClient) -> None:
    """Tell head office how the store's tills stand, for its dashboard (head office
    never talks to them). A head office that does not take reports is no error."""
    tills = [
        {**{k: t[k] for k in TILL_FIELDS}, "last_error": (t["last_error"] or None)}
        for t in reports.terminal_activity(engine)
    ]
    try:
        client.report_children(tills)
    except Refused as exc:
        if exc.status != 404:
            raise


def _client(engine: sa.Engine, timeout: float = 60.0) -> SyncClient:
    with read_tx(engine) as conn:
        parent = peers.parent(conn)
        store_id = state.get(conn, state.NODE_ID)
    if parent is None:
        raise NotProvisioned("this store has not joined head office")
    return SyncClient(
        parent.url or "", store_id, parent.secret, timeout=timeout, protocol=SPEC.protocol
    )


def _record(engine: sa.Engine, node: Child, error: str | None) -> None:
    with write_tx(engine) as conn:
        parent = node.parent(conn)
        if error is None:
            peers.record_success(conn, parent.node_id)
            state.put(conn, LAST_SYNC_AT, utc_now())
        else:
            peers.record_error(conn, parent.node_id, error)


def status(engine: sa.Engine) -> dict[str, Any] | None:
    """The store's link to head office, for ``store status`` (None: it has none)."""
    with read_tx(engine) as conn:
        parent = peers.parent(conn)
        if parent is None:
            return None
        activity = peers.activity(conn).get(parent.node_id, {})
        last_sync = state.get(conn, LAST_SYNC_AT)
    node = child(engine)
    return {
        "head_office": parent.node_id,
        "url": parent.url,
        "joined": node.load_state() == "done",
        "last_sync_at": last_sync,
        "to_send": node.pending(),
        "last_error": activity.get("last_error"),
        "last_error_at": activity.get("last_error_at"),
    }


@contextlib.contextmanager
def sync_lock(engine: sa.Engine, wait: float = 0.0) -> Iterator[None]:
    """One sync with head office at a time per store database, across processes
    (the serve loop, ``store sync``...): a lock file named after the database."""
    url = engine.url.render_as_string(hide_password=True)
    name = hashlib.sha256(url.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"possync-upstream-{name}.lock"
    deadline = time.monotonic() + wait
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SyncBusy(
                        "another sync of this store with head office is running"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

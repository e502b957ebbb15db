"""First start of a terminal: register with the store, then the initial load.

The load is resumable: each chunk is committed with its position, so running
``possync pos init`` again after an interruption carries on where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson

from possync.sync import peers
from possync.sync.db import write_tx
from possync.sync.errors import NotProvisioned
from possync.terminal.local import Terminal
from possync.transport.client import SyncClient

CHUNK_ROWS = 5000

# (table, rows loaded so far, done?)
LoadProgress = Callable[[str, int, bool], None]


def register(data_dir: Path, store_url: str, terminal_id: str, code: str) -> Terminal:
    """Exchange the one-time code for this terminal's secret and store it."""
    url = store_url.rstrip("/")
    if (data_dir / "terminal.db").exists():
        terminal = Terminal.open(data_dir)
        if terminal.terminal_id != terminal_id:
            raise NotProvisioned(
                f"{data_dir} holds terminal {terminal.terminal_id}, not {terminal_id}"
            )
        with write_tx(terminal.engine) as conn:
            if peers.parent(conn) is not None:
                return terminal  # registered before; the load may still be unfinished
    else:
        terminal = Terminal.create(data_dir, terminal_id)
    with SyncClient(url) as client:
        answer = client.register(terminal_id, code)
    with write_tx(terminal.engine) as conn:
        peers.set_parent(conn, answer["parent"], url, answer["secret"], answer["route_keys"])
    return terminal


def initial_load(terminal: Terminal, progress: LoadProgress | None = None) -> int:
    """Load (or finish loading) the terminal's data from the store."""
    notify = progress or (lambda _t, _n, _d: None)
    child = terminal.child
    if child.load_state() == "done":
        return 0
    loaded = 0
    with terminal.sync_lock(), terminal.client() as client:
        if child.load_state() == "none":
            start = client.start_load()
            child.begin_load(start.get("cursor"), start.get("tables"), start.get("baselines"))
        for table in child.load_progress():
            name, last_key, count = table["table_name"], table["last_key"], table["rows_loaded"]
            done = table["done"]
            key = None if last_key is None else orjson.loads(last_key)
            while not done:
                chunk = client.load_chunk(name, key, CHUNK_ROWS)
                n = child.apply_chunk(
                    name, chunk.get("rows"), chunk.get("last_key"), bool(chunk.get("more"))
                )
                loaded += n
                count += n
                key, done = chunk.get("last_key"), not chunk.get("more")
                notify(name, count, done)
        child.finish_load()
    return loaded

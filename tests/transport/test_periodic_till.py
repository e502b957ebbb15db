"""A till's periodic sync against a real store process, as the till's database sees
it: two write transactions (the push's acknowledgement, then the last pulled batch
with the record of the sync), the record kept as before, a failure still recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from possync.store.process import StoreProcess, free_port
from possync.terminal import syncer
from possync.terminal.local import LAST_SYNC_AT, Terminal
from possync.transport.client import Unreachable
from tests.e2e.helpers import make_store
from tests.e2e.test_purge import init_terminal, sell

pytestmark = pytest.mark.e2e


@contextmanager
def write_transactions(engine: sa.Engine) -> Iterator[list[str]]:
    """The BEGIN IMMEDIATE (write) transactions the till's database runs meanwhile."""
    begun: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement == "BEGIN IMMEDIATE":
            begun.append(statement)

    sa_event.listen(engine, "before_cursor_execute", before)
    try:
        yield begun
    finally:
        sa_event.remove(engine, "before_cursor_execute", before)


def test_a_periodic_sync_writes_the_till_twice_and_records_itself(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_store(db_url)
    data = tmp_path / "T01"
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        init_terminal(engine, server.url, data, "T01")
        term = Terminal.open(data)
        try:
            syncer.sync(term, url=server.url)  # whatever the registration left
            sell(data, "SKU1:1")
            with write_transactions(term.engine) as writes:
                report = syncer.sync(term, url=server.url)
            assert (report.pushed, report.pulled) == (4, 0)
            assert len(writes) == 2  # the acknowledgement; the last batch and the record
            recorded = term.get_state(LAST_SYNC_AT)
            assert recorded is not None

            # Nothing new: the pull alone, with the record in its transaction.
            with write_transactions(term.engine) as writes:
                syncer.sync(term, url=server.url)
            assert len(writes) == 1
            assert term.get_state(LAST_SYNC_AT) != recorded

            # A failed sync is recorded (in a transaction of its own), and the next
            # sync that works clears it in its last batch's.
            with pytest.raises(Unreachable):
                syncer.sync(term, url=f"http://127.0.0.1:{free_port()}", timeout=2)
            assert term.get_state(syncer.FAILING_SINCE) is not None
            syncer.sync(term, url=server.url)
            assert term.get_state(syncer.FAILING_SINCE) is None
        finally:
            term.close()

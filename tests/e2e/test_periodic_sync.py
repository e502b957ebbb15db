"""A till's periodic sync against a real store process: a sale and nothing to pull
costs two requests (the push, one pull), and the store learns how far the till has
pulled at its next sync, with no backlog shown in between."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import policy
from possync.retail.replication import SPEC
from possync.store.process import StoreProcess
from possync.sync import log, peers
from possync.sync.db import read_tx
from possync.sync.parent import Parent
from possync.terminal import syncer
from possync.terminal.local import Terminal
from tests.e2e.helpers import make_store
from tests.e2e.test_purge import init_terminal, sell

pytestmark = pytest.mark.e2e


def till_position(engine: sa.Engine) -> tuple[int, int]:
    """The store's log head, and how far it knows T01 has pulled."""
    with read_tx(engine) as conn:
        peer = peers.get(conn, "T01")
        assert peer is not None
        return log.head(conn), peer.outbound_seq


def test_a_sale_syncs_in_two_requests_and_is_acknowledged_by_the_next_sync(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_store(db_url)
    data = tmp_path / "T01"
    with StoreProcess(db_url, log_path=tmp_path / "store.log") as server:
        init_terminal(engine, server.url, data, "T01")
        sell(data, "SKU1:1")
        term = Terminal.open(data)
        try:
            first = syncer.sync(term, url=server.url)
            assert (first.push_batches, first.pull_batches) == (1, 1)
            assert first.pushed == 4 and first.pulled == 0  # receipt, line, payment, movement
            head, acknowledged = till_position(engine)
            # The store captured the till's 4 changes and passed over them (they are
            # the till's own); the till has not said so yet.
            assert acknowledged < head
            assert term.child.inbound_cursor() == head
            with read_tx(engine) as conn:
                peer = peers.get(conn, "T01")
                assert peer is not None
                parent = server_parent(engine)
                assert parent.backlog(conn, peer) == 0
                assert parent.sent_unacknowledged(conn, peer) == 0

            second = syncer.sync(term, url=server.url)  # nothing new on either side
            assert (second.push_batches, second.pull_batches) == (0, 1)
            assert till_position(engine) == (head, head)
        finally:
            term.close()


def server_parent(engine: sa.Engine) -> Parent:
    """The store's Parent, as the server builds it, for its read-only counts."""
    return Parent(engine, SPEC, "S01", admission=policy.admission)

"""A store server restored from an old backup (issue 12): head office never holds a
document twice, and never takes a new one for a re-send either.

The restored store numbers its new changes from where the copy stood: the tills'
sales it gets again (each till re-sends from where the restored store stands) and
sales made since. Once its log has grown past head office's cursor, its push is no
longer given away by the head of its log; head office would skip the changes it
numbers at or below its cursor as re-sends, acknowledge them, and never hold the
new sales among them, while the store believes they are up. Head office must
refuse such a push instead (409 log_diverged): the store's data stays on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import integrity, sales
from possync.retail.replication import SPEC
from possync.retail.schema import receipt
from possync.store import upstream
from possync.sync import log, peers
from possync.sync.db import open_engine, read_tx, write_tx
from possync.sync.errors import LogDiverged, OutOfSequence
from possync.sync.parent import Parent
from tests.property.chain_tiers import Chain


def sell(tiers: Chain, till_id: str) -> str:
    term = tiers.tills["S01", till_id]
    with write_tx(term.engine) as conn:
        made = sales.record_sale(
            conn, term.till(), [sales.LineRequest("SKU1", 1)], [sales.PaymentRequest("CASH")]
        )
    return made.receipt_no


def push_till(tiers: Chain, till_id: str) -> None:
    """As the transport does: a till whose store holds less than it acknowledged
    sends again from where the store stands (exchange._rewind)."""
    child = tiers.till_child("S01", till_id)
    while (batch := child.outgoing(50)) is not None:
        try:
            ack = tiers.receive_at_store("S01", till_id, batch)
        except OutOfSequence as exc:
            assert exc.details["expected_after"] <= batch.after
            child.acknowledged(exc.details["expected_after"])
            continue
        child.acknowledged(ack)


def numbers(engine: sa.Engine) -> set[str]:
    with read_tx(engine) as conn:
        return {n for (n,) in conn.execute(sa.select(receipt.c.receipt_no))}


def restore(tiers: Chain, copy: Path) -> sa.Engine:
    tiers.stores["S01"].dispose()
    live = tiers.directory / "S01.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copy(copy, live)
    engine = open_engine(f"sqlite:///{live}")
    tiers.stores["S01"] = engine
    tiers.upstream["S01"] = upstream.child(engine)
    tiers.store_parents["S01"] = Parent(engine, SPEC, "S01", guard=integrity.guard)
    return engine


@pytest.fixture
def tiers(db_url: str, tmp_path: Path) -> Iterator[Chain]:
    built = Chain(tmp_path / "chain", ho_url=db_url)
    yield built
    built.close()


def test_a_restored_store_whose_log_grew_past_head_office_is_refused(
    tiers: Chain, tmp_path: Path
) -> None:
    sell(tiers, "T01")
    tiers.settle()
    tiers.stores["S01"].dispose()
    shutil.copy(tiers.directory / "S01.db", tmp_path / "nightly.db")  # the backup
    for till_id in ("T01", "T02"):
        for _ in range(5):
            sell(tiers, till_id)
    tiers.settle()
    at_ho = numbers(tiers.ho)
    assert len(at_ho) == 11
    cursor = tiers.ho_peer("S01").inbound_seq

    store = restore(tiers, tmp_path / "nightly.db")
    push_till(tiers, "T01")  # T01's five sales again, under new numbers in the log
    new = {sell(tiers, "T01") for _ in range(6)}  # and sales made since the restore
    push_till(tiers, "T01")
    with read_tx(store) as conn:
        assert log.head(conn) > cursor  # the head no longer gives it away
    assert new <= numbers(store)

    with pytest.raises(LogDiverged, match="S01"):
        tiers.push_store("S01")
    # Nothing was taken for a re-send: head office holds what it held, and the store
    # still has its new sales to send (they stay on it).
    assert numbers(tiers.ho) == at_ho
    assert tiers.upstream["S01"].pending() > 0


def test_a_store_sending_its_own_log_again_is_taken_as_re_sends(tiers: Chain) -> None:
    """The same log sent again from an older point (its acknowledgement was lost,
    its cursor here went back): no refusal, nothing twice."""
    for till_id in ("T01", "T02"):
        sell(tiers, till_id)
    tiers.settle()
    with write_tx(tiers.stores["S01"]) as conn:
        peers.set_outbound_seq(conn, "HO", 0, pulled=False)
    sell(tiers, "T02")
    tiers.settle()
    assert len(numbers(tiers.ho)) == 3

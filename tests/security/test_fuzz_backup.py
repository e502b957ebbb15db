"""Hypothesis over the backup reader, through its public entry point, Import
Database (``restore.import_backup``, what ``pos import`` runs): a genuine backup
of a store, damaged anywhere (a byte changed, cut short, bytes inserted, its
header's JSON altered) or opened with a wrong import code. Each is refused with
a SyncError (BackupError), never another exception, and leaves nothing behind:
no data directory, no half-built one.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from possync.retail import offline_backup, store_admin
from possync.sync.errors import SyncError
from possync.terminal import restore
from tests.e2e.helpers import make_store
from tests.security.fuzzing import Tally, examples
from tests.security.test_fuzz_batches import altered


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    """A real backup of terminal T01 and its import code."""
    tmp = tmp_path_factory.mktemp("backup")
    store = make_store(f"sqlite:///{tmp / 'store.db'}", items=20)
    store_admin.add_terminal(store, "T01")
    made = offline_backup.create(store, "T01", tmp / "T01.backup", store_url="http://127.0.0.1:9")
    store.dispose()
    data = (tmp / "T01.backup").read_bytes()
    # The harness itself: the genuine file imports.
    restore.import_backup(tmp / "T01.backup", tmp / "ok" / "T01", "T01", made.import_code)
    return data, made.import_code


def header_altered(data: bytes) -> st.SearchStrategy[bytes]:
    first, header, rest = data.split(b"\n", 2)
    return altered(orjson.loads(header)).map(lambda h: b"\n".join([first, orjson.dumps(h), rest]))


def damaged(data: bytes) -> st.SearchStrategy[bytes]:
    size = len(data)
    at = st.integers(0, size - 1)
    changed = st.tuples(at, st.integers(1, 255)).map(
        lambda p: data[: p[0]] + bytes([data[p[0]] ^ p[1]]) + data[p[0] + 1 :]
    )
    cut = at.map(lambda n: data[:n])
    inserted = st.tuples(at, st.binary(min_size=1, max_size=64)).map(
        lambda p: data[: p[0]] + p[1] + data[p[0] :]
    )
    # the lead (magic, header, signature) is where the parsing is: changed more often
    lead = st.integers(0, min(size, data.index(b"\n", data.index(b"\n") + 1) + 140) - 1)
    in_lead = st.tuples(lead, st.integers(1, 255)).map(
        lambda p: data[: p[0]] + bytes([data[p[0]] ^ p[1]]) + data[p[0] + 1 :]
    )
    return st.one_of(changed, in_lead, cut, inserted, header_altered(data))


def test_a_damaged_backup_or_a_wrong_code_is_refused_and_leaves_nothing(
    genuine: tuple[bytes, str], tmp_path: Path
) -> None:
    data, code = genuine
    tally = Tally("backup reader (pos import)")
    cases = itertools.count()
    wrong_codes = st.one_of(
        st.text(max_size=40),
        st.sampled_from([code.lower(), code.replace("-", ""), code[:-1] + "A", code + "A"]),
    )

    @settings(
        max_examples=examples(40),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        case=st.one_of(
            st.tuples(damaged(data), st.just(code)), st.tuples(st.just(data), wrong_codes)
        )
    )
    def read(case: tuple[bytes, str]) -> None:
        content, given_code = case
        # each case in a directory of its own: wrong attempts are counted per directory
        place = tmp_path / f"case{next(cases)}"
        place.mkdir()
        file = place / "T01.backup"
        file.write_bytes(content)
        target = place / "data" / "T01"
        try:
            restore.import_backup(file, target, "T01", given_code)
        except SyncError as refused:
            tally.count(422, str(refused))
            # Nothing but the file and the count of failed attempts (pos import keeps
            # it beside the data directory): no data directory, no half-built one.
            left = [
                p.relative_to(place).as_posix()
                for p in place.rglob("*")
                if p != file and p != target.parent and ".possync-import-attempts" not in p.name
            ]
            assert left == [], f"left behind: {left}"
        else:  # only the genuine file, with its code in another spelling
            tally.count(200)
            assert content == data

    read()
    tally.report()
    assert tally.cases >= examples(40)

"""The parent's backup signing key: a 0600 file outside the database, found beside a
SQLite database or in a directory of its own for PostgreSQL, made once, refused when
others may read it; only its public half is in the database."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.sync import signing_key, state
from possync.sync.backup_keys import BackupError
from possync.sync.db import open_engine, read_tx, write_tx
from tests.sync.toy import make_node


def stored(engine: sa.Engine, key: str) -> str | None:
    with read_tx(engine) as conn:
        return state.get(conn, key)


def test_made_once_beside_a_sqlite_database_with_only_its_public_half_inside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(signing_key.ENV, raising=False)
    engine = make_node(f"sqlite:///{tmp_path / 'store.db'}", "P")
    with write_tx(engine) as conn:  # what releases before 0.3 kept, in clear
        state.put(conn, signing_key.OLD_BACKUP_KEY, "ab" * 32)
    made = signing_key.ensure(engine)
    path = tmp_path / "store.db.signing-key"
    assert made.path == path and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert made.note is not None and "made a backup signing key for this store in" in made.note
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stored(engine, signing_key.PUBLIC_KEY) == made.public.hex()
    assert stored(engine, signing_key.OLD_BACKUP_KEY) is None

    again = signing_key.ensure(engine)
    assert again.public == made.public and again.note is None
    assert len(made.sign(b"x")) == 64
    assert made.fingerprint == signing_key.fingerprint(made.public)
    assert len(made.fingerprint) == 19  # four groups of four hex digits


def test_a_lost_key_is_replaced_and_said_so(tmp_path: Path) -> None:
    engine = make_node(f"sqlite:///{tmp_path / 'store.db'}", "P")
    first = signing_key.ensure(engine)
    first.path.unlink()
    second = signing_key.ensure(engine)
    assert second.public != first.public
    assert second.note is not None
    assert f"the one used before ({first.fingerprint}) was not found there" in second.note
    # a key file swapped for another is noticed too
    other = tmp_path / "other.key"
    signing_key.create(other)
    third = signing_key.ensure(engine, other)
    assert third.note is not None and "is not the one this store used before" in third.note
    assert stored(engine, signing_key.PUBLIC_KEY) == third.public.hex()


def test_where_the_key_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(signing_key.ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    sqlite = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    pg = sa.create_engine("postgresql+psycopg://possync@db.example:5433/store_s01")
    assert signing_key.key_path(sqlite) == tmp_path / "store.db.signing-key"
    assert signing_key.key_path(pg) == (
        tmp_path / "data" / "possync" / "signing-keys" / "db.example-5433-store_s01.key"
    )
    monkeypatch.setenv(signing_key.ENV, str(tmp_path / "env.key"))
    assert signing_key.key_path(pg) == tmp_path / "env.key"
    assert signing_key.key_path(pg, tmp_path / "given.key") == tmp_path / "given.key"
    monkeypatch.delenv(signing_key.ENV)
    with pytest.raises(BackupError, match="a database in memory has no place"):
        signing_key.key_path(open_engine("sqlite://"))


@pytest.mark.postgres
def test_a_postgresql_store_keeps_its_key_in_a_private_directory(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(signing_key.ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    engine = make_node(pg_url, "P")
    made = signing_key.ensure(engine)
    assert made.path.parent == tmp_path / "possync" / "signing-keys"
    assert stat.S_IMODE(made.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert signing_key.ensure(engine).public == made.public


def test_a_key_others_may_read_or_not_a_key_is_refused(tmp_path: Path) -> None:
    engine = make_node(f"sqlite:///{tmp_path / 'store.db'}", "P")
    made = signing_key.ensure(engine)
    made.path.chmod(0o640)
    with pytest.raises(BackupError) as refused:
        signing_key.ensure(engine)
    assert f"{made.path} may be read by others (mode 0640)" in str(refused.value)
    assert f"chmod 600 {made.path}" in str(refused.value)
    made.path.chmod(0o600)
    assert signing_key.ensure(engine).public == made.public

    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"not a key")
    garbage.chmod(0o600)
    with pytest.raises(BackupError, match="is not a signing key"):
        signing_key.ensure(engine, garbage)
    with pytest.raises(BackupError, match="cannot create"):
        signing_key.ensure(engine, tmp_path / "store.db" / "sub" / "k")


def test_first_uses_at_once_agree_on_one_key(db_url: str, tmp_path: Path) -> None:
    """Two first backups at once (the console and the CLI): one key file is made,
    whole, and both sign with it."""
    engine = make_node(db_url, "P")
    path = tmp_path / "keys" / "store.key"
    start = threading.Barrier(6)

    def first_use() -> bytes:
        start.wait()
        return signing_key.ensure(engine, path).public

    with ThreadPoolExecutor(6) as pool:
        publics = list(pool.map(lambda _: first_use(), range(6)))
    assert len(set(publics)) == 1
    assert signing_key.ensure(engine, path).public == publics[0]
    assert stored(engine, signing_key.PUBLIC_KEY) == publics[0].hex()
    assert [p.name for p in path.parent.iterdir()] == ["store.key"]  # nothing left aside

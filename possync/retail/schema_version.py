"""Which schema a database has, and upgrading it (Alembic, run from code).

Every possync database, store or terminal, SQLite or PostgreSQL, has the same
schema and one migration history (``possync/retail/migrations``). Its revision
is stored in ``alembic_version``; a database of release 0.1.0, which stored none,
is recognised by its ``sync_state`` table and taken as revision 0001.

An upgrade is one transaction: every migration and the new revision commit
together, or none does. SQLite's DDL is transactional (and possync opens its
write transactions itself, with ``BEGIN IMMEDIATE``), as is PostgreSQL's; so an
upgrade killed at any instant leaves the old schema or the new one, never a mix,
and running it again finishes it. On SQLite a copy of the file is made first
(``<file>.pre-<release>``), for rolling back by hand.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possync.retail.errors import RetailError

# Revision -> the release that introduced it, and the sync protocol of its rows.
RELEASES = {
    "0001": "0.1.0",
    "0002": "0.2.0",
    "0003": "0.2.0",
    "0004": "0.3.0",
    "0005": "0.3.0",
    "0006": "0.3.0",
    "0007": "0.3.0",
    "0008": "0.3.0",
    "0009": "0.3.0",
    "0010": "0.3.0",
    "0011": "0.3.0",
    "0012": "0.3.0",
}
PROTOCOLS = {
    "0001": 1,
    "0002": 2,
    "0003": 2,
    "0004": 2,
    "0005": 3,
    "0006": 4,
    "0007": 4,
    "0008": 4,
    "0009": 4,
    "0010": 4,
    "0011": 4,
    "0012": 4,
}
HEAD = "0012"
BASELINE = "0001"  # release 0.1.0, which stored no revision
SINCE_0_1_0 = [r for r in RELEASES if r != BASELINE]  # what upgrading a 0.1.0 database applies
MIGRATIONS = Path(__file__).with_name("migrations")


def since(rev: str) -> list[str]:
    """What upgrading a database of the revision just before ``rev`` applies:
    ``rev`` and every later one (for the upgrade tests, which outlive HEAD)."""
    return SINCE_0_1_0[SINCE_0_1_0.index(rev) :]


class SchemaError(RetailError):
    """The database's schema is not this release's."""


class SchemaTooOld(SchemaError):
    pass


class SchemaTooNew(SchemaError):
    pass


def release(revision: str | None) -> str:
    if revision is None:
        return "none"
    return RELEASES.get(revision, f"a newer release (schema {revision})")


def revision(conn: sa.Connection) -> str | None:
    """The database's schema revision; None for an empty database."""
    inspector = sa.inspect(conn)
    if inspector.has_table("alembic_version"):
        found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if found is not None:
            return str(found)
    if inspector.has_table("sync_state"):
        return BASELINE
    return None


def _order(rev: str) -> int:
    return int(rev) if rev.isdigit() else 1 << 30


def is_newer(rev: str) -> bool:
    """Written by a release newer than this one (a revision this one lacks)."""
    return rev not in RELEASES or _order(rev) > _order(HEAD)


def check(conn: sa.Connection, how_to_upgrade: str) -> None:
    """Refuse a database whose schema is not this release's, saying what to do."""
    found = revision(conn)
    if found is None or found == HEAD:
        return
    if is_newer(found):
        raise SchemaTooNew(
            f"this database was written by {release(found)}; this possync is "
            f"{RELEASES[HEAD]} (schema {HEAD}) and leaves it untouched: install the newer "
            "release here"
        )
    raise SchemaTooOld(
        f"this database has the schema of release {release(found)} (schema {found}); "
        f"this possync is {RELEASES[HEAD]}: {how_to_upgrade}"
    )


@dataclass(frozen=True)
class Step:
    revision: str
    release: str
    description: str

    def as_dict(self) -> dict[str, str]:
        return {"revision": self.revision, "release": self.release, "description": self.description}


@dataclass
class Plan:
    """An upgrade, before or after it ran."""

    current: str | None
    target: str
    steps: list[Step]
    copy: Path | None = None  # the safety copy, if one was made (SQLite)
    applied: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": {"revision": self.current, "release": release(self.current)},
            "to": {"revision": self.target, "release": release(self.target)},
            "pending": [s.as_dict() for s in self.steps],
            "applied": self.applied,
            "copy": None if self.copy is None else str(self.copy),
        }


def _alembic_config(conn: sa.Connection, on_step: Callable[..., None] | None) -> Any:
    from alembic.config import Config  # imported only to upgrade: it is slow to load

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    config.attributes["on_step"] = on_step
    return config


def _steps(current: str | None) -> list[Step]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    if scripts.get_current_head() != HEAD:
        raise SchemaError(f"the migrations end at {scripts.get_current_head()}, not {HEAD}")
    base = current or BASELINE
    pending = list(scripts.iterate_revisions(HEAD, base))
    pending.reverse()  # oldest first
    steps = [
        Step(s.revision, RELEASES[s.revision], (s.doc or "").splitlines()[0])
        for s in pending
        if s.revision != base
    ]
    return steps


def plan(engine: sa.Engine) -> Plan:
    with engine.connect() as conn:
        current = revision(conn)
    if current is not None and is_newer(current):
        raise SchemaTooNew(
            f"this database was written by {release(current)}; this possync is "
            f"{RELEASES[HEAD]} and cannot upgrade it (nor will it touch it)"
        )
    return Plan(current, HEAD, _steps(current) if current is not None else [])


def sqlite_path(engine: sa.Engine) -> Path | None:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database)


def safety_copy(db_file: Path, release_name: str) -> Path:
    """A consistent copy of a SQLite database (WAL included), published by rename so
    that a copy under its final name is always whole. An existing copy is kept: it
    was made from this same database by an upgrade that did not finish."""
    target = db_file.with_name(f"{db_file.name}.pre-{release_name}")
    if target.exists():
        return target
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(db_file)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    os.chmod(partial, 0o600)  # it holds the same secrets as the database
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)
    return target


Progress = Callable[[str], None]


def upgrade(
    engine: sa.Engine,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    copy: bool = True,
) -> Plan:
    """Bring the database to this release's schema (see the module docstring)."""
    say = progress or (lambda _message: None)
    found = plan(engine)
    if dry_run or not found.steps:
        return found
    db_file = sqlite_path(engine)
    if copy and db_file is not None:
        found.copy = safety_copy(db_file, RELEASES[HEAD])
        say(f"copy of the database before the upgrade: {found.copy}")

    def on_step(*, step: Any, **_: Any) -> None:
        revision_id, release_name = step.up_revision_id, RELEASES.get(step.up_revision_id)
        if step.is_stamp:  # a database of 0.1.0, which stored no version
            say(f"recorded the schema it had: {revision_id} (release {release_name})")
            return
        found.applied.append(revision_id)
        say(f"applied {revision_id} (release {release_name})")

    from alembic import command

    # Our own progress lines say what happens; Alembic's INFO lines are noise in a
    # till's log (pos run logs at INFO).
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # One transaction for every step and the new revision: BEGIN IMMEDIATE on SQLite.
    with engine.begin() as conn:
        current = revision(conn)  # again, under the write lock: another may have run
        if current != found.current:
            raise SchemaError("the database changed while the upgrade was prepared; run it again")
        say(f"upgrading from schema {current} (release {release(current)}) to {HEAD}")
        config = _alembic_config(conn, on_step)
        if not sa.inspect(conn).has_table("alembic_version"):
            command.stamp(config, BASELINE)
        command.upgrade(config, HEAD)
        _reinstall_derived(conn)
        reload = _request_reload(conn, PROTOCOLS[current or BASELINE])
        if reload:
            say(f"to load again from the parent at the next sync: {', '.join(reload)}")
        _failpoint("upgrade-before-commit")
    _failpoint("upgrade-after-commit")
    say(f"upgraded to schema {HEAD} (release {RELEASES[HEAD]})")
    return found


def _reinstall_derived(conn: sa.Connection) -> None:
    """Triggers are derived from the schema: once it is this release's, make them
    all again from this release's declarations (idempotent)."""
    from possync.retail import stock
    from possync.retail.replication import SPEC
    from possync.sync import capture

    capture.install_triggers(conn, SPEC)
    stock.install_triggers(conn)


def _request_reload(conn: sa.Connection, protocol: int) -> list[str]:
    """A child (a till) pulled rows cut to its old protocol: the tables whose shape
    changed are loaded again before its next pull."""
    from possync.retail.replication import SPEC
    from possync.sync.child import Child

    return Child(conn.engine, SPEC).request_reload(conn, protocol)


def stamp_head(conn: sa.Connection) -> None:
    """Record that a database just created with this release's tables is at HEAD."""
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS alembic_version ("
        "version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    conn.exec_driver_sql("DELETE FROM alembic_version")
    conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD})


FAILPOINT_ENV = "POSSYNC_FAILPOINT"


def _failpoint(name: str) -> None:
    """Fault injection for the upgrade tests: ``POSSYNC_FAILPOINT=<name>`` kills this
    process with SIGKILL right there, as a power cut would."""
    if os.environ.get(FAILPOINT_ENV) == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)

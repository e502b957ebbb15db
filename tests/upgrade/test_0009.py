"""Schema 0009 (cash-up): a store made by the code of schema 0008 (read from git
history), with two tills, one given a custom receipt series, is upgraded. Its schema
is a new one's; each till gets a Z report series (logged, so it goes down to the
till, and remembered as that till's for the checks of what it pushes), and a till's
own database, which gave no series, invents none."""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import numbering, schema_version, store_admin
from possync.retail.schema import doc_series, doc_series_used
from possync.sync.db import open_engine, read_tx, write_tx
from tests.upgrade import release
from tests.upgrade.test_schema import _logged, schema_of

pytestmark = pytest.mark.e2e

# schema 0008: the store's locale and time zone, no cash-up
COMMIT = "c70ce62"


@pytest.fixture(scope="module")
def release_0008(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = release.from_git(COMMIT)
    if archive is None:
        pytest.skip("no git history in this clone to take schema 0008's code from")
    dest = tmp_path_factory.mktemp("schema-0008")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _z_series(engine: sa.Engine) -> dict[str, str]:
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.select(doc_series.c.terminal_id, doc_series.c.prefix).where(
                doc_series.c.kind == numbering.Z_REPORT
            )
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def test_a_schema_0008_store_upgrades_and_gives_its_tills_z_series(
    release_0008: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    release.run(release_0008, "store", "init", "--db", db, "--store", "S01", "--name", "Main")
    release.run(release_0008, "store", "terminal", "add", "T01", "--db", db)
    release.run(release_0008, "store", "terminal", "add", "T02", "--db", db)
    engine = open_engine(db)
    # A custom prefix that takes T02's default Z prefix: T02's Z series must go around.
    with write_tx(engine) as conn:
        conn.execute(
            doc_series.update()
            .where(doc_series.c.terminal_id == "T01", doc_series.c.kind == "customer")
            .values(prefix="S01-T02-Z")
        )
        numbering.remember(
            conn, [{"terminal_id": "T01", "kind": "customer", "prefix": "S01-T02-Z"}]
        )
    assert schema_version.upgrade(engine).applied == schema_version.since("0009")
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main")
    assert schema_of(engine) == schema_of(fresh)
    fresh.dispose()

    assert _z_series(engine) == {"T01": "S01-T01-Z", "T02": "S01-T02-ZA"}
    logged = [r for r in _logged(engine, "doc_series") if r["kind"] == numbering.Z_REPORT]
    assert [(r["terminal_id"], r["prefix"], r["start_no"]) for r in logged] == [
        ("T01", "S01-T01-Z", 1),
        ("T02", "S01-T02-ZA", 1),
    ]
    with read_tx(engine) as conn:
        remembered = conn.execute(
            sa.select(doc_series_used.c.terminal_id, doc_series_used.c.prefix).where(
                doc_series_used.c.kind == numbering.Z_REPORT
            )
        ).all()
    assert sorted(remembered) == [("T01", "S01-T01-Z"), ("T02", "S01-T02-ZA")]
    # A till added after the upgrade gets all four series as usual.
    store_admin.add_terminal(engine, "T03")
    assert _z_series(engine)["T03"] == "S01-T03-Z"
    engine.dispose()


def test_a_till_database_invents_no_series(release_0008: Path, tmp_path: Path) -> None:
    """A till's database holds its series as the store sent them and has given none:
    the upgrade adds no Z series there (the store's comes down with the next sync)."""
    db = f"sqlite:///{tmp_path / 'till.db'}"
    release.run(release_0008, "store", "init", "--db", db, "--store", "S01", "--name", "Main")
    engine = open_engine(db)
    with write_tx(engine) as conn:  # a till's picture: its series, none given here
        conn.execute(
            sa.text(
                "INSERT INTO pos_terminal (terminal_id, store_id, name, offline_enabled) "
                "VALUES ('T01', 'S01', 'T01', 1)"
            )
        )
        conn.execute(
            doc_series.insert(),
            [s for s in numbering.default_series("S01", "T01") if s["kind"] != "z_report"],
        )
    schema_version.upgrade(engine)
    assert _z_series(engine) == {}
    engine.dispose()

"""Schema 0008 (the store's locale and time zone): a store made by the code of
schema 0007 (read from git history), with its store row still in the change log, is
upgraded. Its schema is a new one's; the store keeps English and UTC until it is
given a locale, the logged row has both new columns (empty), and a till set up from
the upgraded store writes amounts the store's way once the store has a locale."""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from possync.retail import schema_version, store_admin
from possync.retail.schema import store
from possync.retail.store_locale import StoreLocale
from possync.sync.db import open_engine, read_tx
from tests.upgrade import release
from tests.upgrade.test_schema import _logged, schema_of

pytestmark = pytest.mark.e2e

# schema 0007, sync protocol 4 without store.locale and store.time_zone
COMMIT = "f065d9d690549f3765d986a7e3e409f7e88438d0"


@pytest.fixture(scope="module")
def release_0007(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = release.from_git(COMMIT)
    if archive is None:
        pytest.skip("no git history in this clone to take schema 0007's code from")
    dest = tmp_path_factory.mktemp("schema-0007")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def test_a_schema_0007_store_upgrades_and_takes_a_locale(
    release_0007: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    release.run(release_0007, "store", "init", "--db", db, "--store", "S01", "--name", "Main")
    release.run(release_0007, "store", "details", "--db", db, "--address", "1 rue de la Paix")
    engine = open_engine(db)
    assert schema_version.upgrade(engine).applied == schema_version.since("0008")
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    store_admin.init_store(fresh, "S01", "Main")
    assert schema_of(engine) == schema_of(fresh)
    fresh.dispose()

    with read_tx(engine) as conn:
        row = conn.execute(sa.select(store)).one()
    assert (row.address, row.locale, row.time_zone) == ("1 rue de la Paix", None, None)
    assert StoreLocale.of(row).money(1250) == "€12.50"  # as before the upgrade
    logged = _logged(engine, "store")
    assert logged and all(r["locale"] is None and r["time_zone"] is None for r in logged)

    store_admin.set_details(engine, locale="fr_FR", time_zone="Europe/Paris")
    newest = _logged(engine, "store")[-1]
    assert (newest["locale"], newest["time_zone"]) == ("fr_FR", "Europe/Paris")
    with read_tx(engine) as conn:
        shop = StoreLocale.of(conn.execute(sa.select(store)).one())
    assert shop.money(123450) == "1\u202f234,50\u00a0€"
    # 00:57 in Paris on 2 December is the 2nd's sale, though the 1st's in UTC.
    assert str(shop.business_day("2026-12-01T23:57:00.000Z")) == "2026-12-02"
    engine.dispose()

"""The catalog import as spreadsheets export it, what it reports, and the one set of
item rules the console's form and the import share (issues 14 and 15)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from possync.retail import catalog, master_data, store_admin
from possync.retail.errors import FieldErrors
from possync.retail.schema import item
from possync.sync.db import open_engine, read_tx, write_tx

HEADER = "sku,barcode,name,price,tax_code\n"


@pytest.fixture
def store(db_url: str) -> sa.Engine:
    engine = open_engine(db_url)
    store_admin.init_store(engine, "S01", "Shop")
    return engine


def _import(store: sa.Engine, data: bytes | str) -> catalog.ImportReport:
    with write_tx(store) as conn:
        return catalog.import_catalog(conn, data)


def _items(store: sa.Engine) -> dict[str, tuple[str | None, str, int]]:
    with read_tx(store) as conn:
        rows = conn.execute(sa.select(item.c.sku, item.c.barcode, item.c.name, item.c.price))
        return {r.sku: (r.barcode, r.name, r.price) for r in rows}


def _save(store: sa.Engine, sku: str, *, new: bool = False, **fields: str) -> None:
    form = {"name": "Pear", "barcode": "", "price": "1.00", "tax_code": "STD", **fields}
    with write_tx(store) as conn:
        master_data.save_item(conn, sku, **form, active=True, new=new)


def test_spreadsheet_exports_are_read_and_say_how(store: sa.Engine) -> None:
    # Windows-1252 with semicolons and decimal commas, as a French spreadsheet saves it
    latin = (
        "sku;barcode;name;price;tax_code\r\nC1;111;Crème brûlée;3,50;RED\r\nC2;;Café €;1,2;STD\r\n"
    )
    report = _import(store, latin.encode("cp1252"))
    assert (report.encoding, report.separator) == ("Windows-1252 (Latin-1)", ";")
    assert report.summary().startswith(
        "Imported 2 items (read as Windows-1252 (Latin-1), separated by semicolons): 2 added"
    )
    assert _items(store) == {"C1": ("111", "Crème brûlée", 350), "C2": (None, "Café €", 120)}
    # UTF-8 with its byte-order mark, tab-separated
    tabbed = "sku\tbarcode\tname\tprice\ttax_code\nC3\t333\tÆble\t0,99\tZERO\n"
    report = _import(store, b"\xef\xbb\xbf" + tabbed.encode())
    assert (report.encoding, report.separator, report.added) == ("UTF-8 with BOM", "\t", ["C3"])
    assert _items(store)["C3"] == ("333", "Æble", 99)
    # with commas, a decimal comma is a field of its own: refused, nothing imported
    with pytest.raises(catalog.CatalogError) as refused:
        _import(store, HEADER + 'C4,,Tea,"1,50",STD\nC5,,Milk,1.10,STD\n')
    assert refused.value.errors == ["line 2: price: not an amount: '1,50' (write it like 12.50)"]
    # neither is a thousands separator read with semicolons
    with pytest.raises(
        catalog.CatalogError, match=re.escape("line 2: price: not an amount: '1.234,50'")
    ):
        _import(store, "sku;barcode;name;price;tax_code\nC4;;Tea;1.234,50;STD\n")
    with pytest.raises(catalog.CatalogError, match="separated by commas, semicolons or tabs"):
        _import(store, "sku|barcode|name|price|tax_code\n")
    assert set(_items(store)) == {"C1", "C2", "C3"}


def test_a_reimport_reports_every_change_even_one_the_file_takes_back(store: sa.Engine) -> None:
    file = HEADER + "A,111,Apple,1.20,RED\nB,222,Bread,2.40,STD\n"
    assert _import(store, file).added == ["A", "B"]
    _save(store, "A", name="Apple", barcode="111", price="1.25", tax_code="RED")  # console
    _save(store, "Z", new=True, name="Zest", price="0.50")
    again = _import(store, file)
    assert [c.describe() for c in again.changed] == ["A (Apple): price 1.25 -> 1.20"]
    assert (again.added, again.unchanged, again.not_in_file) == ([], 1, 1)
    assert "1 changed, 1 unchanged; 1 items not in the file left as they were" in again.summary()
    assert again.details() == ["changed A (Apple): price 1.25 -> 1.20"]
    edited = HEADER + "A,111,Green apple,1.20,STD\nB,,Bread,2.40,STD\n"
    said = [c.describe() for c in _import(store, edited).changed]
    assert said == [
        "A (Green apple): name Apple -> Green apple, tax_code RED -> STD",
        "B (Bread): barcode 222 -> (none)",
    ]
    unchanged = _import(store, edited)
    assert (unchanged.changed, unchanged.added, unchanged.unchanged) == ([], [], 2)


def test_a_barcode_belongs_to_one_item(store: sa.Engine) -> None:
    _import(store, HEADER + "A,111,Apple,1.20,RED\nB,222,Bread,2.40,STD\n")
    with pytest.raises(catalog.CatalogError) as refused:
        _import(store, HEADER + "C,111,Cake,3.00,STD\nD,444,Dates,1,STD\nE,444,Eggs,2,STD\n")
    assert refused.value.errors == [
        "line 2: barcode 111 is already item A's (Apple)",
        "line 4: barcode 444 is already item D's (Dates) (line 3)",
    ]
    # the console's form says the same, beside the barcode
    with pytest.raises(FieldErrors) as form:
        _save(store, "C", new=True, name="Cake", barcode="111")
    assert form.value.errors == {"barcode": "barcode 111 is already item A's (Apple)"}
    with pytest.raises(FieldErrors, match="already item A's"):
        _save(store, "B", name="Bread", barcode="111")
    # a file may move a barcode from one item to another
    _import(store, HEADER + "A,999,Apple,1.20,RED\nB,111,Bread,2.40,STD\n")
    assert _items(store)["B"][0] == "111"
    # items that shared a barcode before the rule stay editable, as long as they keep it
    with write_tx(store) as conn:
        conn.execute(
            item.insert().values(
                sku="OLD", barcode="111", name="Old", price=1, tax_code="STD", active=True
            )
        )
    _save(store, "OLD", name="Old one", barcode="111")
    assert _import(store, HEADER + "OLD,111,Old,0.02,STD\n").changed[0].changes == {
        "name": ("Old one", "Old"),
        "price": ("1.00", "0.02"),  # as saved in the console
    }
    assert _items(store)["A"][0] == "999"


def test_the_form_and_the_import_apply_one_set_of_rules(store: sa.Engine) -> None:
    for sku, name, price, tax_code in [
        ("N1", "", "1.00", "STD"),
        ("N1", "Nut", "1.505", "STD"),
        ("N1", "Nut", "-1", "XX"),
        ("N 1", "Nut", "abc", "STD"),
        ("x" * 33, "n" * 201, "1", "STD"),
    ]:
        with pytest.raises(FieldErrors) as form:
            _save(store, sku, new=True, name=name, price=price, tax_code=tax_code)
        with pytest.raises(catalog.CatalogError) as csv_file:
            _import(store, HEADER + f"{sku},,{name},{price},{tax_code}\n")
        [line] = csv_file.value.errors
        assert line == "line 2: " + "; ".join(form.value.errors.values())
    assert form.value.errors == {
        "sku": "sku must be 1 to 32 characters",
        "name": "name must be 1 to 200 characters",
    }
    assert _items(store) == {}

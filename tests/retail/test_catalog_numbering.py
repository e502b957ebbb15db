from __future__ import annotations

import pytest

from possync.retail import catalog, numbering
from possync.retail.errors import RetailError

CODES = {"STD", "RED"}


def test_catalog_rows_are_parsed_exactly() -> None:
    rows = catalog.parse(["sku,barcode,name,price,tax_code", "A1,,Apple,1.5,RED"], CODES)
    assert rows == [
        {
            "sku": "A1",
            "barcode": None,
            "name": "Apple",
            "price": 150,
            "tax_code": "RED",
            "active": True,
        }
    ]


def test_catalog_errors_name_every_bad_line() -> None:
    lines = [
        "sku,barcode,name,price,tax_code",
        "A1,1,Apple,1.50,RED",
        "A2,2,Pear,1.505,RED",
        "A1,3,Dup,1,STD",
        "A4,4,Bad tax,1,XXX",
        "A5,5,Short",
    ]
    with pytest.raises(catalog.CatalogError) as refused:
        catalog.parse(lines, CODES)
    assert refused.value.errors == [
        "line 3: price: '1.505' has more than 2 decimals",
        "line 4: sku 'A1' already on line 2",
        "line 5: unknown tax code 'XXX' (known: RED, STD)",
        "line 6: expected 5 fields, got 3",
    ]


def test_catalog_header_is_checked() -> None:
    with pytest.raises(catalog.CatalogError, match="line 1: expected the header"):
        catalog.parse(["sku,name,price"], CODES)


@pytest.mark.parametrize(
    ("a", "b", "clash"),
    [
        ("S1-T1-", "S1-T2-", False),
        ("S1-T1-", "S1-T1-R", False),
        ("S1-T1-", "S1-T1-5", True),
        ("S1-T1-", "S1-T1-", True),
        ("S1-T", "S1-T1-", False),
    ],
)
def test_series_that_could_issue_the_same_number_are_refused(a: str, b: str, clash: bool) -> None:
    series = [
        {"terminal_id": "T1", "kind": "receipt", "prefix": a},
        {"terminal_id": "T2", "kind": "receipt", "prefix": b},
    ]
    if clash:
        with pytest.raises(RetailError, match="could issue the same numbers"):
            numbering.check_prefixes(series)
    else:
        numbering.check_prefixes(series)

"""The receipt's Code 128 barcode: reading the SVG's bars back (as a scanner would:
widths, symbols, checksum, code sets) gives exactly the receipt number."""

from __future__ import annotations

import re
from itertools import groupby

import pytest

from possync.retail import barcode


def bars_of(svg: str) -> str:
    """The SVG's bars as modules ('1' bar, '0' space), quiet zones included."""
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg)[1])
    modules = ["0"] * width
    for x, w in re.findall(r"M(\d+) 0h(\d+)v", svg):
        for i in range(int(x), int(x) + int(w)):
            assert modules[i] == "0", "bars overlap"
            modules[i] = "1"
    return "".join(modules)


def decode(modules: str) -> str:
    """A Code 128 reader of code sets B and C: checks the quiet zones, the start,
    the checksum and the stop, and returns the text."""
    assert modules[: barcode.QUIET] == "0" * barcode.QUIET, "no quiet zone before"
    assert modules[-barcode.QUIET :] == "0" * barcode.QUIET, "no quiet zone after"
    body = modules[barcode.QUIET : -barcode.QUIET]
    widths = "".join(str(len(list(run))) for _, run in groupby(body))
    assert widths.endswith(barcode.PATTERNS[barcode.STOP]), "no stop pattern"
    widths = widths[: -len(barcode.PATTERNS[barcode.STOP])]
    assert len(widths) % 6 == 0
    value_of = {p: v for v, p in enumerate(barcode.PATTERNS[: barcode.STOP])}
    values = [value_of[widths[i : i + 6]] for i in range(0, len(widths), 6)]
    *data, check = values
    assert check == (data[0] + sum(i * v for i, v in enumerate(data[1:], 1))) % 103
    code_set = {barcode.START_B: "B", barcode.START_C: "C"}[data[0]]
    text = ""
    for v in data[1:]:
        if v in (barcode.CODE_B, barcode.CODE_C) and not (code_set == "C" and v == 99):
            code_set = "B" if v == barcode.CODE_B else "C"
        elif code_set == "B":
            text += chr(v + 32)
        else:
            text += f"{v:02d}"
    return text


def test_the_table_is_code_128s() -> None:
    """Spot values as ISO/IEC 15417 prints them, and the rules every symbol keeps:
    11 modules, an even number of bar modules, all different (a typo in the table
    breaks at least one of these)."""
    anchors = {0: "212222", 33: "111323", 99: "113141", 100: "114131", 104: "211214"}
    assert {v: barcode.PATTERNS[v] for v in anchors} == anchors
    assert barcode.PATTERNS[barcode.STOP] == "2331112"
    assert barcode.PATTERNS[barcode.START_C] == "211232"
    assert len(barcode.PATTERNS) == 107 and len(set(barcode.PATTERNS)) == 107
    for pattern in barcode.PATTERNS[: barcode.STOP]:
        widths = [int(w) for w in pattern]
        assert sum(widths) == 11 and sum(widths[0::2]) % 2 == 0, pattern


@pytest.mark.parametrize(
    "number",
    [
        "S01-T01-000042",  # the default series: a run of digits at the end, in code set C
        "S01-T01-R000007",
        "S01-T01-0000042",  # an odd run: one digit in B, the rest in C
        "123456",  # digits only: starts in C
        "12345",
        "AB-123456-CD",  # a run inside
        "x 1234 y",  # a short run inside stays in B
        "Shop~{Z}-9",
    ],
)
def test_the_bars_read_back_as_the_number(number: str) -> None:
    svg = barcode.svg(number)
    assert svg is not None
    assert decode(bars_of(svg)) == number


def test_digit_runs_are_packed_in_code_set_c() -> None:
    values = barcode.symbols("S01-T01-000042")
    assert values[0] == barcode.START_B
    assert values[9:13] == [barcode.CODE_C, 0, 0, 42]  # "000042" in three symbols
    assert barcode.symbols("123456")[:4] == [barcode.START_C, 12, 34, 56]


def test_what_cannot_be_encoded_gets_no_barcode() -> None:
    for text in ("", "Caisse-é-0001", "tab\there", "x" * (barcode.MAX_LENGTH + 1)):
        assert barcode.svg(text) is None
        with pytest.raises(ValueError):
            barcode.symbols(text)


def test_the_svg_is_safe_markup() -> None:
    """No script, no style attribute (the CSP blocks them); the text escaped."""
    svg = barcode.svg('A"<b>&1')
    assert svg is not None
    assert "<b>" not in svg and "style=" not in svg and "<script" not in svg
    assert 'aria-label="Barcode of A&quot;&lt;b&gt;&amp;1"' in svg
    assert decode(bars_of(svg)) == 'A"<b>&1'

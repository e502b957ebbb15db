"""Code 128 barcodes of document numbers, drawn as inline SVG for the receipt.

The receipt prints its number as a barcode that the Returns screen scans: a
scanner types what the bars encode, followed by Enter, into the focused field, so
the bars hold exactly the receipt number and nothing else. Code 128 is the
standard for alphanumeric numbers; its code set B holds printable ASCII, and code
set C two digits per symbol, which keeps the long run of digits at the end of a
number (``S01-T01-000042``) short enough for a till roll.

Drawn on the server as a small SVG (one path of bars, colours as presentation
attributes): no script, no inline style, no font, nothing fetched, so the screen's
Content-Security-Policy lets it through and it prints as it shows. We draw it
ourselves rather than add a dependency: the symbology is a table and a checksum,
and the SVG writers of barcode libraries put colours in ``style`` attributes,
which that policy blocks.
"""

from __future__ import annotations

from html import escape
from itertools import groupby

# The bar and space widths (in modules, bar first) of each symbol value 0..105,
# then the stop pattern (106), as ISO/IEC 15417 lists them. Every symbol is 11
# modules wide, with an even number of bar modules; the stop is 13 modules.
PATTERNS: tuple[str, ...] = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312",
    "132212", "221213", "221312", "231212", "112232", "122132", "122231", "113222",
    "123122", "123221", "223211", "221132", "221231", "213212", "223112", "312131",
    "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321",
    "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121",
    "313121", "211331", "231131", "213113", "213311", "213131", "311123", "311321",
    "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224",
    "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113",
    "114311", "411113", "411311", "113141", "114131", "311141", "411131", "211412",
    "211214", "211232", "2331112",
)  # fmt: skip
CODE_C, CODE_B = 99, 100  # switch to code set C / B
START_B, START_C = 104, 105
STOP = 106
QUIET = 10  # modules of blank on each side, which scanners need to find the ends
MAX_LENGTH = 80  # characters: a receipt number is at most 40


def encodable(text: str) -> bool:
    """Code set B holds printable ASCII (space to tilde); a number made of other
    characters (a custom series prefix may hold any) gets no barcode."""
    return 0 < len(text) <= MAX_LENGTH and all(32 <= ord(c) <= 126 for c in text)


def _digits_from(text: str, i: int) -> int:
    end = i
    while end < len(text) and text[end].isdigit() and text[end].isascii():
        end += 1
    return end - i


def symbols(text: str) -> list[int]:
    """The symbol values of ``text``: start, data, checksum, stop. Runs of digits
    go in code set C where that is shorter (four or more at either end, six or more
    inside), the rest in code set B."""
    if not encodable(text):
        raise ValueError(f"not encodable in Code 128 B/C: {text!r}")
    values: list[int] = []
    current: int | None = None  # CODE_B or CODE_C once started

    def switch(to: int) -> None:
        nonlocal current
        if current != to:
            values.append({CODE_B: START_B, CODE_C: START_C}[to] if current is None else to)
            current = to

    i = 0
    while i < len(text):
        run = _digits_from(text, i)
        at_an_end = i == 0 or i + run == len(text)
        if run >= (4 if at_an_end else 6):
            if run % 2:  # an odd run: its first digit in set B, the pairs in C
                switch(CODE_B)
                values.append(ord(text[i]) - 32)
                i += 1
                run -= 1
            switch(CODE_C)
            values.extend(int(text[j : j + 2]) for j in range(i, i + run, 2))
            i += run
        else:
            switch(CODE_B)
            values.append(ord(text[i]) - 32)
            i += 1
    check = (values[0] + sum(place * v for place, v in enumerate(values[1:], 1))) % 103
    return [*values, check, STOP]


def modules(text: str) -> str:
    """The bars of ``text`` as one character per module: '1' bar, '0' space (quiet
    zones not included)."""
    out = []
    for value in symbols(text):
        for k, width in enumerate(PATTERNS[value]):
            out.append(("1" if k % 2 == 0 else "0") * int(width))
    return "".join(out)


def svg(text: str, *, height: int = 40) -> str | None:
    """An inline SVG of ``text``'s barcode, one unit per module (the page sets its
    size), or None if ``text`` cannot be encoded. Built only from the bars' numbers
    and ``text`` escaped: safe to place in a page as markup."""
    if not encodable(text):
        return None
    bars = modules(text)
    width = len(bars) + 2 * QUIET
    path = []
    x = QUIET
    for module, run in groupby(bars):
        width_of_run = len(list(run))
        if module == "1":
            path.append(f"M{x} 0h{width_of_run}v{height}h-{width_of_run}z")
        x += width_of_run
    label = escape(f"Barcode of {text}", quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="barcode" role="img" '
        f'aria-label="{label}" viewBox="0 0 {width} {height}" width="{width * 2}" '
        f'height="{height * 2}" preserveAspectRatio="none" shape-rendering="crispEdges" '
        f'data-code="{escape(text, quote=True)}">'
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(path)}"/></svg>'
    )

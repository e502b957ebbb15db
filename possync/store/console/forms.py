"""Reading HTML forms: plain strings in, field errors out. ``FormFields`` is the
form as a dependency: reading it is awaited, so FastAPI does that before it calls
the page's plain ``def`` handler (see base.py)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request

MAX_FIELD = 10_000


async def form_data(request: Request) -> dict[str, str]:
    """The form's text fields (files are read by the pages that take them)."""
    form = await request.form()
    return {k: v[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_data)]


def parse_int(form: dict[str, str], name: str, errors: dict[str, str]) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    if not _INT.fullmatch(text):
        errors[name] = "a whole number"
        return None
    return int(text)


# A sign and at most 15 ASCII digits: str.isdigit() would also let "²" reach int(),
# which refuses it with an uncaught ValueError (a 500).
_INT = re.compile(r"[+-]?[0-9]{1,15}", re.ASCII)

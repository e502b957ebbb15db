"""Reading HTML forms: plain strings in, field errors out."""

from __future__ import annotations

from fastapi import Request

MAX_FIELD = 10_000


async def form_data(request: Request) -> dict[str, str]:
    """The form's text fields (files are read by the pages that take them)."""
    form = await request.form()
    return {k: v[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}


def parse_int(form: dict[str, str], name: str, errors: dict[str, str]) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    if not text.lstrip("-").isdigit() or len(text) > 15:
        errors[name] = "a whole number"
        return None
    return int(text)

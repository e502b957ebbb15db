"""The routes an app serves, read from its route table (``app.routes``), and the
requests the authorisation matrix makes of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

MOUNT = "MOUNT"  # a mounted app (static files): every path under it


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, through included routers; a mount as
    (MOUNT, its path). HEAD, which Starlette adds to every GET, is left out."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        path = context.path
        if isinstance(context.original_route, Mount):
            found.add((MOUNT, path))
            continue
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, path))
    return found


@dataclass(frozen=True)
class Call:
    """A request of a route: ``url`` with the path parameters filled in."""

    url: str
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)

    def kwargs(self) -> Iterator[tuple[str, Any]]:
        if self.json is not None:
            yield "json", self.json
        if self.form:
            yield "data", self.form

"""The consoles' handler convention (possync/store/console/base.py): every page of
the store console and of head office's is a plain ``def``, which FastAPI runs in its
threadpool; what must be awaited (the form, the CSRF check) is a dependency. An
``async def`` page would run its queries on the event loop, or nest them in
``run_in_threadpool`` again."""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

import possync
from possync.headoffice.app import create_app as head_office_app
from possync.retail import chain
from possync.store.app import create_app as store_app
from possync.store.console.base import ConsoleSettings
from possync.sync.db import open_engine
from possync.webui.console_setup import is_console_page
from tests.e2e.helpers import make_store

CONSOLE_CODE = ("store/console", "headoffice/console", "webui")


def console_pages(app: FastAPI) -> dict[str, object]:
    """'METHOD path' -> handler, of every console page the app serves."""
    found: dict[str, object] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and is_console_page(context.path):
            for method in context.methods or ():
                found[f"{method} {context.path}"] = route.endpoint
    return found


def test_every_console_page_is_a_plain_def(tmp_path: Path) -> None:
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", items=5)
    head_office = open_engine(f"sqlite:///{tmp_path / 'ho.db'}")
    chain.init_head_office(head_office, "Acme Retail")
    apps = {
        "store": store_app(store, ConsoleSettings(backup_dir=tmp_path / "backups")),
        "head office": head_office_app(head_office),
    }
    for name, app in apps.items():
        pages = console_pages(app)
        assert "POST /console/login" in pages and len(pages) > 10, (name, sorted(pages))
        awaited = [page for page, handler in pages.items() if inspect.iscoroutinefunction(handler)]
        assert awaited == [], f"{name}: async handlers, against the convention"
    store.dispose()
    head_office.dispose()


def test_no_console_module_hops_to_the_threadpool_itself() -> None:
    package = Path(possync.__file__).parent
    hopping = [
        str(path.relative_to(package))
        for part in CONSOLE_CODE
        for path in (package / part).glob("*.py")
        if "run_in_threadpool(" in path.read_text()
    ]
    assert hopping == []

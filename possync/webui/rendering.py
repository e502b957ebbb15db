"""Jinja2 templates and static assets for server-rendered pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

SHARED = Path(__file__).parent
STATIC_URL = "/static/ui"
HTMX = "htmx-2.0.11.min.js"


def templates(app_templates: Path, **globals_: Any) -> Jinja2Templates:
    """Templates of one app, able to extend and import the shared ones."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(app_templates), jinja2.FileSystemLoader(SHARED / "templates")]
        ),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the test, not the page
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=STATIC_URL, htmx=f"{STATIC_URL}/{HTMX}", **globals_)
    return Jinja2Templates(env=env)


def mount_static(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=SHARED / "static"), name="ui-static")

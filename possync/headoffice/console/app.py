"""Mounting head office's console on its server: the sign-in and furniture every
console shares (possync/webui/console_setup.py), then head office's pages."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI

from possync.headoffice.console import dashboard, stock, stores
from possync.headoffice.console.nav import NAV
from possync.headoffice.console.settings import SESSION_COOKIE, ConsoleSettings
from possync.webui import console_setup, rendering
from possync.webui.console import Console

TEMPLATES = Path(__file__).parent / "templates"


def install_console(app: FastAPI, engine: sa.Engine, settings: ConsoleSettings) -> None:
    templates = rendering.templates(TEMPLATES, nav=NAV, console_name="head office")
    console = Console(engine, settings, templates, session_cookie=SESSION_COOKIE)
    console_setup.mount(app, console)
    for module in (dashboard, stores, stock):
        app.include_router(module.router)

"""What every console page builds on: its settings, the page renderer and the
redirect with a one-time message. The page modules import this, never app.py,
which mounts them: imports point from app.py to the pages to here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

FLASH_COOKIE = "possync_flash"


@dataclass(frozen=True)
class ConsoleSettings:
    # A terminal not heard from for longer than this is flagged on the dashboard.
    stale_after: float = 15 * 60
    # Within this, a terminal counts as connected (it syncs every minute by default).
    connected_within: float = 3 * 60
    dashboard_refresh: int = 5  # seconds between the dashboard's own refreshes
    # Where offline backups made from the console wait to be downloaded.
    backup_dir: Path = field(default_factory=lambda: Path("possync-backups"))
    # "auto": cookies are Secure when the console is reached over HTTPS.
    secure_cookies: str = "auto"


class SignInRequired(Exception):
    pass


@dataclass
class Console:
    engine: sa.Engine
    settings: ConsoleSettings
    templates: Any

    def render(
        self,
        request: Request,
        template: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        session = getattr(request.state, "console_session", None)
        flash = request.cookies.get(FLASH_COOKIE)
        level, _, text = unquote(flash or "").partition("|")
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "admin": session.username if session else None,
                "csrf_token": session.csrf_token if session else "",
                "flash": text,
                "flash_level": level if level in ("ok", "bad", "warn") else "ok",
                "path": request.url.path,
                "errors": {},
                **context,
            },
            status_code=status,
            headers=headers,
        )
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/console")
        return response


def redirect(url: str, flash: str | None = None, level: str = "ok") -> RedirectResponse:
    """Post/redirect/get, carrying a one-time message to the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE,
            quote(f"{level}|{flash}"),
            path="/console",
            httponly=True,
            samesite="strict",
        )
    return response


def console_of(request: Request) -> Console:
    return request.app.state.console

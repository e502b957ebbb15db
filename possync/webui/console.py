"""What every page of a management console builds on (the store's and head
office's): the console object with its renderer, the redirect with a one-time
message, and the two refusals the sign-in guard raises. Each app's settings are
its own; the sign-in reads only their ``secure_cookies``. How a console's page
handlers are written (plain ``def``, what is awaited in dependencies) is in
possync/store/console/base.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from possync.sync.clock import seconds_since

FLASH_COOKIE = "possync_flash"
SESSION_COOKIE = "possync_console"  # the store console's; head office names its own


class SignInRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


@dataclass
class Console:
    engine: sa.Engine
    settings: Any  # the app's own settings; each has ``secure_cookies`` ("auto"/"always")
    templates: Any
    # Cookies are not kept apart by port: a store console and head office's on one
    # host would sign each other out if their sessions had the same name.
    session_cookie: str = SESSION_COOKIE

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


def ago(stamp: str | None) -> str:
    """'3 min ago' for people; pages put the exact time in a title attribute."""
    if not stamp:
        return "never"
    s = max(seconds_since(stamp), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{int(s // size)} {unit} ago"
    return f"{int(s)} s ago"

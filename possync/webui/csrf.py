"""CSRF tokens for forms and htmx requests.

Signed-in pages use the token stored with the session (synchroniser token). The
sign-in form itself has no session yet: it uses a double-submit cookie, so that a
page elsewhere cannot sign a browser into an account of the attacker's choosing.
Cookies are SameSite=Strict as well; the token is the check that does not depend
on the browser.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "possync_login_csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def submitted_token(request: Request) -> str:
    """The token sent with a request: the htmx header, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


def same(expected: str | None, given: str) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a
    # 500), and a forged token or cookie may hold any.
    return (
        bool(expected)
        and bool(given)
        and hmac.compare_digest((expected or "").encode(), given.encode())
    )


def is_https(request: Request) -> bool:
    """Reached over HTTPS. Behind a TLS-terminating proxy on the same host, uvicorn
    takes the scheme from X-Forwarded-Proto (it trusts 127.0.0.1 by default)."""
    return request.url.scheme == "https"

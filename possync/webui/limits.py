"""Bounding request bodies before anything parses them (pure ASGI middleware).

Starlette's ``request.form()`` reads a urlencoded body whole into memory, and a
page's CSRF check can only run once the form is read. So without a bound, anyone
who can reach the sign-in page can make the server hold hundreds of megabytes
before being refused. This middleware refuses a body over its limit with 413: at
once when ``Content-Length`` declares it, else as soon as the streamed bytes (chunked
transfer) pass the limit, so at most ``limit`` bytes of it are ever read.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB


class BodyTooLarge(Exception):
    """Raised into the app by ``receive`` when the streamed body passes the limit:
    the app stops reading, and whatever it answers is replaced by the 413."""


def _page(limit: int) -> bytes:
    size = f"{limit // MIB} MiB" if limit >= MIB else f"{limit // KIB} KiB"
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Too large</title>"
        f"<p>What was sent is larger than this page accepts ({size}). Nothing was read "
        "or changed. Go back and send less.</p></html>"
    ).encode()


class BodyLimit:
    """Refuse request bodies over ``limit_for(path)`` bytes on the paths it covers
    (``None``: a path it leaves alone, e.g. an API with limits of its own)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)  # the body is never read
            return

        received = 0
        exceeded = started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                # The app's answer to a body it never got whole (FastAPI turns an
                # error while reading a form into a 400): the 413 below replaces it.
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = _page(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    # the rest of the body is not read: this connection cannot be reused
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

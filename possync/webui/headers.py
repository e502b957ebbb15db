"""Security headers on the pages of a web app (pure ASGI middleware)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages load only their own files: no inline script or style, no eval, never in
# a frame (clickjacking), forms only to themselves.
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
PAGE_HEADERS = (
    (b"content-security-policy", CSP),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds ``headers`` to every response on the paths ``covers`` accepts (an app's
    error pages and refusals included), unless the response already sets them."""

    def __init__(
        self,
        app: ASGIApp,
        covers: Callable[[str], bool],
        headers: tuple[tuple[bytes, bytes], ...] = PAGE_HEADERS,
    ) -> None:
        self.app = app
        self.covers = covers
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.covers(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.headers if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

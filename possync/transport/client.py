"""The client a child node uses to talk to its parent's sync API (httpx).

Every call goes through one ``httpx.Client``, so tests can hand it a transport
that routes to an in-process app, and production gets connection reuse.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from possync.sync.batch import Batch
from possync.transport import keepalive
from possync.transport.protocol import HEADER, INSTALLATION_HEADER
from possync.transport.protocol import parse as parse_protocol
from possync.transport.tls import PinMismatch


class Unreachable(Exception):
    """The parent could not be reached (down, network cut, timeout)."""


class Refused(Exception):
    """The parent answered with an error."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status, self.code, self.message, self.details = status, code, message, details


class ParentTooOld(Refused):
    """The parent speaks an older sync protocol than this node: it must be upgraded
    first. Raised before anything of its answer is used."""


def _certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that failed under an httpx error, if that is what it was."""
    seen: BaseException | None = exc
    for _ in range(10):  # httpx -> httpcore -> ssl
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@functools.cache
def _system_context() -> ssl.SSLContext:
    """The system's trusted CAs, loaded once per process: loading them takes about
    100 ms, which httpx would otherwise spend on every new client (every sync)."""
    return httpx.create_ssl_context()


class SyncClient:
    def __init__(
        self,
        base_url: str,
        node_id: str | None = None,
        secret: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        protocol: int | None = None,
        installation: str | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``protocol``: the sync protocol this node speaks, sent with every request
        and required of every answer (None: neither, for tools that only look);
        ``installation``: this node's installation id, sent with every request.
        ``verify``: how an https parent's certificate is checked (True: the system's
        trusted CAs; an SSLContext: e.g. only the store's own CA, or a
        ``tls.pinned_context``, which accepts one certificate by its fingerprint)."""
        auth = httpx.BasicAuth(node_id, secret) if node_id and secret else None
        self.base_url = base_url.rstrip("/")
        self.protocol = protocol
        headers = {HEADER: str(protocol)} if protocol is not None else {}
        if installation is not None:
            headers[INSTALLATION_HEADER] = installation
        self._http = httpx.Client(
            base_url=self.base_url + "/api/v1/",
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers=headers,
            verify=_system_context() if verify is True else verify,
            limits=httpx.Limits(keepalive_expiry=keepalive.CLIENT_SECONDS),  # keepalive.py
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, body: Any = None, **params: Any) -> Any:
        content = orjson.dumps(body) if body is not None else None
        headers = {"content-type": "application/json"} if content is not None else None
        try:
            response = self._http.request(
                method,
                path,
                content=content,
                headers=headers,
                params={k: v for k, v in params.items() if v is not None},
            )
        except httpx.TransportError as exc:
            untrusted = _certificate_error(exc)
            if isinstance(untrusted, PinMismatch):
                raise Unreachable(
                    f"cannot reach {self.base_url}: its TLS certificate is not the one pinned "
                    f"for this store ({untrusted.verify_message}); nothing was sent to it. If "
                    "the store's certificate was replaced, pin the new one (possync pos config "
                    "--pin sha256:..., as printed by 'possync store terminal add')"
                ) from exc
            if untrusted is not None:
                raise Unreachable(
                    f"cannot reach {self.base_url}: its TLS certificate is not trusted here "
                    f"({untrusted.verify_message}); give this node the CA certificate that "
                    "signed it (possync pos config --ca-file FILE), or pin the store's own "
                    "certificate (--pin sha256:..., printed by 'possync store terminal add')"
                ) from exc
            raise Unreachable(f"cannot reach {self.base_url}: {exc}") from exc
        self._check_protocol(response)
        if response.status_code >= 400:
            try:
                error = orjson.loads(response.content)["error"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                error = {"code": "http_error", "message": response.text[:200]}
            details = {k: v for k, v in error.items() if k not in ("code", "message")}
            raise Refused(
                response.status_code,
                error.get("code", "http_error"),
                error.get("message", ""),
                details,
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise Unreachable(f"{self.base_url} sent a truncated or invalid answer") from exc

    def _check_protocol(self, response: httpx.Response) -> None:
        if self.protocol is None:
            return
        theirs = parse_protocol(response.headers.get(HEADER))
        if theirs is not None and theirs >= self.protocol:
            return
        if HEADER not in response.headers and response.status_code >= 500:
            # A server that failed (or a proxy in front of it) says nothing of its
            # protocol: that is no sign of an old one. Reported as the failure it is.
            return
        said = (
            "no sync protocol (possync 0.1)"
            if HEADER not in response.headers
            else (f"sync protocol {response.headers[HEADER]!r}")
        )
        raise ParentTooOld(
            response.status_code,
            "parent_too_old",
            f"the server at {self.base_url} speaks {said}, older than this node's "
            f"protocol {self.protocol}: the server must be upgraded first. Until then "
            "this node keeps working offline and keeps every change for later",
            {"protocol": theirs, "needed": self.protocol},
        )

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def register(self, node_id: str, code: str) -> dict[str, Any]:
        return self._call("POST", "register", body={"node": node_id, "code": code})

    def push(self, batch: Batch) -> int:
        answer = self._call("POST", "sync/push", body=batch.to_wire())
        acknowledged = answer.get("acknowledged") if isinstance(answer, dict) else None
        if type(acknowledged) is not int:
            raise Unreachable("the parent's answer to a push has no acknowledgement")
        return acknowledged

    def receipt_for_return(self, receipt_no: str) -> Any | None:
        """A sale of this store, with the returns of it the parent holds, for the
        retail call ``GET pos/receipts/{no}`` (None: no such sale)."""
        try:
            return self._call("GET", f"pos/receipts/{quote(receipt_no, safe='')}")
        except Refused as exc:
            if exc.status == 404:
                return None
            raise

    def report_children(self, children: list[dict[str, Any]]) -> Any:
        """A relaying node tells its parent how its own children stand (dashboards)."""
        return self._call("POST", "relay/children", body={"children": children})

    def opening_stock(self, balances: list[dict[str, Any]]) -> Any:
        """A joining store's opening balance, which head office records itself."""
        return self._call("POST", "relay/opening-stock", body={"balances": balances})

    def rescue(self, batch: Batch) -> int:
        """Hand changes of this (refused) installation to the parent's quarantine."""
        answer = self._call("POST", "sync/rescue", body=batch.to_wire())
        held = answer.get("held") if isinstance(answer, dict) else None
        if type(held) is not int:
            raise Unreachable("the parent's answer to a rescue has no count")
        return held

    def pull(self, after: int, limit: int, head: int | None = None, mode: str | None = None) -> Any:
        """``head``: the head of this node's own log, so the parent knows how much
        it still has to receive from us; ``mode``: our working mode, for its
        dashboard."""
        return self._call("GET", "sync/pull", after=after, limit=limit, head=head, mode=mode)

    def lag(self, after: int) -> Any:
        """The parent's log head and how many of its changes wait for us."""
        return self._call("GET", "sync/lag", after=after)

    def start_load(self) -> Any:
        return self._call("POST", "sync/initial-load")

    def load_chunk(self, table: str, after_key: Any, limit: int) -> Any:
        after = orjson.dumps(after_key).decode() if after_key is not None else None
        return self._call("GET", f"sync/initial-load/{table}", after=after, limit=limit)

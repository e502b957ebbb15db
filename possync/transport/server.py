"""The sync API a parent node serves to its children (FastAPI).

Handlers stay thin: read and bound the body, authenticate, hand over to
:class:`possync.sync.parent.Parent`, and turn its errors into precise JSON errors.
Every refusal happens before anything is written, or inside a transaction that
is rolled back, so a refused request changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from possync import __version__
from possync.sync import peers
from possync.sync.batch import MAX_SEQ
from possync.sync.db import read_tx, write_tx
from possync.sync.errors import AuthenticationFailed, BadBatch, OutOfSequence, SyncError
from possync.sync.parent import Parent
from possync.sync.peers import Peer
from possync.transport import protocol
from possync.transport.attempts import CodeVoided, RegistrationGuard, TooManyFailures
from possync.transport.budget import ByteBudget
from possync.transport.errors import STATUS_BY_CODE

log = logging.getLogger("possync.api")

MAX_BODY_BYTES = 32 * 1024 * 1024
# Pushed bodies held at once per server process: one of the largest, or several
# smaller ones (see budget.py; measured in docs/benchmarks.md).
PUSH_BUDGET_BYTES = 32 * 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_response(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="possync"'} if status == 401 else {}
    if isinstance(details.get("retry_after"), int):
        headers["Retry-After"] = str(details["retry_after"])
    body = {"error": {"code": code, "message": message, **details}}
    return JSONResponse(body, status_code=status, headers=headers)


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"the body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "body_too_large", f"the body exceeds the limit of {limit} bytes")
    if not body:
        raise ApiError(400, "malformed_json", "the body is empty; expected a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None


def _declared_size(request: Request) -> int:
    """What a body will take: its Content-Length, or the limit if it declares none."""
    declared = request.headers.get("content-length")
    return min(int(declared), MAX_BODY_BYTES) if declared and declared.isdigit() else MAX_BODY_BYTES


def _credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationFailed(
            "missing credentials: send HTTP Basic auth with the node id and its secret"
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationFailed(f"unsupported authorization scheme {scheme!r}; use Basic")
    try:
        node, sep, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("malformed Basic credentials") from None
    if not sep or not node or not secret:
        raise AuthenticationFailed("malformed Basic credentials: expected node:secret")
    return node, secret


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, **exc.details)

    @app.exception_handler(SyncError)
    async def _sync_error(_: Request, exc: SyncError) -> JSONResponse:
        return error_response(
            STATUS_BY_CODE.get(exc.code, 400), exc.code, exc.message, **exc.details
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))


def current_parent(request: Request) -> Parent:
    return request.app.state.sync_parent


ParentNode = Annotated[Parent, Depends(current_parent)]


def _authenticate(parent: Parent, node: str, secret: str) -> Peer:
    if parent.engine.dialect.name == "sqlite":
        with read_tx(parent.engine) as conn:
            return peers.authenticate(conn, node, secret)
    # One statement needs no transaction around it: on PostgreSQL, BEGIN and COMMIT
    # are two more round trips, on every request.
    with parent.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return peers.authenticate(conn, node, secret)


async def credentials_only(request: Request, parent: ParentNode) -> Peer:
    node, secret = _credentials(request)
    return await run_in_threadpool(_authenticate, parent, node, secret)


async def authenticated(request: Request, parent: ParentNode) -> Peer:
    """The child, if its credentials are right and it is the installation its
    identity is bound to (a copy of it is refused: Parent.check_installation)."""
    peer = await credentials_only(request, parent)
    installation = protocol.installation(request.headers.get(protocol.INSTALLATION_HEADER))
    if installation is None or installation != peer.installation_id:
        await run_in_threadpool(parent.check_installation, peer, installation)
    return peer


AuthPeer = Annotated[Peer, Depends(authenticated)]


def peer_protocol(request: Request, parent: ParentNode) -> int:
    return protocol.requested(request.headers.get(protocol.HEADER), parent.spec)


PeerProtocol = Annotated[int, Depends(peer_protocol)]


def _record_error(parent: Parent, peer: Peer, exc: SyncError) -> None:
    try:
        with write_tx(parent.engine) as conn:
            peers.record_error(conn, peer.node_id, f"{exc.code}: {exc.message}")
    except Exception:  # bookkeeping must never hide the original error
        log.exception("could not record the error of %s", peer.node_id)


async def _guarded(
    parent: Parent,
    peer: Peer,
    fn: Any,
    *args: Any,
    not_an_error: Callable[[SyncError], bool] = lambda _: False,
) -> Any:
    """Run an engine call off the event loop; remember a refusal on the peer (shown on
    the dashboard until its next sync), unless ``not_an_error`` says the peer's sync
    is working and the refusal is part of it."""
    try:
        return await run_in_threadpool(fn, *args)
    except SyncError as exc:
        if not not_an_error(exc):
            await run_in_threadpool(_record_error, parent, peer, exc)
        raise


def _ahead_of_cursor(sent_after: Any) -> Callable[[SyncError], bool]:
    """Whether a push that starts after ``sent_after`` was refused only because it
    overtook the batch before it: out of sequence, starting beyond what this server
    has applied of the child. The child keeps two batches in flight (exchange.py);
    when the one before went to another worker process (or is still on its way), this
    one is refused and sent again once that one is acknowledged. The child's sync
    works: showing the refusal as its error would be a false alarm. (A child that
    finds this server behind what it once acknowledged, its database restored, is
    refused the same way and sends again from where it stands: no error either.)
    Any other refusal, and an out-of-sequence pull, is still recorded."""

    def refused_ahead(exc: SyncError) -> bool:
        expected = exc.details.get("expected_after")
        return (
            isinstance(exc, OutOfSequence)
            and type(expected) is int
            and type(sent_after) is int
            and expected < sent_after
        )

    return refused_ahead


@dataclass(frozen=True)
class SyncApi:
    """What the sync API's handlers share in one server process: the parent node,
    the push byte budget and the registration guard (see install_sync_api)."""

    parent: Parent
    pushes: ByteBudget
    registration_guard: RegistrationGuard


def install_sync_api(app: FastAPI, parent: Parent) -> SyncApi:
    """Serve ``parent``'s sync API on ``app`` (under /api/v1). The parent is kept as
    ``app.state.sync_parent``, where the application's own routes (the store's
    pos_api) find it too."""
    api = SyncApi(
        parent,
        # Pushed bodies in memory at once, per process (a 32 MiB body is held whole).
        ByteBudget(PUSH_BUDGET_BYTES),
        # Failed registrations, counted in the database (see attempts.py).
        RegistrationGuard(parent.engine),
    )
    app.state.sync_parent = parent
    app.state.sync_api = api
    app.include_router(router)
    return api


def current_api(request: Request) -> SyncApi:
    return request.app.state.sync_api


Api = Annotated[SyncApi, Depends(current_api)]
router = APIRouter(prefix="/api/v1")


@router.get("/health")
async def health(parent: ParentNode) -> dict[str, Any]:
    return {
        "status": "ok",
        "node": parent.node_id,
        "version": __version__,
        "protocol": parent.spec.protocol,
        "protocols": list(parent.spec.protocols),
    }


@router.post("/register")
async def register(request: Request, api: Api, _: PeerProtocol) -> Any:
    parent, registration_guard = api.parent, api.registration_guard
    body = await read_json(request, 64 * 1024)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("node"), str)
        or not isinstance(body.get("code"), str)
    ):
        raise BadBatch('expected {"node": <node id>, "code": <registration code>}')
    # Guessing codes: failures counted per client address, per node id and per
    # pending code, before the code is checked (see attempts.py).
    client = request.client.host if request.client else "unknown"
    try:
        attempt = await run_in_threadpool(registration_guard.admit, body["node"], client)
    except TooManyFailures as exc:
        raise ApiError(
            429,
            "too_many_attempts",
            "too many failed registrations from this address or for this node; "
            f"try again in {exc.retry_after} seconds",
            retry_after=exc.retry_after,
        ) from None
    except CodeVoided as exc:
        raise ApiError(429, "too_many_attempts", str(exc)) from None

    def _register() -> dict[str, Any]:
        # The code first, the same answer for an unknown node and a wrong code;
        # only the holder of the right code learns more (suspended, not allowed).
        with read_tx(parent.engine) as conn:
            matches = peers.code_matches(conn, body["node"], body["code"])
        if not matches:
            registration_guard.failed(attempt)  # the last try voids the code
            raise peers.registration_refused(body["node"])
        peer, secret = parent.register(body["node"], body["code"])
        return {
            "node": peer.node_id,
            "parent": parent.node_id,
            "secret": secret,
            "route_keys": list(peer.route_keys),
        }

    answer = await run_in_threadpool(_register)
    await run_in_threadpool(registration_guard.succeeded, attempt)
    return OrjsonResponse(answer)


@router.post("/sync/push")
async def push(request: Request, api: Api, peer: AuthPeer, _: PeerProtocol) -> Any:
    parent = api.parent
    async with api.pushes.hold(_declared_size(request)):  # see budget.py
        # Counted from before its body is read, so that a batch sent after this one
        # that reaches the apply first waits for it (sync/turns.py).
        with parent.turns.handling(peer.node_id):
            body = await read_json(request)  # the batch names the protocol of its rows
            sent_after = body.get("after") if isinstance(body, dict) else None
            acknowledged = await _guarded(
                parent,
                peer,
                parent.receive,
                peer,
                body,
                True,
                not_an_error=_ahead_of_cursor(sent_after),
            )
            del body
    return {"acknowledged": acknowledged}


@router.post("/sync/rescue")
async def rescue(request: Request, api: Api, _: PeerProtocol) -> Any:
    """A refused installation (a copy) hands its unsynced changes to the quarantine:
    authenticated by the node's credentials, not bound to its installation."""
    parent = api.parent
    peer = await credentials_only(request, parent)
    installation = protocol.installation(request.headers.get(protocol.INSTALLATION_HEADER))
    async with api.pushes.hold(_declared_size(request)):
        body = await read_json(request)
        held = await run_in_threadpool(parent.rescue, peer, body, installation)
    return {"held": held}


@router.get("/sync/pull")
async def pull(
    parent: ParentNode,
    peer: AuthPeer,
    speaks: PeerProtocol,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 2000,
    head: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    mode: Annotated[str | None, Query(pattern=r"^[a-z_]{1,16}$")] = None,
) -> Any:
    batch = await _guarded(parent, peer, parent.changes_for, peer, after, limit, head, mode, speaks)
    return OrjsonResponse(batch.to_wire())


@router.get("/sync/lag")
async def lag(
    parent: ParentNode, peer: AuthPeer, after: Annotated[int, Query(ge=0, le=MAX_SEQ)]
) -> Any:
    return await _guarded(parent, peer, parent.lag, peer, after)


@router.post("/sync/initial-load")
async def start_load(parent: ParentNode, peer: AuthPeer, speaks: PeerProtocol) -> Any:
    start = await _guarded(parent, peer, parent.start_load, peer, 20, speaks)
    return OrjsonResponse(
        {
            "cursor": start.cursor,
            "tables": start.tables,
            "counts": start.counts,
            "baselines": start.baselines,
        }
    )


@router.get("/sync/initial-load/{table}")
async def load_chunk(
    parent: ParentNode,
    peer: AuthPeer,
    speaks: PeerProtocol,
    table: str,
    # a JSON list of the last key's values: a few short strings and integers
    after: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 5000,
) -> Any:
    after_key = None
    if after is not None:
        try:
            after_key = orjson.loads(after)
        except orjson.JSONDecodeError:
            raise BadBatch("after: expected a JSON list of key values") from None
    rows, last, more = await _guarded(
        parent, peer, parent.load_chunk, peer, table, after_key, limit, speaks
    )
    return OrjsonResponse({"table": table, "rows": rows, "last_key": last, "more": more})

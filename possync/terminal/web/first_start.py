"""The till's first-start screen: what ``possync pos run`` serves on a till that is
not set up yet, then the hand-over to the cashier's screen.

As the original product asks it: run this till in offline mode? then
*Synchronize with Store* (store address, terminal id, registration code: the
registration here, then the initial load in the background with a progress bar,
resumable) or *Import Database* (a backup file and its import code). The same calls
as ``pos init`` and ``pos import``, with their messages.

Hand-over. ``pos run`` serves one ASGI app for its whole life, :class:`TillScreen`:
it routes every request to the first-start app until the till is set up, then
builds the cashier's screen (``create_app``) in the same process, runs its lifespan,
starts the sync agent (``on_ready``) and routes everything to it. Chosen over
stopping one uvicorn server and starting another on the same port: the port is
never closed (a page polling it never meets a refused connection), and nothing
about signals or TLS changes. Once handed over, every ``/first-start`` path answers
with a redirect to ``/``: a working till cannot be set up again from its screen.

Security. The screen is reachable before any cashier exists, so it is served under
the cashier's screen's rules (loopback unless TLS, checked by ``pos run``; its
Content-Security-Policy and body limits), each form carries a double-submit token
(as the sign-in form does), and codes are limited where they are checked: the store
limits registration codes (``too_many_attempts``), the till limits a backup's
import codes (``terminal/import_attempts.py``).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from possync.sync.backup_keys import BackupError
from possync.sync.errors import SyncError
from possync.terminal import provision, restore
from possync.terminal.local import TlsSetupError
from possync.terminal.web import first_start_jobs as jobs
from possync.terminal.web.app import SIGN_IN_LIMIT, STATIC_URL, ScreenHeaders
from possync.terminal.web.first_start_jobs import DONE, IDLE, REGISTERED, SetupJob
from possync.terminal.web.first_start_jobs import inspect as inspect_data
from possync.terminal.web.link import plain_error
from possync.terminal.web.sessions import set_cookie
from possync.transport.client import Refused, Unreachable
from possync.webui import csrf, rendering
from possync.webui.limits import MIB, BodyLimit

log = logging.getLogger("possync.first_start")

HERE = Path(__file__).parent
PREFIX = "/first-start"
COOKIE = "possync_pos_setup_csrf"  # not the sign-in's: each form its own token
# A backup of 50,000 items is under 1 MB; 64 MiB leaves room for well over a million
# items with their stock. Larger: ``possync pos import`` on the command line.
MAX_BACKUP_BYTES = 64 * MIB
SHOW_OUTCOME_FOR = 5.0  # seconds the outcome waits to be shown before the hand-over
YES, NO = "yes", "no"


def body_limit(path: str) -> int:
    """The import form carries the backup file; the others are a few short fields,
    posted by anyone who can reach the screen, so they get the sign-in's limit."""
    return MAX_BACKUP_BYTES + MIB if path == f"{PREFIX}/import" else SIGN_IN_LIMIT


@dataclass
class FirstStart:
    data_dir: Path
    job: SetupJob
    templates: Jinja2Templates


def _state(request: Request) -> FirstStart:
    return request.app.state.first_start


def _page(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Response:
    """A page of the screen, with the form token (a cookie and the same value in
    each form)."""
    state = _state(request)
    token = request.cookies.get(COOKIE) or csrf.new_token()
    values: dict[str, Any] = {"csrf_token": token, "errors": {}}
    values.update(context)
    response = state.templates.TemplateResponse(request, template, values, status_code=status_code)
    set_cookie(request, response, COOKIE, token)
    return response


def _go(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _offline(value: str) -> bool | None:
    return {YES: True, NO: False}.get(value)


def _refused_form(request: Request) -> Response:
    return _page(
        request,
        "first_start_message.html",
        status_code=403,
        title="Refused",
        message="This page was out of date (its security token did not match). Nothing was "
        "changed: start again from the first screen.",
    )


router = APIRouter(prefix=PREFIX)


@router.get("")
def question(request: Request) -> Response:
    """Screen 1: run this till in offline mode?"""
    state = _state(request)
    if state.job.busy:
        return _go(f"{PREFIX}/progress")
    return _page(request, "first_start.html")


@router.get("/setup")
def setup(request: Request, offline: str = "") -> Response:
    """Screen 2: Synchronize with Store or Import Database; Continue loading for a
    till registered whose load did not finish."""
    state = _state(request)
    if state.job.busy:
        return _go(f"{PREFIX}/progress")
    if _offline(offline) is None:
        return _go(PREFIX)
    return _setup_page(request, offline)


def _setup_page(
    request: Request,
    offline: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    found = inspect_data(_state(request).data_dir)
    return _page(
        request,
        "first_start_setup.html",
        status_code=status_code,
        offline=offline,
        found=found,
        resumable=found.state == REGISTERED,
        errors=errors or {},
        values=values or {},
    )


@router.post("/sync")
def synchronize(
    request: Request,
    offline: Annotated[str, Form()] = "",
    store_url: Annotated[str, Form()] = "",
    terminal_id: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    pin: Annotated[str, Form()] = "",
    insecure_http: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Synchronize with Store: register here (its refusals shown beside the form),
    then the initial load in the background."""
    state = _state(request)
    if not csrf.same(request.cookies.get(COOKIE), csrf_token) or _offline(offline) is None:
        return _refused_form(request)
    if state.job.busy:
        return _go(f"{PREFIX}/progress")
    store_url, terminal_id, code, pin = (v.strip() for v in (store_url, terminal_id, code, pin))
    values = {"store_url": store_url, "terminal_id": terminal_id, "pin": pin}
    values["insecure_http"] = "1" if insecure_http else ""
    missing = {
        name: message
        for name, message, given in (
            ("store_url", "enter the store's address", store_url),
            ("terminal_id", "enter the terminal id the store added", terminal_id),
            ("code", "enter the registration code", code),
        )
        if not given
    }
    if missing:
        return _setup_page(request, offline, errors=missing, values=values, status_code=422)
    if not state.job.guard.acquire(blocking=False):
        errors = {"form": "a set-up is already under way on this till"}
        return _setup_page(request, offline, errors=errors, values=values, status_code=409)
    try:
        term = provision.register(
            state.data_dir,
            store_url,
            terminal_id,
            code,
            pin=pin or None,
            insecure_http=bool(insecure_http),
        )
        term.close()
    except (Refused, Unreachable, SyncError, OSError) as exc:
        errors = registration_errors(exc, terminal_id)
        return _setup_page(request, offline, errors=errors, values=values, status_code=422)
    finally:
        state.job.guard.release()
    log.info("first start: registered as %s with %s; loading", terminal_id, store_url)
    state.job.start(offline == YES, load=True)
    return _go(f"{PREFIX}/progress")


def registration_errors(exc: Exception, terminal_id: str) -> dict[str, str]:
    """A registration refused, in ``pos init``'s words, beside the field to correct."""
    if isinstance(exc, Refused):
        hint = provision.REGISTRATION_HINTS.get(exc.code)
        if hint is not None:
            return {"code": f"{exc.message}. {hint.format(terminal=terminal_id)}"}
        return {"form": plain_error(str(exc))}
    if isinstance(exc, Unreachable | provision.NotAStore):
        return {"store_url": plain_error(str(exc))}
    if isinstance(exc, TlsSetupError):
        return {"pin" if "pin" in str(exc).split(":")[0] else "store_url": str(exc)}
    return {"form": plain_error(str(exc))}


@router.post("/continue")
def continue_loading(
    request: Request,
    offline: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Continue loading: the registration stands; the load carries on where it stopped."""
    state = _state(request)
    if not csrf.same(request.cookies.get(COOKIE), csrf_token) or _offline(offline) is None:
        return _refused_form(request)
    if inspect_data(state.data_dir).state == REGISTERED:
        state.job.start(offline == YES, load=True)
    return _go(f"{PREFIX}/progress")


@router.post("/import")
def import_database(
    request: Request,
    offline: Annotated[str, Form()] = "",
    # named apart from the sync form's fields: both forms are on one page
    terminal_id: Annotated[str, Form(alias="import_terminal_id")] = "",
    code: Annotated[str, Form(alias="import_code")] = "",
    store_url: Annotated[str, Form(alias="import_store_url")] = "",
    csrf_token: Annotated[str, Form()] = "",
    backup: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import Database: ``restore.import_backup`` on the file sent, here and now (it
    needs no network); then the working mode in the background."""
    state = _state(request)
    if not csrf.same(request.cookies.get(COOKIE), csrf_token) or _offline(offline) is None:
        return _refused_form(request)
    if state.job.busy:
        return _go(f"{PREFIX}/progress")
    terminal_id, code, store_url = terminal_id.strip(), code.strip(), store_url.strip()
    values = {"import_terminal_id": terminal_id, "import_store_url": store_url}
    errors = {
        name: message
        for name, message, given in (
            ("backup", "choose the backup file made on the store", backup and backup.filename),
            ("import_terminal_id", "enter this terminal's id", terminal_id),
            ("import_code", "enter the backup's import code", code),
        )
        if not given
    }
    if errors or backup is None:
        return _setup_page(request, offline, errors=errors, values=values, status_code=422)
    if not state.job.guard.acquire(blocking=False):
        errors = {"import": "a set-up is already under way on this till"}
        return _setup_page(request, offline, errors=errors, values=values, status_code=409)
    try:
        with tempfile.TemporaryDirectory(prefix="possync-upload-") as tmp:
            file = Path(tmp) / _file_name(backup.filename)
            try:
                _save(backup, file)
                done = restore.import_backup(
                    file, state.data_dir, terminal_id, code, store_url=store_url or None
                )
            except SyncError as exc:
                errors = {"import": _in_screen_words(str(exc), tmp)}
                return _setup_page(request, offline, errors=errors, values=values, status_code=422)
    finally:
        state.job.guard.release()
    log.info("first start: %s imported from %s (%d rows)", terminal_id, file.name, done.rows)
    state.job.start(offline == YES, load=False)
    return _go(f"{PREFIX}/progress")


def _file_name(uploaded: str | None) -> str:
    """The name the file had on the sender's side (the messages name it), reduced
    to harmless characters; never a path."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(uploaded or "").name)[:100].lstrip(".")
    return name or "backup.possync-backup"


def _save(upload: UploadFile, file: Path) -> None:
    """Copy the upload (spooled to disk by the form parser) to ``file``, bounded
    (the body limit already is, but a chunked body has no declared length)."""
    size = 0
    with open(file, "wb") as out:
        while chunk := upload.file.read(MIB):
            size += len(chunk)
            if size > MAX_BACKUP_BYTES:
                raise BackupError(
                    f"the file is larger than {MAX_BACKUP_BYTES // MIB} MiB: import it with "
                    "'possync pos import' on the command line"
                )
            out.write(chunk)
    if size == 0:
        raise BackupError(f"{file.name} is empty")


def _in_screen_words(message: str, tmp: str) -> str:
    """``pos import``'s message, with its option named as this screen's field, and
    without the temporary directory the upload was kept in."""
    return message.replace(f"{tmp}/", "").replace("with --store-url", "in Store address")


@router.get("/progress")
def progress_page(request: Request) -> Response:
    state = _state(request)
    progress = state.job.snapshot()
    if progress.state == IDLE:
        return _go(PREFIX)
    if progress.state == DONE:
        state.job.seen.set()
    return _page(request, "first_start_progress.html", progress=progress)


@router.get("/status")
def progress_status(request: Request) -> Response:
    """The progress fragment, polled by the progress page while the job runs."""
    state = _state(request)
    progress = state.job.snapshot()
    if progress.state == DONE:
        state.job.seen.set()
    return _page(request, "first_start_status.html", progress=progress)


def create_first_start_app(data_dir: Path, job: SetupJob | None = None) -> FastAPI:
    """The first-start screen of the till in ``data_dir`` (not set up)."""
    app = FastAPI(title="possync POS: first start", docs_url=None, redoc_url=None, openapi_url=None)
    templates = rendering.templates(
        HERE / "templates",
        pos_static=STATIC_URL,
        prefix=PREFIX,
        running=jobs.RUNNING,
        done=jobs.DONE,
        failed=jobs.FAILED,
        max_backup_mib=MAX_BACKUP_BYTES // MIB,
    )
    app.state.first_start = FirstStart(data_dir, job or SetupJob(data_dir), templates)
    rendering.mount_static(app)
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="pos-static")
    app.include_router(router)
    app.add_api_route("/", lambda: _go(PREFIX), include_in_schema=False)
    app.add_api_route("/favicon.ico", lambda: Response(status_code=204), include_in_schema=False)

    @app.exception_handler(StarletteHTTPException)
    async def _not_here(request: Request, exc: StarletteHTTPException) -> Response:
        return _page(
            request,
            "first_start_message.html",
            status_code=exc.status_code,
            title="Not set up yet",
            message="This till is not set up yet: the cashier's screen opens once it is.",
        )

    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(ScreenHeaders)  # outermost: a 413 carries the headers too
    return app


def _gone(scope: Scope) -> Response:
    """A first-start path on a till that is set up: to the cashier's screen."""
    htmx = dict(scope["headers"]).get(b"hx-request") == b"true"
    return Response(headers={"HX-Redirect": "/"}) if htmx else _go("/")


class TillScreen:
    """The screen ``pos run`` serves on a till that is not set up: the first-start
    app until the set-up is done, then the cashier's screen (see the module's
    docstring). ``build_cashier`` makes the cashier's app (``create_app``);
    ``on_ready`` starts the sync agent."""

    def __init__(
        self,
        data_dir: Path,
        build_cashier: Callable[[], FastAPI],
        on_ready: Callable[[], None],
        job: SetupJob | None = None,
    ) -> None:
        self.job = job or SetupJob(data_dir)
        self.first_start = create_first_start_app(data_dir, self.job)
        self.build_cashier = build_cashier
        self.on_ready = on_ready
        self.cashier: ASGIApp | None = None
        self._gone = ScreenHeaders(self._answer_gone)
        self._stack = AsyncExitStack()
        self._failed = False  # the cashier's screen could not be started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        first_start_path = scope["path"] == PREFIX or scope["path"].startswith(f"{PREFIX}/")
        if not first_start_path:
            # Set up, the cashier's screen being started: its page (the outcome's "Open
            # the cashier's screen") waits for it rather than meet the first screen.
            with anyio.move_on_after(SHOW_OUTCOME_FOR + 10):
                while self.job.ready.is_set() and self.cashier is None and not self._failed:
                    await anyio.sleep(0.05)
        if self.cashier is None:
            await self.first_start(scope, receive, send)
        elif first_start_path:
            await self._gone(scope, receive, send)
        else:
            await self.cashier(scope, receive, send)

    @staticmethod
    async def _answer_gone(scope: Scope, receive: Receive, send: Send) -> None:
        await _gone(scope)(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._hand_over_when_set_up)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            tasks.cancel_scope.cancel()
        # the cashier's screen's own shutdown, once handed over (a Store Operation ends)
        await self._stack.aclose()
        await send({"type": "lifespan.shutdown.complete"})

    async def _hand_over_when_set_up(self) -> None:
        while not self.job.ready.is_set():
            await anyio.sleep(0.2)
        # The outcome (the working mode) is shown once before the cashier's screen
        # takes the port's paths; nobody watching: after a few seconds anyway.
        with anyio.move_on_after(SHOW_OUTCOME_FOR):
            while not self.job.seen.is_set():
                await anyio.sleep(0.1)
        try:
            app = await anyio.to_thread.run_sync(self.build_cashier)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
        except Exception:
            log.exception("the cashier's screen could not be started after the first start")
            self._failed = True
            return
        self.cashier = app
        log.info("the till is set up: the cashier's screen replaces the first-start screen")
        try:
            self.on_ready()
        except Exception:  # the screen sells without the agent; the log says what broke
            log.exception("the sync agent could not be started after the first start")

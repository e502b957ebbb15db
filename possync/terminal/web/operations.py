"""The status bar and the user menu's Store Operations.

*Synchronize Data from Store* and *Enable Online POS* run in the background
(:mod:`possync.terminal.operations`); the screen shows their progress by polling
and tells the status bar to refresh when they end.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from possync.retail.errors import RetailError
from possync.terminal import modes
from possync.terminal.operations import ONLINE, SYNC, Operation
from possync.terminal.web.context import Pos, is_htmx, redirect, render, status_facts
from possync.terminal.web.sessions import Cashier, CashierSession

router = APIRouter()
STATUS_CHANGED = "possync-status"  # the event the status bar listens to


def _operation_view(
    request: Request,
    session: CashierSession,
    op: Operation | None,
    *,
    message: str | None = None,
    failed: bool = False,
    status_code: int = 200,
) -> Response:
    """An operation's progress (polled while it runs) or its result; ``message``
    for what is done at once (work offline) or not found."""
    headers = {}
    if op is None or not op.running:
        headers["HX-Trigger"] = STATUS_CHANGED  # the mode or the counts may have changed
    return render(
        request,
        "_operation.html" if is_htmx(request) else "operation.html",
        session,
        status_code=status_code,
        headers=headers,
        op=op,
        message=message,
        failed=failed,
    )


@router.get("/status")
def status_bar(request: Request, state: Pos) -> Response:
    """The status bar, polled by every page (signed in or not: nothing secret)."""
    return render(request, "_status.html", None, status=status_facts(state))


@router.post("/operations/sync")
def synchronize(request: Request, state: Pos, session: Cashier) -> Response:
    return _start(request, state, session, SYNC)


@router.post("/operations/online")
def enable_online(request: Request, state: Pos, session: Cashier) -> Response:
    return _start(request, state, session, ONLINE)


def _start(request: Request, state: Pos, session: CashierSession, kind: str) -> Response:
    op = state.operations.start(kind)
    if not is_htmx(request):
        return redirect(request, f"/operations/{op.op_id}")
    return _operation_view(request, session, op)


@router.post("/operations/offline")
def work_offline(request: Request, state: Pos, session: Cashier) -> Response:
    """Switch to offline mode, as ``pos offline`` (offline-enabled terminals only)."""
    try:
        modes.go_offline(state.terminal)
    except RetailError as exc:
        return _operation_view(request, session, None, message=str(exc), failed=True)
    return _operation_view(
        request,
        session,
        None,
        message="Offline mode: sales are kept on this till and sent to the store when it answers",
    )


@router.get("/operations/{op_id}")
def operation(request: Request, state: Pos, session: Cashier, op_id: str) -> Response:
    op = state.operations.get(op_id)
    if op is None:  # e.g. pos run was restarted
        return _operation_view(
            request, session, None, message="no such operation", failed=True, status_code=404
        )
    return _operation_view(request, session, op)

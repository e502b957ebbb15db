"""``possync pos run``: the till's long-running process (cashier's screen + sync agent)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from possync.cli.common import DataDir, fail, user_errors
from possync.cli.pos import app
from possync.sync.schedule import SyncSchedule
from possync.terminal.agent import SyncAgent
from possync.terminal.local import DB_FILE, Terminal
from possync.terminal.purge import DEFAULT_RETENTION_DAYS, daily_purge
from possync.terminal.upgrade import upgrade as upgrade_terminal
from possync.terminal.web import first_start_jobs
from possync.transport.tls import is_loopback

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp


@app.command()
def run(
    data: DataDir,
    interval: Annotated[float, typer.Option(help="Seconds between syncs")] = 60.0,
    max_backoff: Annotated[
        float, typer.Option(help="Longest wait between retries while the store is down")
    ] = 300.0,
    purge_older_than: Annotated[
        int,
        typer.Option(
            "--purge-older-than",
            min=0,
            metavar="DAYS",
            help="Once a day, purge synced receipts and movements older than DAYS (0: never)",
        ),
    ] = DEFAULT_RETENTION_DAYS,
    ui_port: Annotated[
        int, typer.Option("--ui-port", min=1, max=65535, help="Port of the cashier's screen")
    ] = 8700,
    ui_host: Annotated[
        str,
        typer.Option(
            "--ui-host", help="Address of the cashier's screen (default: this machine only)"
        ),
    ] = "127.0.0.1",
    no_ui: Annotated[
        bool, typer.Option("--no-ui", help="Sync only: do not serve the cashier's screen")
    ] = False,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", metavar="FILE", help="Serve the screen over HTTPS (PEM)"),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", metavar="FILE", help="Its private key (PEM)")
    ] = None,
    insecure_http: Annotated[
        bool,
        typer.Option(
            "--insecure-http",
            help="Serve the screen beyond this machine without TLS (PINs travel in clear)",
        ),
    ] = False,
) -> None:
    """The long-running terminal process: serves the cashier's screen on
    http://127.0.0.1:8700 and syncs on a schedule (backing off while the store is
    unreachable) until SIGTERM or Ctrl-C, then stops cleanly."""
    import signal

    from possync.store.server import TlsFilesError, check_tls_files

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("possync")
    if not no_ui:
        # Refused before anything starts: PINs typed on a screen reached over the
        # network travel in clear without TLS.
        try:
            check_tls_files(tls_cert, tls_key)
        except TlsFilesError as exc:
            fail(str(exc))
        if tls_cert is None and not is_loopback(ui_host) and not insecure_http:
            fail(
                f"--ui-host {ui_host} serves the cashier's screen beyond this machine, where "
                "PINs would travel in clear: give --tls-cert and --tls-key, or --insecure-http "
                "on a network you fully control"
            )
    tls = (tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None

    def make_agent(term: Terminal) -> SyncAgent:
        return SyncAgent(
            term,
            SyncSchedule(interval=interval, max_delay=max_backoff),
            maintenance=daily_purge(term, purge_older_than) if purge_older_than else None,
        )

    with user_errors():
        # A till upgrades its own database at start (after a safety copy): it may
        # have been offline for weeks with unsynced sales when its release changed.
        if (data / DB_FILE).exists():
            upgrade_terminal(data, progress=log.info)
        if not no_ui and first_start_jobs.inspect(data).state != first_start_jobs.READY:
            # Not set up: the screen asks how (issue 14); no agent until it is.
            serve_first_start(first_start_screen(data, ui_host, ui_port, tls, make_agent))
            log.info("stopped")
            return
        term = Terminal.open(data)
        term.till()  # refuse to run a terminal that is not set up
        agent = make_agent(term)
        screen = None if no_ui else cashier_screen(data, ui_host, ui_port, tls)

        def stop(signum: int, _frame: object) -> None:
            log.info("signal %d: stopping after the current batch", signum)
            agent.stop()
            if screen is not None:
                screen.should_exit = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if screen is None:
            agent.run()
        else:
            serve_with_agent(screen, agent)
    log.info("stopped")


def cashier_screen(
    data: Path, host: str, port: int, tls: tuple[Path, Path] | None = None
) -> uvicorn.Server:
    """The cashier's screen as a uvicorn server (not started); HTTPS with ``tls``
    (certificate, key)."""
    from possync.terminal.web.app import create_app

    return _server(create_app(data), host, port, tls)


def _server(app: ASGIApp, host: str, port: int, tls: tuple[Path, Path] | None) -> uvicorn.Server:
    import uvicorn  # here: the other commands start faster without it

    if not is_loopback(host) and tls is None:
        banner = "!" * 78
        message = (
            f"INSECURE: the cashier's screen is served over plain HTTP on {host} "
            "(--insecure-http): cashier PINs and sessions travel in clear to anyone on "
            "that network; use --tls-cert/--tls-key"
        )
        logging.getLogger("possync").warning("\n%s\n%s\n%s", banner, message, banner)
    ssl_files = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])} if tls else {}
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        **ssl_files,  # type: ignore[arg-type]
    )
    return uvicorn.Server(config)


@dataclass
class FirstStartRun:
    """A ``pos run`` on a till not set up: its screen, and the agent started once
    the screen's set-up is done."""

    screen: uvicorn.Server
    agents: list[tuple[SyncAgent, threading.Thread]] = field(default_factory=list)

    def stop(self) -> None:
        for agent, _thread in self.agents:
            agent.stop()


def first_start_screen(
    data: Path,
    host: str,
    port: int,
    tls: tuple[Path, Path] | None,
    make_agent: Callable[[Terminal], SyncAgent],
) -> FirstStartRun:
    """The first-start screen on the cashier's screen's address (same host and TLS
    rules); once the till is set up it hands over to the cashier's screen in the same
    server (possync/terminal/web/first_start.py says why so) and the agent starts."""
    from possync.terminal.web.app import create_app
    from possync.terminal.web.first_start import TillScreen

    def start_agent() -> None:
        agent = make_agent(Terminal.open(data))
        thread = threading.Thread(target=agent.run, name="possync-agent", daemon=True)
        running.agents.append((agent, thread))
        thread.start()

    screen = TillScreen(data, lambda: create_app(data), start_agent)
    running = FirstStartRun(_server(screen, host, port, tls))
    return running


def serve_first_start(running: FirstStartRun) -> None:
    """uvicorn in this thread until SIGTERM or Ctrl-C (uvicorn handles them while it
    serves, then hands them on to ``stop``); then the agent, if the set-up started
    one, stops between two batches."""
    import signal

    log = logging.getLogger("possync")

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        running.stop()
        running.screen.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    config = running.screen.config
    scheme = "https" if config.is_ssl else "http"
    log.info(
        "this till is not set up: the first-start screen is on %s://%s:%d",
        scheme,
        config.host,
        config.port,
    )
    try:
        running.screen.run()
    except SystemExit:
        # Nothing to sync before the till is set up, and no other way to set it up
        # from this process: say what to fix.
        fail(
            f"the first-start screen could not start on {config.host}:{config.port} (another "
            "process on that port? see --ui-port); or set the till up with 'possync pos "
            "init' or 'possync pos import'"
        )
    running.stop()
    for _agent, thread in running.agents:
        thread.join(30)


def serve_with_agent(screen: uvicorn.Server, agent: SyncAgent) -> None:
    """uvicorn in this (main) thread, the agent in another. uvicorn takes SIGTERM and
    SIGINT while it serves and, once it has shut down, hands the signal on to the
    handler installed before it (``stop``), which stops the agent."""
    worker = threading.Thread(target=agent.run, name="possync-agent", daemon=True)
    worker.start()
    host, port = screen.config.host, screen.config.port
    scheme = "https" if screen.config.is_ssl else "http"
    logging.getLogger("possync").info(
        "starting the cashier's screen on %s://%s:%d", scheme, host, port
    )
    try:
        screen.run()
    except SystemExit:
        # uvicorn could not start (the port is taken...). Syncing never depends on the
        # screen: the agent goes on (until SIGTERM), and the error says what to fix.
        logging.getLogger("possync").error(
            "the cashier's screen could not start on %s:%d (another process on that "
            "port? see --ui-port); syncing goes on without it",
            host,
            port,
        )
        while worker.is_alive():  # a short join, so that signals are handled
            worker.join(0.5)
    agent.stop()
    worker.join(30)

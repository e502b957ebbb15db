"""Options and error handling shared by every command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import sqlalchemy as sa
import typer
from rich.console import Console

from possync.retail.catalog import ImportReport
from possync.retail.errors import RetailError
from possync.sync.db import write_tx
from possync.sync.errors import SyncError
from possync.transport.client import Refused, Unreachable

console = Console()
err_console = Console(stderr=True)

DbUrl = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="POSSYNC_DB",
        help="SQLAlchemy URL of the store database (sqlite:///... or postgresql://...)",
    ),
]
DataDir = Annotated[
    Path, typer.Option("--data", envvar="POSSYNC_DATA", help="The terminal's data directory")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output")]

# A cashier as 'store cashier add' and 'ho cashier add' take them.
CashierId = Annotated[str, typer.Argument(help="Cashier id, e.g. C01")]
CashierName = Annotated[str, typer.Option(help="Name shown on the till")]
CashierPin = Annotated[
    str, typer.Option(prompt=True, hide_input=True, help="4 to 12 digits (asked if not given)")
]
Manager = Annotated[bool | None, typer.Option("--manager/--not-manager", help="Approves discounts")]
DiscountLimit = Annotated[
    str | None, typer.Option(help="Largest discount given alone, in percent (e.g. 10)")
]

EXIT_REFUSED = 1  # a rule or the store refused: nothing was changed
EXIT_UNREACHABLE = 3  # the store could not be reached


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def user_errors(hint: str = "") -> Iterator[None]:
    """Turn the errors a user can act on into one line and an exit code; ``hint``
    (what to do next) is added to each."""
    then = f" ({hint})" if hint else ""
    try:
        yield
    except Unreachable as exc:
        fail(f"{exc}{then}", EXIT_UNREACHABLE)
    except Refused as exc:
        if exc.code in _REFUSED_INSTALLATION:
            fail(f"{exc} Run 'possync pos rescue' to hand this till's unsynced data to the store.")
        fail(f"{exc}{then}")
    except (RetailError, SyncError) as exc:
        fail(f"{exc}{then}")


# The store refused this installation (a copy, or a database gone back to an older
# copy): the sync engine says so; the till's command says what to run.
_REFUSED_INSTALLATION = ("installation_mismatch", "log_diverged")


def print_json(value: Any) -> None:
    sys.stdout.write(
        orjson.dumps(
            value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        ).decode()
    )
    sys.stdout.write("\n")


def show_import(report: ImportReport, json: bool, then: str = "") -> None:
    """What a catalog import did: ``store items import`` and ``ho items import``."""
    if json:
        print_json(report.as_dict())
        return
    console.print(report.summary() + then, highlight=False, soft_wrap=True)
    for line in report.details():
        console.print(f"  {line}", highlight=False, soft_wrap=True)


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]


def add_console_admin(
    engine: sa.Engine, name: str, from_stdin: bool, check: Callable[[sa.Connection], object]
) -> None:
    """``console admin add`` of a store or of head office: the password from standard
    input or asked twice; ``check`` refuses a database of the wrong kind first."""
    from possync.webui import accounts

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with user_errors():
        try:
            with write_tx(engine) as conn:
                check(conn)
                accounts.add_admin(conn, name, password)
        except accounts.AccountError as exc:
            fail(str(exc))
    console.print(f"administrator {name} can sign in to the console")

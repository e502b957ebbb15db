"""The ``possync`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from possync import __version__
from possync.cli import demo, ho, pos, store

# isort: split
from possync.cli import purge  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import backup  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import upgrade  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import quarantine  # noqa: F401  (registers its commands)

# isort: split
# isort: split
from possync.cli import (
    store_details,  # noqa: F401  (registers its commands)
    store_settings,  # noqa: F401  (registers its commands)
)

# isort: split
from possync.cli import pos_run  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import pos_drawer  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import store_upstream  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import store_chain  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import store_discounts  # noqa: F401  (registers its commands)

app = typer.Typer(
    help="possync: offline-first point-of-sale data synchronisation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"possync {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """possync: offline-first point-of-sale data synchronisation."""


app.add_typer(store.app, name="store")
app.add_typer(pos.app, name="pos")
app.add_typer(ho.app, name="ho")
app.command(name="demo")(demo.demo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

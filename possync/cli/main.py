"""The ``possync`` command."""

from __future__ import annotations

import typer

from possync.cli import demo, pos, store

# isort: split
from possync.cli import purge  # noqa: F401  (registers its commands)

# isort: split
from possync.cli import backup  # noqa: F401  (registers its commands)

app = typer.Typer(
    help="possync: offline-first point-of-sale data synchronisation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(store.app, name="store")
app.add_typer(pos.app, name="pos")
app.command(name="demo")(demo.demo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""``possync store terminal backup`` and ``possync pos import``: provisioning a
terminal with a file instead of the network (docs/backup.md).

The commands are registered on the existing ``store terminal`` and ``pos`` groups
when this module is imported (by possync.cli.main).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from possync.cli import pos, store
from possync.cli.common import (
    DataDir,
    DbUrl,
    JsonFlag,
    console,
    err_console,
    print_json,
    user_errors,
)
from possync.retail import database, offline_backup
from possync.sync import signing_key
from possync.terminal import restore

SigningKeyFile = Annotated[
    Path | None,
    typer.Option(
        "--signing-key",
        envvar=signing_key.ENV,
        metavar="FILE",
        help="The store's backup signing key (made if missing, mode 0600). Default: beside "
        "a SQLite database (store.db.signing-key); for PostgreSQL, in "
        "~/.local/share/possync/signing-keys/",
    ),
]


@store.terminal_app.command("backup")
def backup_terminal(
    terminal: Annotated[str, typer.Argument(help="Terminal id, e.g. T01")],
    db: DbUrl,
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (must not exist)")],
    store_url: Annotated[
        str | None,
        typer.Option(
            "--store-url",
            help="The address the terminal will reach this store at; written into the "
            "backup so the import need not be told",
        ),
    ] = None,
    key_file: SigningKeyFile = None,
    json: JsonFlag = False,
) -> None:
    """Create Offline Backup: write this terminal's data to a file, signed by the
    store and encrypted, and print its import code. Re-provisions the terminal: its
    previous database stops syncing."""
    with user_errors():
        made = offline_backup.create(
            database.open_store(db), terminal, out, store_url=store_url, key_file=key_file
        )
    if made.key.note:
        err_console.print(f"[yellow]note:[/] {made.key.note}", highlight=False)
    if made.lost_changes:
        err_console.print(
            f"[yellow]warning:[/] {terminal} last reported {made.lost_changes} change(s) it "
            "had not sent yet; its previous database can no longer send them",
            highlight=False,
        )
    if json:
        print_json(made.as_dict())
        return
    info = made.as_dict()
    console.print(
        f"backup of terminal {terminal} (store {info['store_id']}) written to {made.path}: "
        f"{info['bytes']:,} bytes, {sum(made.header.rows.values()):,} rows, "
        f"as of change {made.header.cursor}",
        highlight=False,
    )
    console.print(
        f"signed with the store key {made.key.fingerprint}; encrypted: the file is "
        "useless without its import code (type it on the terminal with 'possync pos import'):",
        highlight=False,
    )
    console.print(made.import_code, style="bold", highlight=False)
    console.print(f"terminal {terminal} re-provisioned: its previous secret no longer works")
    for s in made.series:
        console.print(f"  {s['kind']:<8} series {s['prefix']}{s['start_no']:0{s['padding']}d}...")


@pos.app.command("import")
def import_backup(
    file: Annotated[Path, typer.Argument(help="The backup file made on the store")],
    data: DataDir,
    terminal: Annotated[str, typer.Option("--terminal", help="This terminal's id")],
    code: Annotated[str, typer.Option("--code", help="The backup's import code")],
    store_url: Annotated[
        str | None,
        typer.Option("--store-url", help="The store's address (default: the one in the file)"),
    ] = None,
    store_id: Annotated[
        str | None, typer.Option("--store", help="Refuse a backup made by any other store")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Import Database: set up this terminal from an offline backup, without the store.
    Refuses a damaged or foreign file, and an existing terminal directory."""
    with user_errors():
        done = restore.import_backup(
            file, data, terminal, code, store_url=store_url, store_id=store_id
        )
    if json:
        print_json(done.as_dict())
        return
    h = done.header
    console.print(
        f"terminal {h.node} of store {h.parent} ready in {done.data_dir}: {done.rows:,} rows "
        f"from the backup of {h.created_at}, signed by store key {done.signed_by}",
        highlight=False,
    )
    console.print(
        f"'possync pos sync' fetches what changed on the store since then ({done.store_url})",
        highlight=False,
    )

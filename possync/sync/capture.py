"""Change capture by database triggers, so that every write is captured, whatever
code path (or person at an SQL prompt) made it.

Triggers are named ``possync_<table>_<event>``. They write one row per changed row
into ``sync_change``: the full new row for inserts and updates, the key for deletes
(and for the old key of an update that changes the key), plus the route key and the
origin (the node an applied batch came from; NULL for a local write). Updates that
change nothing are not captured, so applying the same batch twice captures nothing
the second time. SQLite uses row triggers; PostgreSQL statement triggers with
transition tables.

An update that moves a row to another route (its route column changes, its key
does not) is captured twice: routed to the new route, and the same new row routed
to the old one, so that the nodes that hold the row learn where it went (a node
that relays what it applies captures it again, for the nodes below it). Moved to
NULL (everyone), the first change already reaches them all.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from possync.sync.tables import SyncSpec, SyncTable


def _q(name: str) -> str:
    return f'"{name}"'


def _route(t: SyncTable, ref: str) -> str:
    return f"{ref}.{_q(t.route_column)}" if t.route_column else "NULL"


def sqlite_ddl(t: SyncTable) -> list[str]:
    name = t.name

    def json_of(ref: str, columns: tuple[str, ...]) -> str:
        pairs = ", ".join(f"'{c}', {ref}.{_q(c)}" for c in columns)
        return f"json_object({pairs})"

    def body(op: str, ref: str, columns: tuple[str, ...]) -> str:
        return (
            "INSERT INTO sync_change (table_name, op, row_data, origin, route_key) "
            f"SELECT '{name}', '{op}', {json_of(ref, columns)}, origin, {_route(t, ref)} "
            "FROM sync_context WHERE id = 1;"
        )

    guard = "(SELECT capture FROM sync_context WHERE id = 1) = 1"
    changed = " OR ".join(f"OLD.{_q(c)} IS NOT NEW.{_q(c)}" for c in t.column_names)
    rekeyed = " OR ".join(f"OLD.{_q(k)} IS NOT NEW.{_q(k)}" for k in t.key_columns)
    old_key = (
        "INSERT INTO sync_change (table_name, op, row_data, origin, route_key) "
        f"SELECT '{name}', 'D', {json_of('OLD', t.key_columns)}, origin, {_route(t, 'OLD')} "
        f"FROM sync_context WHERE id = 1 AND ({rekeyed});"
    )
    old_route = ""
    if t.route_column:
        route = _q(t.route_column)
        old_route = (
            "INSERT INTO sync_change (table_name, op, row_data, origin, route_key) "
            f"SELECT '{name}', 'U', {json_of('NEW', t.column_names)}, origin, OLD.{route} "
            f"FROM sync_context WHERE id = 1 AND NOT ({rekeyed}) "
            f"AND OLD.{route} IS NOT NEW.{route} AND NEW.{route} IS NOT NULL;"
        )
    return [
        f"DROP TRIGGER IF EXISTS possync_{name}_insert",
        f"DROP TRIGGER IF EXISTS possync_{name}_update",
        f"DROP TRIGGER IF EXISTS possync_{name}_delete",
        f"CREATE TRIGGER possync_{name}_insert AFTER INSERT ON {_q(name)} WHEN {guard} "
        f"BEGIN {body('I', 'NEW', t.column_names)} END",
        f"CREATE TRIGGER possync_{name}_update AFTER UPDATE ON {_q(name)} "
        f"WHEN {guard} AND ({changed}) "
        f"BEGIN {old_key} {body('U', 'NEW', t.column_names)} {old_route} END",
        f"CREATE TRIGGER possync_{name}_delete AFTER DELETE ON {_q(name)} WHEN {guard} "
        f"BEGIN {body('D', 'OLD', t.key_columns)} END",
    ]


def postgres_ddl(t: SyncTable) -> list[str]:
    """Statement-level triggers with transition tables: one INSERT ... SELECT per
    statement instead of one PL/pgSQL call per row, which matters when a batch of
    thousands of rows arrives as one statement."""
    name = t.name
    insert = "INSERT INTO sync_change (table_name, op, row_data, origin, route_key)"
    origin = "nullif(current_setting('possync.origin', true), '')"
    same_key = " AND ".join(f"o.{_q(k)} = n.{_q(k)}" for k in t.key_columns)
    key_json = ", ".join(f"'{k}', o.{_q(k)}" for k in t.key_columns)
    old_route = ""
    if t.route_column:
        # A row moved to another route: the new row once more, to the old route.
        old_route = (
            f" {insert} SELECT '{name}', 'U', row_to_json(n)::text, {origin}, "
            f"{_route(t, 'o')} FROM new_rows n JOIN old_rows o ON {same_key} "
            f"WHERE {_route(t, 'o')} IS DISTINCT FROM {_route(t, 'n')} "
            f"AND {_route(t, 'n')} IS NOT NULL;"
        )
    bodies = {
        "insert": (
            "NEW TABLE AS new_rows",
            f"{insert} SELECT '{name}', 'I', row_to_json(n)::text, {origin}, "
            f"{_route(t, 'n')} FROM new_rows n;",
        ),
        "update": (
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            # An update that changes the key removes the old key: capture a delete.
            f"{insert} SELECT '{name}', 'D', json_build_object({key_json})::text, {origin}, "
            f"{_route(t, 'o')} FROM old_rows o "
            f"WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE {same_key}); "
            f"{insert} SELECT '{name}', 'U', row_to_json(n)::text, {origin}, "
            f"{_route(t, 'n')} FROM new_rows n LEFT JOIN old_rows o ON {same_key} "
            f"WHERE o IS DISTINCT FROM n;{old_route}",
        ),
        "delete": (
            "OLD TABLE AS old_rows",
            f"{insert} SELECT '{name}', 'D', json_build_object({key_json})::text, {origin}, "
            f"{_route(t, 'o')} FROM old_rows o;",
        ),
    }
    ddl = []
    for event, (transition, body) in bodies.items():
        fn = f"possync_capture_{name}_{event}"
        ddl += [
            f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('possync.origin', true) = '-' THEN RETURN NULL; END IF;
  {body}
  RETURN NULL;
END $$""",
            f"DROP TRIGGER IF EXISTS possync_{name}_{event} ON {_q(name)}",
            f"CREATE TRIGGER possync_{name}_{event} AFTER {event.upper()} ON {_q(name)} "
            f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
        ]
    return ddl


def install_triggers(conn: sa.Connection, spec: SyncSpec) -> None:
    ddl = sqlite_ddl if conn.dialect.name == "sqlite" else postgres_ddl
    for t in spec.tables:
        for statement in ddl(t):
            conn.exec_driver_sql(statement)


def refresh_triggers(conn: sa.Connection, spec: SyncSpec, names: tuple[str, ...]) -> None:
    """Make the triggers of tables a schema upgrade changed again, from their
    columns as the database now has them (not as this release declares them: a
    later migration may add more), so a change made right after is captured whole."""
    ddl = sqlite_ddl if conn.dialect.name == "sqlite" else postgres_ddl
    for name in names:
        declared = spec.table(name)
        if declared is None:
            raise ValueError(f"{name} does not replicate")
        reflected = sa.Table(name, sa.MetaData(), autoload_with=conn)
        for statement in ddl(replace(declared, table=reflected)):
            conn.exec_driver_sql(statement)

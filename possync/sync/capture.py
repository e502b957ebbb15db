"""Change capture by database triggers, so that every write is captured, whatever
code path (or person at an SQL prompt) made it.

Triggers are named ``possync_<table>_<event>``. They write one row per changed row
into ``sync_change``: the full new row for inserts and updates, the key for
deletes, plus the route key and the origin (the node an applied batch came from;
NULL for a local write). Updates that change nothing are not captured, so applying
the same batch twice captures nothing the second time.
"""

from __future__ import annotations

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
    return [
        f"DROP TRIGGER IF EXISTS possync_{name}_insert",
        f"DROP TRIGGER IF EXISTS possync_{name}_update",
        f"DROP TRIGGER IF EXISTS possync_{name}_delete",
        f"CREATE TRIGGER possync_{name}_insert AFTER INSERT ON {_q(name)} WHEN {guard} "
        f"BEGIN {body('I', 'NEW', t.column_names)} END",
        f"CREATE TRIGGER possync_{name}_update AFTER UPDATE ON {_q(name)} "
        f"WHEN {guard} AND ({changed}) BEGIN {body('U', 'NEW', t.column_names)} END",
        f"CREATE TRIGGER possync_{name}_delete AFTER DELETE ON {_q(name)} WHEN {guard} "
        f"BEGIN {body('D', 'OLD', t.key_columns)} END",
    ]


def postgres_ddl(t: SyncTable) -> list[str]:
    name = t.name
    fn = f"possync_capture_{name}"
    key_json = ", ".join(f"'{c}', OLD.{_q(c)}" for c in t.key_columns)
    return [
        f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  origin text := nullif(current_setting('possync.origin', true), '');
BEGIN
  IF origin = '-' THEN RETURN NULL; END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO sync_change (table_name, op, row_data, origin, route_key)
    VALUES ('{name}', 'D', json_build_object({key_json})::text, origin, {_route(t, "OLD")});
  ELSE
    INSERT INTO sync_change (table_name, op, row_data, origin, route_key)
    VALUES ('{name}', left(TG_OP, 1), row_to_json(NEW)::text, origin, {_route(t, "NEW")});
  END IF;
  RETURN NULL;
END $$""",
        f"DROP TRIGGER IF EXISTS possync_{name}_insert ON {_q(name)}",
        f"DROP TRIGGER IF EXISTS possync_{name}_update ON {_q(name)}",
        f"DROP TRIGGER IF EXISTS possync_{name}_delete ON {_q(name)}",
        f"CREATE TRIGGER possync_{name}_insert AFTER INSERT ON {_q(name)} "
        f"FOR EACH ROW EXECUTE FUNCTION {fn}()",
        f"CREATE TRIGGER possync_{name}_update AFTER UPDATE ON {_q(name)} "
        f"FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION {fn}()",
        f"CREATE TRIGGER possync_{name}_delete AFTER DELETE ON {_q(name)} "
        f"FOR EACH ROW EXECUTE FUNCTION {fn}()",
    ]


def install_triggers(conn: sa.Connection, spec: SyncSpec) -> None:
    ddl = sqlite_ddl if conn.dialect.name == "sqlite" else postgres_ddl
    for t in spec.tables:
        for statement in ddl(t):
            conn.exec_driver_sql(statement)

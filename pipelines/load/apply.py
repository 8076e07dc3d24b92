"""Write one file's outcome into the warehouse being built: quarantine, replacements, new rows."""

from __future__ import annotations

import duckdb

from pipelines.contract import EXTRACTS
from pipelines.load.integrity import FAILURES_TABLE
from pipelines.warehouse.schema import stored_columns


def _key_match(kind: str, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in EXTRACTS[kind].key)


def quarantine(con: duckdb.DuckDBPyConnection, kind: str, raw: str, load_id: int, file: str, now) -> int:
    """Store every failing row with its rules in words and its original (contract) values."""
    failing = con.execute(f"SELECT count(DISTINCT _row) FROM {FAILURES_TABLE}").fetchone()[0]
    if not failing:
        return 0
    cols = list(EXTRACTS[kind].columns)
    original = "to_json(struct_pack(" + ", ".join(f"{c} := r.{c}" for c in cols) + "))"
    key_text = "concat_ws(' | ', " + ", ".join(f"r.{c}" for c in EXTRACTS[kind].key) + ")"
    con.execute(
        f"""
        INSERT INTO audit.quarantine
        WITH failed AS (
            SELECT _row, list(DISTINCT rule_id ORDER BY rule_id) AS rule_ids,
                   list(DISTINCT reason ORDER BY reason) AS reasons, bool_and(orphan) AS orphan_only
            FROM {FAILURES_TABLE} GROUP BY _row
        ),
        base AS (SELECT coalesce(max(quarantine_id), 0) AS n FROM audit.quarantine)
        SELECT base.n + row_number() OVER (ORDER BY f._row), ?, ?, ?, f._row,
               CASE WHEN r._row IS NOT NULL THEN {key_text} END,
               f.rule_ids, f.reasons, f.orphan_only,
               CASE WHEN r._row IS NOT NULL THEN {original} END,
               ?, NULL, NULL, NULL
        FROM failed f CROSS JOIN base
        LEFT JOIN (SELECT * FROM {raw} WHERE _row IN (SELECT _row FROM {FAILURES_TABLE})) r ON r._row = f._row
        """,
        [load_id, file, kind, now],
    )
    return failing


def upsert(con: duckdb.DuckDBPyConnection, kind: str, typed: str, load_id: int, file_expr: str,
           row_expr: str, now, file_param: str | None = None) -> tuple[int, int]:
    """Insert the rows that passed; a row whose key is already stored replaces it, and the replaced
    version moves to raw.<kind>_history. Returns (loaded, replaced)."""
    if file_param is not None and _adopt(con, kind, typed, load_id, file_param):
        return con.execute(f"SELECT count(*) FROM raw.{kind}").fetchone()[0], 0
    names = [n for n, _ in stored_columns(kind)]
    select_cols = ", ".join(f"t.{n}" for n in names)
    params = [file_param] if file_param is not None else []
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _in_valid AS SELECT * FROM {typed} t "
        f"WHERE t._row NOT IN (SELECT _row FROM {FAILURES_TABLE})"
    )
    replaced = con.execute(
        f"""
        INSERT INTO raw.{kind}_history BY NAME
        SELECT old.*, ? AS _replaced_by_load, ? AS _replaced_at FROM raw.{kind} old
        WHERE EXISTS (SELECT 1 FROM _in_valid n WHERE {_key_match(kind, 'old', 'n')})
        """,
        [load_id, now],
    ).fetchone()[0]
    if replaced:
        con.execute(
            f"DELETE FROM raw.{kind} old WHERE EXISTS "
            f"(SELECT 1 FROM _in_valid n WHERE {_key_match(kind, 'old', 'n')})"
        )
    loaded = con.execute(
        f"INSERT INTO raw.{kind} BY NAME SELECT {select_cols}, {load_id} AS _load_id, {file_expr} AS _file, "
        f"{row_expr} AS _row FROM _in_valid t",
        params,
    ).fetchone()[0]
    return loaded, replaced


def _adopt(con: duckdb.DuckDBPyConnection, kind: str, typed: str, load_id: int, file: str) -> bool:
    """First rows of a kind: make the typed table itself raw.<kind> (no copy of millions of rows).
    Only when raw.<kind> is empty; the failing rows are deleted and the rule helper columns dropped."""
    if con.execute(f"SELECT count(*) FROM (SELECT 1 FROM raw.{kind} LIMIT 1)").fetchone()[0]:
        return False
    con.execute(f"DELETE FROM {typed} WHERE _row IN (SELECT _row FROM {FAILURES_TABLE})")
    stored = {n for n, _ in stored_columns(kind)} | {"_row"}
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
        typed.split(".", 1),
    ).fetchall()]
    for column in columns:
        if column not in stored:
            con.execute(f'ALTER TABLE {typed} DROP COLUMN "{column}"')
    con.execute(f"ALTER TABLE {typed} ADD COLUMN _load_id INTEGER DEFAULT {int(load_id)}")
    con.execute(f"ALTER TABLE {typed} ALTER COLUMN _load_id DROP DEFAULT")
    con.execute(f"ALTER TABLE {typed} ADD COLUMN _file VARCHAR DEFAULT {_sql_text(file)}")
    con.execute(f"ALTER TABLE {typed} ALTER COLUMN _file DROP DEFAULT")
    con.execute(f"DROP TABLE raw.{kind}")
    con.execute(f"ALTER TABLE {typed} RENAME TO {kind}")
    return True


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"

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
    names = [n for n, _ in stored_columns(kind)]
    select_cols = ", ".join(f"t.{n}" for n in names)
    valid = f"(SELECT * FROM {typed} t WHERE t._row NOT IN (SELECT _row FROM {FAILURES_TABLE}))"
    params = [file_param] if file_param is not None else []
    con.execute(f"CREATE OR REPLACE TEMP VIEW _in_valid AS SELECT * FROM {valid}")
    replaced = con.execute(
        f"""
        INSERT INTO raw.{kind}_history
        SELECT old.*, ?, ? FROM raw.{kind} old
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
        f"INSERT INTO raw.{kind} SELECT {select_cols}, {load_id}, {file_expr}, {row_expr} FROM _in_valid t",
        params,
    ).fetchone()[0]
    return loaded, replaced

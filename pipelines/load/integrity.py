"""The checks Great Expectations cannot express: duplicates and keys inside a file, and references to
rows of other extracts. Each is one SQL statement; each failure names its rule in words.

"Known" means present in the warehouse being built, which already holds the earlier files of the
same batch (the batch loads parents first).
"""

from __future__ import annotations

import duckdb

from pipelines.contract import EXTRACTS
from pipelines.load import suites

FAILURES_TABLE = "_in_failures"

_PARENT_WORDS = {"clinics": "clinic", "patients": "patient", "sessions": "session"}


def find_exact_duplicates(con: duckdb.DuckDBPyConnection, kind: str, source: str) -> int:
    """Fill `_in_dupes(_row)` with every repeat of an identical earlier row; return how many.

    Identical rows must share their key text, so only rows whose key repeats are compared in full.
    """
    extract = EXTRACTS[kind]
    key = ", ".join(extract.key)
    cols = ", ".join(extract.columns)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _in_dupes AS
        WITH repeated_keys AS (
            SELECT {key} FROM {source} GROUP BY {key} HAVING count(*) > 1
        ),
        candidates AS (
            SELECT s.* FROM {source} s SEMI JOIN repeated_keys k
            ON {' AND '.join(f's.{c} IS NOT DISTINCT FROM k.{c}' for c in extract.key)}
        ),
        ranked AS (
            SELECT _row, row_number() OVER (PARTITION BY {cols} ORDER BY _row) AS copy
            FROM candidates
        )
        SELECT _row FROM ranked WHERE copy > 1
        """
    )
    return con.execute("SELECT count(*) FROM _in_dupes").fetchone()[0]


def start_failures(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {FAILURES_TABLE} "
        "(_row BIGINT, rule_id VARCHAR, reason VARCHAR, orphan BOOLEAN)"
    )


def add_failures(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str, str]], orphan: bool = False) -> None:
    if not rows:
        return
    import pyarrow as pa

    table = pa.table({
        "_row": pa.array([r[0] for r in rows], pa.int64()),
        "rule_id": pa.array([r[1] for r in rows], pa.string()),
        "reason": pa.array([r[2] for r in rows], pa.string()),
    })
    con.register("_new_failures", table)
    try:
        con.execute(f"INSERT INTO {FAILURES_TABLE} SELECT _row, rule_id, reason, ? FROM _new_failures", [orphan])
    finally:
        con.unregister("_new_failures")


def check_keys(con: duckdb.DuckDBPyConnection, kind: str, raw: str, typed: str) -> None:
    """Rows sharing a key but not identical (exact repeats were set aside before): all quarantined."""
    extract = EXTRACTS[kind]
    required = set(suites.always_required(kind))
    usable = " AND ".join(f"t.{c} IS NOT NULL" for c in extract.key if c in required) or "true"
    key = ", ".join(f"t.{c}" for c in extract.key)
    words = ", ".join(extract.key)
    con.execute(
        f"""
        INSERT INTO {FAILURES_TABLE}
        SELECT _row, '{kind}.key.conflict',
               'the key ({words}) appears on several rows of this file with different values', false
        FROM (
            SELECT t._row, count(*) OVER (PARTITION BY {key}) AS n FROM {typed} t WHERE {usable}
        ) WHERE n > 1
        """
    )


def check_references(con: duckdb.DuckDBPyConnection, kind: str, typed: str) -> None:
    for ref in EXTRACTS[kind].references:
        noun = _PARENT_WORDS[ref.parent]
        con.execute(
            f"""
            INSERT INTO {FAILURES_TABLE}
            SELECT t._row, '{kind}.{ref.column}.known_{noun}',
                   '{ref.column} must name a known {noun} (none with that id is loaded yet)', true
            FROM {typed} t
            WHERE t.{ref.column} IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM raw.{ref.parent} p WHERE p.{ref.parent_column} = t.{ref.column})
            """
        )


def check_counts(con: duckdb.DuckDBPyConnection, kind: str, typed: str) -> list[tuple[str, str, int, int]]:
    """(rule_id, description, rows checked, rows failing) of the SQL checks, for the audit."""
    rows = con.execute(f"SELECT count(*) FROM {typed}").fetchone()[0]
    counts = dict(
        con.execute(f"SELECT rule_id, count(DISTINCT _row) FROM {FAILURES_TABLE} GROUP BY rule_id").fetchall()
    )
    extract = EXTRACTS[kind]
    out = [(f"{kind}.key.conflict", f"the key ({', '.join(extract.key)}) is unique within the file",
            rows, counts.get(f"{kind}.key.conflict", 0))]
    for ref in extract.references:
        noun = _PARENT_WORDS[ref.parent]
        rule = f"{kind}.{ref.column}.known_{noun}"
        out.append((rule, f"{ref.column} must name a known {noun}", rows, counts.get(rule, 0)))
    return out

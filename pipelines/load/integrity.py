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


def check_repeats(con: duckdb.DuckDBPyConnection, kind: str, raw: str, typed: str) -> int:
    """Exact duplicates and key conflicts inside one file, in one pass over the key.

    - An exact duplicate (the same text in every contract column as an earlier row) loads once:
      its repeats go to `_in_dupes` and leave the typed table. Returns how many.
    - Rows left sharing a key (compared as read, so two spellings of one timestamp are one key)
      but differing elsewhere are all quarantined.
    Only rows whose key hash repeats are compared in full; rows whose key could not be read are
    compared by the key's text. A hash match is necessary, never sufficient: comparisons are exact.
    """
    extract = EXTRACTS[kind]
    required = set(suites.always_required(kind))
    # A key is read when its required columns are, and an optional one is either read or was left
    # empty: a clinic row whose valid_from is given but unreadable has no key to compare as read
    # (NULL would make it the same key as a row that left valid_from empty), so it compares by text.
    usable = " AND ".join(
        f"{c} IS NOT NULL" if c in required
        else f"({c} IS NOT NULL OR {c}__given IS NULL)" if extract.columns[c].parsed
        else "true"
        for c in extract.key
    )
    key = ", ".join(extract.key)
    cols = ", ".join(f"r.{c}" for c in extract.columns)
    # A row's hash repeats when a neighbour in hash order has the same one: one sort of the hashes
    # finds them. Grouping by hash built a table of one entry per row (almost every key is unique),
    # and the typed table was read twice; on 13 M vitals this step took 2.0 s, now 1.5-1.7 s.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _in_candidates AS
        WITH neighbours AS (
            SELECT _row, h, lag(h) OVER by_hash AS before, lead(h) OVER by_hash AS after
            FROM (SELECT _row, hash({key}) AS h FROM {typed} WHERE {usable})
            WINDOW by_hash AS (ORDER BY h)
        ),
        unreadable AS (
            SELECT _row, hash({', '.join(f'r.{c}' for c in extract.key)}) AS h
            FROM {raw} r WHERE r._row IN (SELECT _row FROM {typed} WHERE NOT ({usable}))
        ),
        unreadable_repeated AS (SELECT h FROM unreadable GROUP BY h HAVING count(*) > 1)
        SELECT _row FROM neighbours WHERE h = before OR h = after
        UNION ALL
        SELECT _row FROM unreadable WHERE h IN (SELECT h FROM unreadable_repeated)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _in_dupes AS
        SELECT _row FROM (
            SELECT r._row, row_number() OVER (PARTITION BY {cols} ORDER BY r._row) AS copy
            FROM {raw} r WHERE r._row IN (SELECT _row FROM _in_candidates)
        ) WHERE copy > 1
        """
    )
    duplicates = con.execute("SELECT count(*) FROM _in_dupes").fetchone()[0]
    if duplicates:
        con.execute(f"DELETE FROM {typed} WHERE _row IN (SELECT _row FROM _in_dupes)")
    words = ", ".join(extract.key)
    con.execute(
        f"""
        INSERT INTO {FAILURES_TABLE}
        SELECT _row, '{kind}.key.conflict',
               'the key ({words}) appears on several rows of this file with different values', false
        FROM (
            SELECT _row, count(*) OVER (PARTITION BY {key}) AS n FROM {typed}
            WHERE {usable} AND _row IN (SELECT _row FROM _in_candidates)
        ) WHERE n > 1
        """
    )
    return duplicates


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

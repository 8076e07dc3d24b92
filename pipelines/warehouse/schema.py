"""Tables the loader writes: raw extracts (current and replaced versions) and the audit trail.

raw.<kind>          the current row of every key, typed, timestamps in clinic local time plus
                    <col>_utc instants; patient_ref holds the keyed hash, never the EHR's id
raw.<kind>_history  every version a later row replaced, with the load that replaced it
audit.loads         one row per load that published a version
audit.files         one row per file of those loads: counts, status, reason, dropped columns
audit.quarantine    every row that broke a rule: file, row, rules in words, original values
audit.check_results per file and rule: rows checked and rows failing (GX suites and SQL checks)
audit.meta          warehouse facts (schema version, key fingerprint, sample origin)
"""

from __future__ import annotations

import duckdb

from pipelines.contract import EXTRACTS, ColType

SCHEMA_VERSION = "1"

_SQL_TYPES = {
    ColType.TEXT: "VARCHAR", ColType.PSEUDONYM: "VARCHAR", ColType.ENUM_LOWER: "VARCHAR",
    ColType.ENUM_UPPER: "VARCHAR", ColType.DAYS: "VARCHAR", ColType.INT: "INTEGER",
    ColType.FLOAT: "DOUBLE", ColType.DATE: "DATE", ColType.TIME: "TIME", ColType.BOOL: "BOOLEAN",
    ColType.TIMESTAMP: "TIMESTAMP",
}

LINEAGE_COLUMNS = ["_load_id", "_file", "_row"]


def stored_columns(kind: str) -> list[tuple[str, str]]:
    """(name, SQL type) of the typed columns stored for an extract, in order."""
    cols: list[tuple[str, str]] = []
    for name, ctype in EXTRACTS[kind].columns.items():
        cols.append((name, _SQL_TYPES[ctype]))
        if ctype is ColType.TIMESTAMP:
            cols.append((f"{name}_utc", "TIMESTAMP"))
    return cols


def _raw_ddl(kind: str) -> str:
    cols = ", ".join(f"{n} {t}" for n, t in stored_columns(kind))
    lineage = "_load_id INTEGER NOT NULL, _file VARCHAR NOT NULL, _row BIGINT NOT NULL"
    history = "_replaced_by_load INTEGER NOT NULL, _replaced_at TIMESTAMP NOT NULL"
    return (
        f"CREATE TABLE IF NOT EXISTS raw.{kind} ({cols}, {lineage});\n"
        f"CREATE TABLE IF NOT EXISTS raw.{kind}_history ({cols}, {lineage}, {history});\n"
    )


_AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS audit.meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS audit.loads (
    load_id INTEGER PRIMARY KEY, batch VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP, warehouse_version INTEGER, files INTEGER, rows_read BIGINT,
    loaded BIGINT, quarantined BIGINT, duplicates BIGINT, replaced BIGINT, rejected_files INTEGER,
    orphans_retried BIGINT, orphans_resolved BIGINT, max_broken_share DOUBLE, loader VARCHAR
);
CREATE TABLE IF NOT EXISTS audit.files (
    load_id INTEGER NOT NULL, file VARCHAR NOT NULL, kind VARCHAR, status VARCHAR NOT NULL,
    sha256 VARCHAR, bytes BIGINT, rows_read BIGINT, loaded BIGINT, quarantined BIGINT,
    duplicates BIGINT, replaced BIGINT, reason VARCHAR, dropped_identifier_columns VARCHAR[],
    ignored_columns VARCHAR[], seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS audit.quarantine (
    quarantine_id BIGINT PRIMARY KEY, load_id INTEGER NOT NULL, file VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, row_number BIGINT NOT NULL, record_key VARCHAR, rule_ids VARCHAR[] NOT NULL,
    reasons VARCHAR[] NOT NULL, orphan_only BOOLEAN NOT NULL, original JSON,
    quarantined_at TIMESTAMP NOT NULL, resolved_by_load INTEGER, resolved_at TIMESTAMP, resolution VARCHAR
);
CREATE TABLE IF NOT EXISTS audit.check_results (
    load_id INTEGER NOT NULL, file VARCHAR NOT NULL, kind VARCHAR NOT NULL, engine VARCHAR NOT NULL,
    suite VARCHAR, rule_id VARCHAR NOT NULL, expectation_type VARCHAR, description VARCHAR NOT NULL,
    success BOOLEAN NOT NULL, element_count BIGINT, unexpected_count BIGINT,
    gx_checked_rows BIGINT  -- rows Great Expectations itself validated (all, or a sample on big files)
);
"""


def create_all(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(_AUDIT_DDL)
    for kind in EXTRACTS:
        con.execute(_raw_ddl(kind))
    con.execute(
        "INSERT INTO audit.meta VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING", [SCHEMA_VERSION]
    )


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM audit.meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO audit.meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )

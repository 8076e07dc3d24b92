"""No raw identifier reaches the warehouse, the quarantine, the logs or stdout.

A generated batch with defects carries raw EHR patient ids plus identifier columns with fake
values (names, dates of birth, phones, emails, MRNs). After loading it through the command line, we
look for every one of those values in: the bytes of every file the warehouse consists of, every
text value of every table and view (the quarantine's original values included), and everything
the loader printed.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import config
from pipelines.generate import generate_batch
from pipelines.warehouse.publish import Warehouse

IDENTIFIER_COLUMNS = {"first_name", "last_name", "dob", "phone", "email", "mrn"}


def _rows(path: Path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    batch = root / "batch"
    summary = generate_batch(batch, clinics=2, months=3, seed=5, defects=True)
    assert summary  # the batch exists
    secrets: dict[str, set[str]] = {"patient_ref": set(), **{c: set() for c in IDENTIFIER_COLUMNS}}
    for path in batch.iterdir():
        if not path.name.endswith((".csv", ".csv.gz")):
            continue
        for row in _rows(path):
            for column, value in row.items():
                if column in secrets and value and value.strip():
                    secrets[column].add(value.strip())
    assert secrets["patient_ref"] and secrets["email"] and secrets["mrn"], "the batch should carry identifiers"
    db = root / "wh" / "clinic.duckdb"
    env = {**os.environ, config.ENV_KEY: "privacy-test-key-" + "z" * 32, config.ENV_DB: str(db),
           config.ENV_KEY_FILE: str(root / "unused.key")}
    outputs = []
    for fmt in ("text", "json"):
        proc = subprocess.run([sys.executable, "-m", "pipelines", "load", str(batch), "--format", fmt],
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode in (0, 1), proc.stderr
        outputs += [proc.stdout, proc.stderr]
    return db, secrets, "\n".join(outputs)


def _distinctive(secrets: dict[str, set[str]]) -> list[str]:
    """Values long and specific enough that finding one anywhere means a leak."""
    out = set(secrets["patient_ref"]) | secrets["email"] | secrets["phone"] | secrets["mrn"] | secrets["dob"]
    return sorted(v for v in out if len(v) >= 6)


def test_no_identifier_in_warehouse_file_bytes(loaded):
    db, secrets, _ = loaded
    wh = Warehouse(db)
    files = [p for p in wh.versions_dir.iterdir() if p.is_file()]
    assert files
    # A leak stores a whole column, so 200 values of each kind are plenty to see one; all of them
    # would make this a minutes-long substring search.
    sample = [v for column in ("patient_ref", "email", "phone", "mrn", "dob")
              for v in sorted(secrets[column])[:200] if len(v) >= 6]
    needles = [v.encode() for v in sample]
    for path in files:
        data = path.read_bytes()
        found = [n.decode() for n in needles if n in data]
        assert not found, f"{path.name} holds {found[:3]}"


def test_no_identifier_in_any_text_value_of_any_table(loaded):
    db, secrets, _ = loaded
    con = duckdb.connect(str(db.resolve()), read_only=True)
    try:
        # Compare inside DuckDB: every distinct text value of every column against every secret,
        # by equality (all identifier values, names included) and by containment (distinctive ones).
        con.execute("create temp table secret(v varchar)")
        con.executemany("insert into secret values (?)", [[v] for v in set().union(*secrets.values())])
        con.execute("create temp table needle(v varchar)")
        con.executemany("insert into needle values (?)", [[v] for v in _distinctive(secrets)])
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog <> 'temp' and table_schema not in ('information_schema', 'pg_catalog')"
        ).fetchall()
        assert ("audit", "quarantine") in tables
        checked = 0
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()
            for column, dtype in columns:
                if dtype not in ("VARCHAR", "JSON") and not dtype.endswith("[]"):
                    continue
                con.execute(
                    f'create or replace temp table seen as select distinct cast("{column}" as varchar) v '
                    f'from "{schema}"."{table}" where "{column}" is not null'
                )
                checked += con.execute("select count(*) from seen").fetchone()[0]
                equal = con.execute("select count(*) from seen where v in (select v from secret)").fetchone()[0]
                inside = con.execute(
                    "select count(*) from seen join needle on contains(seen.v, needle.v)"
                ).fetchone()[0]
                assert equal == 0 and inside == 0, f"{schema}.{table}.{column} holds an identifier"
        assert checked > 100
        originals = con.execute("select count(*) from audit.quarantine where original is not null").fetchone()[0]
        assert originals > 0  # the quarantine kept original values, and none of them identify anyone
    finally:
        con.close()


def test_no_identifier_in_logs_or_stdout(loaded):
    _, secrets, output = loaded
    assert "identifier columns dropped" in output or "dropped_identifier_columns" in output
    for needle in _distinctive(secrets):
        assert needle not in output
    for name in secrets["first_name"] | secrets["last_name"]:
        assert f" {name} " not in output and f'"{name}"' not in output


def test_patient_ref_is_stored_as_its_keyed_hash(loaded):
    db, secrets, _ = loaded
    con = duckdb.connect(str(db.resolve()), read_only=True)
    try:
        keys = [r[0] for r in con.execute("select patient_ref from raw.patients").fetchall()]
    finally:
        con.close()
    assert keys and all(len(k) == 64 and all(c in "0123456789abcdef" for c in k) for k in keys)
    assert not set(keys) & secrets["patient_ref"]

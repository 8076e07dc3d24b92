"""Shared fixtures and helpers for the loader tests.

Everything a test needs to build a tiny batch, load it at a fixed moment with a fixed pseudonymization
key, and look at what reached the warehouse. The base batch (two clinics in different time zones, two
patients, a handful of sessions) is the parent data every child-extract test reuses.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
from pathlib import Path

import pytest

from pipelines import config
from pipelines.load.pseudonymize import Pseudonymizer

KEY = b"k" * 32
PSEUDO = Pseudonymizer(KEY)
# The load's moment (UTC, naive as load_batch expects). Mid-October: every US zone used here is on
# daylight time (Chicago UTC-5, New York UTC-4), well away from a DST change.
NOW = dt.datetime(2026, 10, 15, 12, 0)

# ---------------------------------------------------------------------------------------------
# Column lists of the contract, in contract order.
COLUMNS = {
    "clinics": ["clinic_id", "clinic_name", "timezone", "chairs", "opens_at", "closes_at", "open_days",
                "valid_from"],
    "patients": ["patient_ref", "clinic_id", "birth_year", "sex", "primary_indication", "maoi",
                 "lamotrigine", "benzodiazepine", "opioid"],
    "sessions": ["session_id", "patient_ref", "clinic_id", "chair_id", "modality", "status",
                 "scheduled_start", "checkin_at", "treatment_start", "treatment_end", "discharge_at",
                 "dose_mg", "weight_kg"],
    "vitals": ["session_id", "measured_at", "systolic_bp", "diastolic_bp", "heart_rate", "spo2",
               "respiratory_rate"],
    "assessments": ["assessment_id", "patient_ref", "assessed_at", "instrument", "score", "session_id",
                    "item9"],
    "side_effects": ["session_id", "effect", "severity", "onset_min", "intervention"],
}
KEYS = {
    "clinics": ("clinic_id", "valid_from"), "patients": ("patient_ref",), "sessions": ("session_id",),
    "vitals": ("session_id", "measured_at"), "assessments": ("assessment_id",),
    "side_effects": ("session_id", "effect"),
}
# Direct identifiers the contract lists by name ("at least" these).
CONTRACT_IDENTIFIERS = [
    "name", "first_name", "last_name", "full_name", "dob", "date_of_birth", "birth_date", "address",
    "street", "city", "zip", "zip_code", "postal_code", "phone", "phone_number", "email", "ssn", "mrn",
    "insurance_id", "member_id", "policy_number",
]

# ---------------------------------------------------------------------------------------------
# Valid rows. Patient refs look like a real EHR id so a leak is easy to spot in bytes.
CHI, NYC = "C-CHI", "C-NYC"  # America/Chicago, America/New_York
P1, P2 = "EHR-P-100001", "EHR-P-200002"  # P1's home clinic is Chicago, P2's is New York
S_KET, S_ESK, S_NYC, S_CAN = "S-KET-1", "S-ESK-1", "S-NYC-1", "S-CAN-1"
BASE_SESSIONS = [S_KET, S_ESK, S_NYC, S_CAN, "S-KET-2", "S-KET-3", "S-KET-4"]


def clinic(**over) -> dict:
    row = {"clinic_id": CHI, "clinic_name": "Lakeshore Infusion", "timezone": "America/Chicago",
           "chairs": "8", "opens_at": "08:00", "closes_at": "18:00", "open_days": "Mon,Tue,Wed,Thu,Fri",
           "valid_from": ""}
    row.update(over)
    return row


def patient(**over) -> dict:
    row = {"patient_ref": P1, "clinic_id": CHI, "birth_year": "1980", "sex": "F",
           "primary_indication": "mdd", "maoi": "false", "lamotrigine": "no", "benzodiazepine": "n",
           "opioid": "0"}
    row.update(over)
    return row


def session(**over) -> dict:
    """A completed IV ketamine session at the Chicago clinic (35 mg at 70 kg = 0.5 mg/kg)."""
    row = {"session_id": S_KET, "patient_ref": P1, "clinic_id": CHI, "chair_id": "3",
           "modality": "iv_ketamine", "status": "completed", "scheduled_start": "2026-10-05 09:00",
           "checkin_at": "2026-10-05 09:00", "treatment_start": "2026-10-05 09:15",
           "treatment_end": "2026-10-05 09:55", "discharge_at": "2026-10-05 10:45", "dose_mg": "35",
           "weight_kg": "70"}
    row.update(over)
    return row


def esketamine_session(**over) -> dict:
    row = session(session_id=S_ESK, modality="esketamine_nasal", dose_mg="56", weight_kg="",
                  treatment_end="2026-10-05 11:15", discharge_at="2026-10-05 11:30")
    row.update(over)
    return row


def untreated_session(**over) -> dict:
    row = session(session_id=S_CAN, status="cancelled", chair_id="", checkin_at="", treatment_start="",
                  treatment_end="", discharge_at="", dose_mg="", weight_kg="")
    row.update(over)
    return row


def vital(**over) -> dict:
    row = {"session_id": S_KET, "measured_at": "2026-10-05 09:20", "systolic_bp": "128",
           "diastolic_bp": "82", "heart_rate": "74", "spo2": "98", "respiratory_rate": "14"}
    row.update(over)
    return row


def assessment(**over) -> dict:
    row = {"assessment_id": "A-1", "patient_ref": P1, "assessed_at": "2026-10-05 08:45",
           "instrument": "PHQ9", "score": "18", "session_id": "", "item9": "1"}
    row.update(over)
    return row


def side_effect(**over) -> dict:
    row = {"session_id": S_KET, "effect": "dizziness", "severity": "mild", "onset_min": "20",
           "intervention": "none"}
    row.update(over)
    return row


def base_rows() -> dict[str, list[dict]]:
    """The parents every child test hangs on: two clinics, two patients, seven sessions."""
    return {
        "clinics": [
            clinic(),
            clinic(clinic_id=NYC, clinic_name="Hudson Ketamine Center", timezone="America/New_York",
                   chairs="6", opens_at="09:00", closes_at="17:00", open_days="Mon,Wed,Fri"),
        ],
        "patients": [patient(), patient(patient_ref=P2, clinic_id=NYC, sex="M", primary_indication="ptsd")],
        "sessions": [
            session(),
            esketamine_session(),
            session(session_id=S_NYC, clinic_id=NYC, chair_id="1"),  # P1 treated at the New York clinic
            untreated_session(),
            session(session_id="S-KET-2", scheduled_start="2026-10-07 09:00", checkin_at="2026-10-07 09:00",
                    treatment_start="2026-10-07 09:15", treatment_end="2026-10-07 09:55",
                    discharge_at="2026-10-07 10:45"),
            session(session_id="S-KET-3", patient_ref=P2, clinic_id=NYC, chair_id="2"),
            session(session_id="S-KET-4", modality="im_ketamine", chair_id="4"),
        ],
    }


# ---------------------------------------------------------------------------------------------
# Writing files.

def csv_text(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns if columns is not None else list(rows[0]) if rows else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c, "") for c in columns])
    return out.getvalue()


def write_file(path: Path, rows: list[dict], columns: list[str] | None = None, *, bom: bool = False) -> Path:
    """Write rows as .csv, .csv.gz or .parquet (by the name's ending); all values as text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = columns if columns is not None else list(rows[0]) if rows else []
    name = path.name.lower()
    if name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = {c: pa.array([None if r.get(c) in (None, "") else str(r.get(c)) for r in rows], pa.string())
                for c in columns}
        pq.write_table(pa.table(data), path)
        return path
    text = ("\ufeff" if bom else "") + csv_text(rows, columns)
    raw = text.encode("utf-8")
    if name.endswith(".gz"):
        raw = gzip.compress(raw, mtime=0)
    path.write_bytes(raw)
    return path


def write_batch(folder: Path, files: dict[str, list[dict]], *, base: bool = False) -> Path:
    """Write {file name: rows} into `folder`; with base=True the base parents are written first
    (as clinics.csv, patients.csv, sessions.csv unless `files` names those)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if base:
        for kind, rows in base_rows().items():
            if not any(n.startswith(kind) for n in files):
                write_file(folder / f"{kind}.csv", rows)
    for name, rows in files.items():
        write_file(folder / name, rows)
    return folder


# ---------------------------------------------------------------------------------------------
# Loading and looking.

def load(batch: Path, db: Path, *, now: dt.datetime = NOW, max_broken_share: float | None = None):
    from pipelines.load.loader import load_batch

    settings = config.LoadSettings(
        max_broken_share=config.DEFAULT_MAX_BROKEN_SHARE if max_broken_share is None else max_broken_share
    )
    return load_batch(batch, db=db, settings=settings, pseudonymizer=PSEUDO, now=now)


def file_report(report, name: str):
    matches = [f for f in report.files if f.file == name]
    assert len(matches) == 1, f"{name} not exactly once in the report: {[f.file for f in report.files]}"
    return matches[0]


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    from pipelines.warehouse import connect_read_only

    con, _ = connect_read_only(db)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def query_dicts(db: Path, sql: str, params: list | None = None) -> list[dict]:
    from pipelines.warehouse import connect_read_only

    con, _ = connect_read_only(db)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def quarantine(db: Path, file: str | None = None) -> list[dict]:
    rows = query_dicts(
        db,
        "SELECT * FROM audit.quarantine " + ("WHERE file = ? " if file else "") + "ORDER BY quarantine_id",
        [file] if file else [],
    )
    for r in rows:
        r["original"] = json.loads(r["original"]) if r["original"] is not None else None
    return rows


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every base table of the published warehouse, rows sorted: for "exactly as it was" checks."""
    from pipelines.warehouse import connect_read_only

    con, _ = connect_read_only(db)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1, 2"
        ).fetchall()
        out = {}
        for schema, table in tables:
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            out[f"{schema}.{table}"] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def warehouse_version(db: Path) -> Path | None:
    from pipelines.warehouse import resolve_version

    return resolve_version(db)


# ---------------------------------------------------------------------------------------------
# Fixtures.

@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test reads the developer's settings or writes a key into their home folder."""
    for name in (config.ENV_DB, config.ENV_MAX_BROKEN_SHARE, config.ENV_KEEP_VERSIONS, config.ENV_LOAD_MEMORY,
                 "CLINIC_ANALYTICS_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.ENV_KEY, KEY.decode())
    monkeypatch.setenv(config.ENV_KEY_FILE, str(tmp_path_factory.getbasetemp() / "no-such-key-file"))


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "warehouse" / "clinic_analytics.duckdb"


@pytest.fixture
def batch(tmp_path) -> Path:
    path = tmp_path / "batch"
    path.mkdir()
    return path


@pytest.fixture
def pseudonymizer() -> Pseudonymizer:
    return PSEUDO


def all_bytes_under(folder: Path) -> bytes:
    """Every byte of every file under a folder (warehouse versions, WAL leftovers, lock...)."""
    chunks = []
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and not path.is_symlink():
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def env_for_cli(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_ANALYTICS_")}
    env[config.ENV_KEY] = KEY.decode()
    env.update(extra)
    return env

"""What a whole file gets (../shared/contract/extracts.md, "Files", "What every row gets" for
duplicates/keys/replacements/re-loads/orphans, "What a whole file gets", "The load command").

Most tests put several files in one batch and check each file's own outcome, so one load covers
many cases. Whole-warehouse comparisons use `snapshot` (every base table, rows sorted).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from load_fixtures import (
    CHI, COLUMNS, CONTRACT_IDENTIFIERS, KEY, P1, P2, PSEUDO, S_KET, S_NYC, all_bytes_under, assessment,
    base_rows, clinic, csv_text, env_for_cli, file_report, load, patient, query, quarantine, session,
    side_effect, snapshot, untreated_session, vital, warehouse_version, write_batch, write_file,
)


def vitals_rows(n: int, start_minute: int = 0, session_id: str = S_KET, day: int = 5) -> list[dict]:
    """n valid vitals of one session, one minute apart (distinct keys)."""
    return [vital(session_id=session_id,
                  measured_at=f"2026-10-{day:02d} {8 + (start_minute + i) // 60:02d}:{(start_minute + i) % 60:02d}")
            for i in range(n)]


def loaded_base(tmp_path: Path, db: Path):
    """Load the base batch (clinics, patients, sessions) as the warehouse's first version."""
    report = load(write_batch(tmp_path / "base", {}, base=True), db)
    assert all(f.status == "loaded" for f in report.files), report.files
    return report


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_cli_many([(list(args), env)])[0]


def run_cli_many(calls: list[tuple[list[str], dict | None]]) -> list[subprocess.CompletedProcess]:
    """Run several `python -m pipelines` commands side by side (each pays the import time)."""
    procs = [
        (args, subprocess.Popen([sys.executable, "-m", "pipelines", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir(),
                                env=env if env is not None else env_for_cli()))
        for args, env in calls
    ]
    done = []
    for args, proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def json_stdout(proc: subprocess.CompletedProcess) -> dict:
    """The whole stdout as one JSON document (the failure shows stderr: the one line a person sees)."""
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"stdout is not one JSON object ({exc}); exit {proc.returncode}; "
                             f"stdout {proc.stdout[:500]!r}; stderr {proc.stderr[-1500:]!r}") from None


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-2000:]


# ------------------------------------------------------------------------------ kinds and formats
def test_kind_is_the_start_of_the_name_in_every_format_and_unknown_kinds_are_skipped(tmp_path, db):
    batch = tmp_path / "batch"
    base = base_rows()
    write_file(batch / "clinics.csv", base["clinics"])
    write_file(batch / "patients_export.csv.gz", base["patients"])
    write_file(batch / "sessions_2026-10.csv.gz", base["sessions"][:4])
    write_file(batch / "sessions_2026-11.parquet", base["sessions"][4:])
    write_file(batch / "vitals-part1.csv", vitals_rows(3, 0))
    write_file(batch / "vitals-part2.parquet", vitals_rows(2, 10))
    write_file(batch / "vitals_part3.csv.gz", vitals_rows(4, 20))
    write_file(batch / "notes.csv", [{"a": "1"}])
    write_file(batch / "summary_sessions.csv", base["sessions"])  # kind not at the start of the name
    (batch / "readme.txt").write_text("hello")
    (batch / "subfolder").mkdir()
    report = load(batch, db)

    by_name = {f.file: f for f in report.files}
    expected_kinds = {"clinics.csv": "clinics", "patients_export.csv.gz": "patients",
                      "sessions_2026-10.csv.gz": "sessions", "sessions_2026-11.parquet": "sessions",
                      "vitals-part1.csv": "vitals", "vitals-part2.parquet": "vitals", "vitals_part3.csv.gz": "vitals"}
    for name, kind in expected_kinds.items():
        assert by_name[name].kind == kind and by_name[name].status == "loaded", by_name[name]
    for name in ["notes.csv", "summary_sessions.csv", "readme.txt", "subfolder"]:
        assert by_name[name].status == "skipped", by_name[name]
        assert by_name[name].reason, "a skipped entry says why"
    assert query(db, "SELECT count(*) FROM raw.sessions")[0][0] == 7
    per_file = dict(query(db, "SELECT _file, count(*) FROM raw.vitals GROUP BY _file"))
    assert per_file == {"vitals-part1.csv": 3, "vitals-part2.parquet": 2, "vitals_part3.csv.gz": 4}
    # skipped entries are reported in the audit too
    audit = dict(query(db, "SELECT file, status FROM audit.files"))
    assert audit["notes.csv"] == "skipped" and audit["vitals-part2.parquet"] == "loaded"


def test_children_load_with_their_parents_from_the_same_batch_whatever_the_names_sort_order(tmp_path, db):
    """Load order is clinics, patients, sessions, then the rest: not the alphabetical order."""
    batch = tmp_path / "batch"
    base = base_rows()
    write_file(batch / "a_is_not_a_kind.csv", [{"x": "1"}])
    write_file(batch / "assessments.csv", [assessment(session_id=S_KET)])
    write_file(batch / "side_effects.csv", [side_effect()])
    write_file(batch / "vitals.csv", [vital()])
    write_file(batch / "sessions.csv", base["sessions"])
    write_file(batch / "patients.csv", base["patients"])
    write_file(batch / "clinics.csv", base["clinics"])
    report = load(batch, db)
    order = [f.kind for f in report.files if f.status == "loaded"]
    assert order == ["clinics", "patients", "sessions", "vitals", "assessments", "side_effects"]
    for f in report.files:
        if f.kind:
            assert f.status == "loaded" and f.quarantined == 0 and f.loaded == f.rows_read, f
    assert quarantine(db) == []


# ---------------------------------------------------------------------------------------- headers
def test_bom_is_tolerated_in_csv_and_csv_gz(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    write_file(batch / "vitals_bom.csv", vitals_rows(3, 0), bom=True)
    write_file(batch / "vitals_bom.csv.gz", vitals_rows(3, 10), bom=True)
    report = load(batch, db)
    for name in ["vitals_bom.csv", "vitals_bom.csv.gz"]:
        f = file_report(report, name)
        assert (f.status, f.loaded, f.quarantined) == ("loaded", 3, 0), f
    assert query(db, "SELECT count(DISTINCT session_id) FROM raw.vitals")[0][0] == 1


def test_header_names_match_case_insensitively_after_trimming_with_spaces_as_underscores(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    header = [" Session ID ", "MEASURED_AT", "Systolic BP", "diastolic bp  ", "Heart Rate", "SpO2",
              " respiratory rate"]
    text = ",".join(header) + "\n" + f"{S_KET},2026-10-05 09:20,131,85,77,97,15\n"
    (batch / "vitals.csv").write_text(text, encoding="utf-8")
    write_file(batch / "vitals_b.parquet", [dict(zip(header, ["S-KET-2", "2026-10-07 09:20", "140", "90", "80",
                                                                "99", "16"]))])
    report = load(batch, db)
    for name in ["vitals.csv", "vitals_b.parquet"]:
        f = file_report(report, name)
        assert (f.status, f.loaded) == ("loaded", 1), f
        assert f.ignored_columns == [] and f.dropped_identifier_columns == []
    rows = query(db, "SELECT session_id, systolic_bp, diastolic_bp, heart_rate, spo2, respiratory_rate "
                     "FROM raw.vitals ORDER BY session_id")
    assert rows == [(S_KET, 131, 85, 77, 97, 15), ("S-KET-2", 140, 90, 80, 99, 16)]


def test_unknown_columns_are_ignored_and_reported(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    rows = [{**v, "Room": "blue-room-17", "nurse_note": "note-xyz-42"} for v in vitals_rows(3)]
    write_file(batch / "vitals.csv", rows)
    report = load(batch, db)
    f = file_report(report, "vitals.csv")
    assert (f.status, f.loaded) == ("loaded", 3)
    assert sorted(f.ignored_columns) == ["nurse_note", "room"]
    assert f.dropped_identifier_columns == []
    audit = query(db, "SELECT ignored_columns FROM audit.files WHERE file = 'vitals.csv'")
    assert sorted(audit[0][0]) == ["nurse_note", "room"]
    columns = [r[0] for r in query(db, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'vitals'")]
    assert "room" not in columns and "nurse_note" not in columns
    assert "columns not in the contract" in report.to_text() or "room" in report.to_text()


def test_a_file_with_thousands_of_unknown_columns_loads(tmp_path, db):
    """2,000 extra columns were refused as "not valid CSV (Parser Error: Max expression depth limit of
    1000 exceeded)": the check that decodes unkept columns nested one level per column."""
    batch = write_batch(tmp_path / "batch", {}, base=True)
    write_file(batch / "vitals.csv", [{**v, **{f"extra_{j}": str(j) for j in range(2000)}} for v in vitals_rows(3)])
    f = file_report(load(batch, db), "vitals.csv")
    assert (f.status, f.loaded, len(f.ignored_columns)) == ("loaded", 3, 2000), f.reason


def _identifier_value(column: str, i: int) -> str:
    return f"PII-{column}-{i}-zq"


def test_identifier_columns_are_dropped_reported_and_their_values_found_nowhere(tmp_path, db):
    """Every identifier name the contract lists, in several spellings of the header, in CSV, gzip and
    Parquet; broken rows too (so the quarantine has originals). Neither the identifier values nor the
    raw patient refs appear in the warehouse files' bytes, the quarantine, the report or the text output."""
    batch = tmp_path / "batch"
    base = base_rows()
    write_file(batch / "clinics.csv", base["clinics"])
    write_file(batch / "sessions.csv", base["sessions"])
    spelled = {c: (c.replace("_", " ").title() if i % 3 == 0 else f"  {c.upper()} " if i % 3 == 1 else c)
               for i, c in enumerate(CONTRACT_IDENTIFIERS)}
    patients = [
        patient(),
        patient(patient_ref=P2, clinic_id="C-NYC"),
        patient(patient_ref="EHR-P-300003"),
        patient(patient_ref="EHR-P-400004"),
        patient(patient_ref="EHR-P-500005", birth_year="1850"),  # broken: quarantined with its originals
    ]
    for i, row in enumerate(patients):
        for c in CONTRACT_IDENTIFIERS:
            row[spelled[c]] = _identifier_value(c, i)
    write_file(batch / "patients.csv", patients, COLUMNS["patients"] + [spelled[c] for c in CONTRACT_IDENTIFIERS])
    sessions_pii = [{**session(session_id=f"S-PII-{i}"), "First Name": f"PII-first-{i}-zq",
                     "email": f"pii{i}@mail.example"} for i in range(4)]
    sessions_pii.append({**session(session_id="S-PII-X", patient_ref="EHR-P-999999"),  # orphan
                         "First Name": "PII-first-X-zq", "email": "piiX@mail.example"})
    write_file(batch / "sessions_pii.csv.gz", sessions_pii)
    write_file(batch / "assessments.parquet",
               [{**assessment(assessment_id=f"A-{i}"), "DOB": f"PII-dob-{i}-zq", "phone": f"PII-555-{i}"}
                for i in range(4)] + [{**assessment(assessment_id="A-X", score="99"), "DOB": "PII-dob-X-zq",
                                       "phone": "PII-555-X"}])
    report = load(batch, db)

    f = file_report(report, "patients.csv")
    assert (f.status, f.loaded, f.quarantined) == ("loaded", 4, 1), f
    assert sorted(f.dropped_identifier_columns) == sorted(CONTRACT_IDENTIFIERS)
    assert f.ignored_columns == []
    assert sorted(file_report(report, "sessions_pii.csv.gz").dropped_identifier_columns) == ["email", "first_name"]
    assert sorted(file_report(report, "assessments.parquet").dropped_identifier_columns) == ["dob", "phone"]
    dropped_audit = dict(query(db, "SELECT file, dropped_identifier_columns FROM audit.files"))
    assert sorted(dropped_audit["patients.csv"]) == sorted(CONTRACT_IDENTIFIERS)
    assert len(quarantine(db)) == 3

    secrets = [_identifier_value(c, i) for c in CONTRACT_IDENTIFIERS for i in range(len(patients))]
    secrets += [f"PII-first-{i}-zq" for i in [0, 1, 2, 3, "X"]] + [f"pii{i}@mail.example" for i in [0, 1, 2, 3, "X"]]
    secrets += [f"PII-dob-{i}-zq" for i in [0, 1, 2, 3, "X"]] + [f"PII-555-{i}" for i in [0, 1, 2, 3, "X"]]
    secrets += [P1, P2, "EHR-P-300003", "EHR-P-400004", "EHR-P-500005", "EHR-P-999999"]
    warehouse_bytes = all_bytes_under(db.parent)
    shown = json.dumps(report.to_json()) + report.to_text() + repr(report)
    quarantined = repr(quarantine(db))
    for secret in secrets:
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in warehouse_bytes, f"{secret!r} is in the warehouse files"
        assert secret not in shown, f"{secret!r} is in the load report"
        assert secret not in quarantined, f"{secret!r} is in the quarantine"
    # the stored patient refs are the keyed hash of the raw ones
    stored_refs = {r[0] for r in query(db, "SELECT patient_ref FROM raw.patients")}
    assert stored_refs == {PSEUDO(p) for p in [P1, P2, "EHR-P-300003", "EHR-P-400004"]}


# ------------------------------------------------------------------------ required vs optional
OPTIONAL_HEADERLESS = {
    "clinics": ["valid_from"],
    "patients": ["birth_year", "sex", "maoi", "lamotrigine", "benzodiazepine", "opioid"],
    "sessions": ["chair_id", "checkin_at", "treatment_start", "treatment_end", "discharge_at", "dose_mg",
                 "weight_kg"],
    "vitals": ["heart_rate", "spo2", "respiratory_rate"],
    "assessments": ["session_id", "item9"],
    "side_effects": ["onset_min", "intervention"],
}


def test_columns_not_required_on_every_row_may_be_absent_and_read_as_empty(tmp_path, db):
    batch = tmp_path / "batch"
    base = base_rows()

    def without(kind, rows):
        return [c for c in COLUMNS[kind] if c not in OPTIONAL_HEADERLESS[kind]], rows

    files = {
        "clinics.csv": without("clinics", base["clinics"]),
        "patients.csv": without("patients", base["patients"]),
        "sessions.csv": (COLUMNS["sessions"], base["sessions"]),
        "sessions_untreated.csv": without("sessions", [
            untreated_session(session_id="S-U1"), untreated_session(session_id="S-U2", status="no_show"),
            untreated_session(session_id="S-U3", modality="esketamine_nasal"),
            untreated_session(session_id="S-U4", status="no_show", modality="im_ketamine"),
            session(session_id="S-U5"),  # completed: its treatment columns are required, read as empty
        ]),
        "vitals.csv": without("vitals", [vital()]),
        "assessments.csv": without("assessments", [assessment(item9="")]),
        "side_effects.csv": without("side_effects", [side_effect()]),
    }
    for name, (columns, rows) in files.items():
        write_file(batch / name, rows, columns)
    report = load(batch, db)
    for f in report.files:
        assert f.status == "loaded", f
        expected_broken = 1 if f.file == "sessions_untreated.csv" else 0
        assert f.quarantined == expected_broken and f.loaded == f.rows_read - expected_broken, f
    (q,) = quarantine(db)
    assert q["row_number"] == 5 and all("required" in r for r in q["reasons"])
    for col in ["chair_id", "checkin_at", "treatment_start", "treatment_end", "discharge_at", "dose_mg", "weight_kg"]:
        assert any(r.startswith(col) for r in q["reasons"]), (col, q["reasons"])
    for kind, cols in OPTIONAL_HEADERLESS.items():
        where = "WHERE _file = 'sessions_untreated.csv'" if kind == "sessions" else ""
        nulls = query(db, f"SELECT {', '.join(f'count({c})' for c in cols)} FROM raw.{kind} {where}")[0]
        assert all(n == 0 for n in nulls), (kind, dict(zip(cols, nulls)))


ALWAYS_REQUIRED = {
    "clinics": ["clinic_id", "clinic_name", "timezone", "chairs", "opens_at", "closes_at", "open_days"],
    "patients": ["patient_ref", "clinic_id", "primary_indication"],
    "sessions": ["session_id", "patient_ref", "clinic_id", "modality", "status", "scheduled_start"],
    "vitals": ["session_id", "measured_at", "systolic_bp", "diastolic_bp"],
    "assessments": ["assessment_id", "patient_ref", "assessed_at", "instrument", "score"],
    "side_effects": ["session_id", "effect", "severity"],
}
ROW_OF = {"clinics": clinic, "patients": patient, "sessions": session, "vitals": vital,
          "assessments": assessment, "side_effects": side_effect}


@pytest.fixture(scope="module")
def missing_column_load(tmp_path_factory):
    """One batch: the base parents plus, per kind and required column, a file lacking that column."""
    folder = tmp_path_factory.mktemp("missing")
    batch = write_batch(folder / "batch", {}, base=True)
    for kind, required in ALWAYS_REQUIRED.items():
        for col in required:
            write_file(batch / f"{kind}_without_{col}.csv", [ROW_OF[kind]()],
                       [c for c in COLUMNS[kind] if c != col])
    db = folder / "wh" / "clinic_analytics.duckdb"
    report = load(batch, db)
    return report, db


@pytest.mark.parametrize("kind,column", [(k, c) for k, cols in ALWAYS_REQUIRED.items() for c in cols])
def test_a_missing_required_column_rejects_the_file_naming_file_and_column(missing_column_load, kind, column):
    report, db = missing_column_load
    name = f"{kind}_without_{column}.csv"
    f = file_report(report, name)
    assert f.status == "rejected", f
    assert column in f.reason and "missing" in f.reason.lower(), f.reason
    assert (f.loaded, f.replaced) == (0, 0)
    text = report.to_text()
    line = next(i for i, ln in enumerate(text.splitlines()) if name in ln)
    assert column in "\n".join(text.splitlines()[line:line + 3]), text
    assert query(db, f"SELECT count(*) FROM raw.{kind} WHERE _file = ?", [name])[0][0] == 0
    assert query(db, "SELECT count(*) FROM audit.quarantine WHERE file = ?", [name])[0][0] == 0
    assert query(db, "SELECT status, reason FROM audit.files WHERE file = ?", [name]) == [("rejected", f.reason)]


# ------------------------------------------------------------------------------- unreadable files
def _garbage(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def test_unreadable_files_are_rejected_with_a_reason(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    good = csv_text(vitals_rows(10)).encode()
    (batch / "vitals_random_bytes.csv").write_bytes(_garbage(600, 1))
    (batch / "vitals_bad_utf8.csv").write_bytes(good.replace(b"S-KET-1,2026-10-05 08:04", b"S-KET-1\xff\xfe,2026-10-05 08:04"))
    (batch / "vitals_latin1.csv").write_bytes(good.replace(b"08:03,128", b"08:03,12\xe9"))
    (batch / "vitals_truncated.csv.gz").write_bytes(gzip.compress(good)[:-15])
    (batch / "vitals_not_gzip.csv.gz").write_bytes(good)
    (batch / "vitals_random.parquet").write_bytes(b"PAR1" + _garbage(300, 2))
    (batch / "vitals_csv_named_parquet.parquet").write_bytes(good)
    (batch / "vitals_empty.csv").write_bytes(b"")
    (batch / "vitals.json").write_text(json.dumps([vital()]))
    report = load(batch, db)
    expected = {
        "vitals_random_bytes.csv": ("utf", "read", "csv"), "vitals_bad_utf8.csv": ("utf-8",),
        "vitals_latin1.csv": ("utf-8",), "vitals_truncated.csv.gz": ("gzip",), "vitals_not_gzip.csv.gz": ("gzip",),
        "vitals_random.parquet": ("parquet",), "vitals_csv_named_parquet.parquet": ("parquet",),
        "vitals_empty.csv": ("read",), "vitals.json": ("read",),
    }
    for name, words in expected.items():
        f = file_report(report, name)
        assert f.status == "rejected", f
        assert f.reason and any(w in f.reason.lower() for w in words), (name, f.reason)
        assert "\n" not in f.reason and "Traceback" not in f.reason
        assert f.loaded == 0
    assert query(db, "SELECT count(*) FROM raw.vitals")[0][0] == 0
    assert query(db, "SELECT count(*) FROM audit.quarantine")[0][0] == 0
    assert report.exit_code == 1


def test_a_file_that_cannot_be_opened_is_rejected_alone_and_the_rest_loads(tmp_path, db):
    """A link to nothing, or something that is not a regular file, named like an extract: it was
    either skipped as "a file of unknown kind" or (unreadable) stopped the whole batch with an
    internal error. It is rejected with the reason; the batch's other files load."""
    import os

    batch = write_batch(tmp_path / "batch", {"vitals.csv": vitals_rows(5)}, base=True)
    (batch / "vitals_moved.csv").symlink_to(tmp_path / "nowhere" / "vitals.csv")
    os.mkfifo(batch / "side_effects_pipe.csv")
    report = load(batch, db)
    for name, words in (("vitals_moved.csv", "points to no file"), ("side_effects_pipe.csv", "not a regular file")):
        f = file_report(report, name)
        assert f.status == "rejected" and f.kind == name.split("_")[0].replace("side", "side_effects"), f
        assert f.reason.startswith("cannot be read: ") and words in f.reason, f.reason
    assert file_report(report, "vitals.csv").status == "loaded"
    assert query(db, "SELECT count(*) FROM raw.vitals")[0][0] == 5
    assert report.exit_code == 1
    # Loading the same batch again: the readable files are already loaded, the others still rejected.
    again = load(batch, db)
    assert file_report(again, "vitals.csv").status == "already_loaded"
    assert file_report(again, "vitals_moved.csv").status == "rejected" and again.exit_code == 1


@pytest.mark.parametrize("gz", [False, True])
def test_bad_encoding_names_the_header_or_the_first_data_row_it_is_in(tmp_path, db, gz):
    """A bad byte in data row 1 or 5 was reported as "the header is not UTF-8 text": the header check
    decoded a whole block of the file, not its first line."""
    batch = write_batch(tmp_path / "batch", {}, base=True)
    lines = csv_text(vitals_rows(8)).encode().split(b"\n")
    files = {"vitals_header": (0, "the header is not UTF-8"), "vitals_row1": (1, "data row 1"),
             "vitals_row5": (5, "data row 5")}
    for name, (line, _) in files.items():
        broken = list(lines)
        broken[line] = b"\xe9" + broken[line][1:]  # a Latin-1 é for the line's first character
        data = b"\n".join(broken)
        (batch / (name + (".csv.gz" if gz else ".csv"))).write_bytes(gzip.compress(data) if gz else data)
    report = load(batch, db)
    for name, (line, words) in files.items():
        f = file_report(report, name + (".csv.gz" if gz else ".csv"))
        assert f.status == "rejected" and words in f.reason, (name, f.reason)
        assert ("header" in f.reason) == (line == 0), f.reason


def test_bad_encoding_anywhere_in_the_file_rejects_it(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    rows = [{**v, "comment": "fine"} for v in vitals_rows(400)]
    lines = csv_text(rows).encode().split(b"\n")
    lines[300] = lines[300].replace(b"fine", b"fi\xffne")
    (batch / "vitals.csv").write_bytes(b"\n".join(lines))
    report = load(batch, db)
    f = file_report(report, "vitals.csv")
    assert f.status == "rejected", f


# ------------------------------------------------------------------------------- broken share
SHARE_CASES = {
    # name: (valid rows, broken rows, exact duplicate repeats, expected status)
    "1_of_5_broken_is_20pct_loads": (4, 1, 0, "loaded"),
    "1_of_4_broken_is_25pct_rejected": (3, 1, 0, "rejected"),
    "2_of_10_broken_loads": (8, 2, 0, "loaded"),
    "3_of_10_broken_rejected": (7, 3, 0, "rejected"),
    "duplicates_count_as_read_not_broken": (3, 1, 1, "loaded"),  # 1 broken of 5 read
    "duplicates_count_as_read_not_broken_2": (2, 1, 1, "rejected"),  # 1 broken of 4 read
    "all_broken_rejected": (0, 3, 0, "rejected"),
}


@pytest.fixture(scope="module")
def share_load(tmp_path_factory):
    """One batch, one vitals file per share case; plus orphan and key-conflict files."""
    folder = tmp_path_factory.mktemp("share")
    batch = write_batch(folder / "batch", {}, base=True)
    for i, (name, (valid, broken, dup, _)) in enumerate(SHARE_CASES.items()):
        rows = vitals_rows(valid, 0, day=1 + i) + [
            vital(measured_at=f"2026-10-{1 + i:02d} 11:{j:02d}", systolic_bp="999") for j in range(broken)]
        rows += [rows[0]] * dup
        write_file(batch / f"vitals_{name}.csv", rows)
    # orphans and conflicting keys count as broken
    write_file(batch / "vitals_orphan_1_of_5.csv", vitals_rows(4, 0, day=8) + [vital(session_id="S-NOPE")])
    write_file(batch / "vitals_orphan_1_of_4.csv", vitals_rows(3, 0, day=9) + [vital(session_id="S-NOPE")])
    conflict = vital(measured_at="2026-10-10 12:00")
    write_file(batch / "vitals_conflict_2_of_10.csv",
               vitals_rows(8, 0, day=10) + [conflict, {**conflict, "systolic_bp": "140"}])
    write_file(batch / "vitals_conflict_2_of_9.csv",
               vitals_rows(7, 0, day=11) + [{**conflict, "measured_at": "2026-10-11 12:00"},
                                           {**conflict, "measured_at": "2026-10-11 12:00", "systolic_bp": "141"}])
    db = folder / "wh" / "clinic_analytics.duckdb"
    report = load(batch, db)
    return report, db


EXTRA_SHARE = {"vitals_orphan_1_of_5.csv": "loaded", "vitals_orphan_1_of_4.csv": "rejected",
               "vitals_conflict_2_of_10.csv": "loaded", "vitals_conflict_2_of_9.csv": "rejected"}


@pytest.mark.parametrize("name,expected", [(f"vitals_{n}.csv", c[3]) for n, c in SHARE_CASES.items()]
                         + list(EXTRA_SHARE.items()))
def test_more_than_20_percent_broken_rejects_the_file_exactly_20_loads(share_load, name, expected):
    report, db = share_load
    f = file_report(report, name)
    assert f.status == expected, f
    assert f.rows_read == f.loaded + f.quarantined + f.duplicates
    stored = query(db, "SELECT count(*) FROM raw.vitals WHERE _file = ?", [name])[0][0]
    in_quarantine = query(db, "SELECT count(*) FROM audit.quarantine WHERE file = ?", [name])[0][0]
    if expected == "rejected":
        assert stored == 0 and in_quarantine == 0, "a rejected file left rows in the warehouse"
        assert name in report.to_text() and "20%" in f.reason, f.reason
    else:
        assert stored == f.loaded and in_quarantine == f.quarantined > 0


def test_duplicates_do_not_count_as_broken_in_the_share(share_load):
    report, _ = share_load
    f = file_report(report, "vitals_duplicates_count_as_read_not_broken.csv")
    assert (f.rows_read, f.loaded, f.quarantined, f.duplicates) == (5, 3, 1, 1)


def _share_batch(folder: Path, valid: int, broken: int) -> Path:
    batch = folder
    batch.mkdir(parents=True, exist_ok=True)
    rows = vitals_rows(valid) + [vital(measured_at=f"2026-10-05 11:{j:02d}", systolic_bp="999") for j in range(broken)]
    write_file(batch / "vitals.csv", rows)
    return batch


def test_the_threshold_is_a_setting(tmp_path, db):
    """LoadSettings.max_broken_share: 2 of 5 broken loads at 0.5; 1 of 5 is rejected at 0.1."""
    loaded_base(tmp_path, db)
    before = snapshot(db)
    strict = load(_share_batch(tmp_path / "strict", 4, 1), db, max_broken_share=0.1)
    assert file_report(strict, "vitals.csv").status == "rejected"
    assert snapshot(db) == before


def test_a_laxer_threshold_loads_what_the_default_rejects(tmp_path, db):
    loaded_base(tmp_path, db)
    lax = load(_share_batch(tmp_path / "lax", 3, 2), db, max_broken_share=0.5)
    f = file_report(lax, "vitals.csv")
    assert (f.status, f.loaded, f.quarantined) == ("loaded", 3, 2)


# ------------------------------------------------------------------------------- rejected = unchanged
def test_a_rejected_file_leaves_every_table_exactly_as_it_was(tmp_path, db):
    loaded_base(tmp_path, db)
    version, before = warehouse_version(db), snapshot(db)
    batch = tmp_path / "bad"
    # a corrected re-export of existing keys, a new session and broken rows: 2 of 5 broken
    write_file(batch / "sessions_fix.csv", [
        session(dose_mg="40"), session(session_id="S-NEW-1"), session(session_id="S-NEW-2"),
        session(session_id="S-BAD-1", dose_mg="-1"), session(session_id="S-BAD-2", patient_ref="EHR-P-999999"),
    ])
    write_file(batch / "vitals_missing_column.csv", [vital()], ["session_id", "measured_at", "systolic_bp"])
    (batch / "vitals_garbage.csv.gz").write_bytes(b"\x1f\x8b" + _garbage(200, 3))
    report = load(batch, db)
    assert [f.status for f in report.files] == ["rejected"] * 3
    assert report.exit_code == 1
    assert snapshot(db) == before
    assert warehouse_version(db) == version


def test_a_rejected_file_next_to_a_loaded_one_leaves_its_tables_as_they_were(tmp_path, db):
    loaded_base(tmp_path, db)
    before = snapshot(db)
    batch = tmp_path / "mixed"
    write_file(batch / "sessions_fix.csv", [session(dose_mg="40"), session(session_id="S-NEW-1"),
                                            session(session_id="S-BAD-1", dose_mg="-1")])
    write_file(batch / "vitals.csv", vitals_rows(3))
    report = load(batch, db)
    assert file_report(report, "sessions_fix.csv").status == "rejected"
    assert file_report(report, "vitals.csv").status == "loaded"
    after = snapshot(db)
    for table in ["raw.sessions", "raw.sessions_history", "audit.quarantine"]:
        assert after[table] == before[table], table


# ------------------------------------------------------------------ duplicates and conflicting keys
def test_exact_duplicate_rows_load_once_and_are_counted(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    rows = vitals_rows(6)
    broken = vital(measured_at="2026-10-05 12:00", systolic_bp="999")
    rows = [rows[0], rows[1], rows[0], rows[2], rows[0], broken, rows[3], broken, rows[4], rows[5]]
    write_file(batch / "vitals.csv", rows)
    write_file(batch / "sessions_dup.csv", [session(session_id="S-D1")] * 3 + [session(session_id="S-D2")] * 2)
    report = load(batch, db)
    f = file_report(report, "vitals.csv")
    assert (f.status, f.rows_read, f.loaded, f.quarantined, f.duplicates) == ("loaded", 10, 6, 1, 3), f
    assert query(db, "SELECT count(*), count(DISTINCT measured_at) FROM raw.vitals") == [(6, 6)]
    f = file_report(report, "sessions_dup.csv")
    assert (f.rows_read, f.loaded, f.quarantined, f.duplicates) == (5, 2, 0, 3), f
    assert query(db, "SELECT count(*) FROM raw.sessions WHERE session_id LIKE 'S-D%'")[0][0] == 2
    audit = query(db, "SELECT rows_read, loaded, quarantined, duplicates FROM audit.files WHERE file = 'vitals.csv'")
    assert audit == [(10, 6, 1, 3)]


def test_exact_duplicates_are_found_when_the_key_cannot_be_read(tmp_path, db):
    """Rows whose key is missing or unreadable are compared by the key's text: exact repeats of them
    still load (here: are quarantined) once, and a same-text key with other values is no repeat."""
    batch = write_batch(tmp_path / "batch", {}, base=True)
    garbled = vital(measured_at="not a time")
    blank = vital(measured_at="")
    rows = vitals_rows(12) + [garbled, garbled, {**garbled, "systolic_bp": "131"}, blank, blank, garbled]
    write_file(batch / "vitals.csv", rows)
    report = load(batch, db)
    f = file_report(report, "vitals.csv")
    assert (f.status, f.rows_read, f.loaded, f.quarantined, f.duplicates) == ("loaded", 18, 12, 3, 3), f
    assert sorted(r["row_number"] for r in quarantine(db, "vitals.csv")) == [13, 15, 16]


def test_rows_with_the_same_key_and_different_values_are_all_quarantined(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    a = vital(measured_at="2026-10-05 12:00")
    write_file(batch / "vitals.csv", vitals_rows(8) + [a, {**a, "systolic_bp": "150"}])
    write_file(batch / "sessions_conflict.csv", [session(session_id=f"S-OK-{i}") for i in range(8)] + [
        session(session_id="S-TWICE", dose_mg="35"), session(session_id="S-TWICE", dose_mg="36")])
    write_file(batch / "clinics_more.csv", [clinic(clinic_id=f"C-{i}") for i in range(8)] + [
        clinic(clinic_id="C-TWICE", valid_from="2026-01-01", chairs="5"),
        clinic(clinic_id="C-TWICE", valid_from="2026-01-01", chairs="7"),
        clinic(clinic_id="C-TWICE", valid_from="2026-06-01", chairs="7")])  # another key: loads
    report = load(batch, db)
    for name, rows in [("vitals.csv", (9, 10)), ("sessions_conflict.csv", (9, 10)), ("clinics_more.csv", (9, 10))]:
        f = file_report(report, name)
        assert (f.status, f.quarantined, f.duplicates) == ("loaded", 2, 0), f
        q = quarantine(db, name)
        assert [r["row_number"] for r in q] == list(rows)
        assert all(any("key" in reason for reason in r["reasons"]) for r in q), q
        assert all(r["original"] is not None for r in q)
    assert query(db, "SELECT count(*) FROM raw.sessions WHERE session_id = 'S-TWICE'")[0][0] == 0
    assert query(db, "SELECT valid_from FROM raw.clinics WHERE clinic_id = 'C-TWICE'") == [
        (dt.date(2026, 6, 1),)]


def test_an_unreadable_optional_key_value_is_not_the_same_key_as_an_empty_one(tmp_path, db):
    """valid_from is optional in the clinics key: a row that leaves it empty and a row whose valid_from
    cannot be read are not one key (the second is quarantined for its date alone, the first loads)."""
    batch = write_batch(tmp_path / "batch", {}, base=True)
    write_file(batch / "clinics_more.csv", [clinic(clinic_id=f"C-{i}") for i in range(8)] + [
        clinic(clinic_id="C-DATE", valid_from=""),
        clinic(clinic_id="C-DATE", valid_from="not-a-date", chairs="5")])
    report = load(batch, db)
    f = file_report(report, "clinics_more.csv")
    assert (f.loaded, f.quarantined) == (8 + 1, 1), f
    (q,) = quarantine(db, "clinics_more.csv")
    assert q["row_number"] == 10 and len(q["reasons"]) == 1 and "valid_from" in q["reasons"][0], q
    assert query(db, "SELECT chairs FROM raw.clinics WHERE clinic_id = 'C-DATE'") == [(8,)]


# ---------------------------------------------------------------------------- replacement / history
def test_a_row_whose_key_is_stored_replaces_it_and_the_old_version_goes_to_history(tmp_path, db):
    """Within one batch: a later file of the same kind re-exports keys an earlier file stored."""
    batch = write_batch(tmp_path / "batch", {}, base=True)
    write_file(batch / "sessions_z_correction.csv",
               [session(dose_mg="42"), session(session_id="S-BRAND-NEW")])
    write_file(batch / "vitals_a.csv", vitals_rows(3))
    write_file(batch / "vitals_b.csv", [vital(measured_at="2026-10-05 08:01", systolic_bp="150")])
    report = load(batch, db)
    f = file_report(report, "sessions_z_correction.csv")
    assert (f.status, f.loaded, f.replaced) == ("loaded", 2, 1), f
    assert query(db, "SELECT dose_mg, _file FROM raw.sessions WHERE session_id = ?", [S_KET]) == [
        (42.0, "sessions_z_correction.csv")]
    history = query(db, "SELECT dose_mg, _file FROM raw.sessions_history WHERE session_id = ?", [S_KET])
    assert history == [(35.0, "sessions.csv")]
    f = file_report(report, "vitals_b.csv")
    assert (f.loaded, f.replaced) == (1, 1)
    assert query(db, "SELECT count(*) FROM raw.vitals")[0][0] == 3
    assert query(db, "SELECT systolic_bp FROM raw.vitals_history") == [(128,)]


def test_a_corrected_re_export_in_a_later_load_replaces_and_keeps_history(tmp_path, db):
    loaded_base(tmp_path, db)
    batch = tmp_path / "fix"
    write_file(batch / "sessions_fix.csv", [session(dose_mg="42"), session(session_id="S-BRAND-NEW")])
    report = load(batch, db)
    f = file_report(report, "sessions_fix.csv")
    assert (f.status, f.loaded, f.replaced) == ("loaded", 2, 1), f
    assert query(db, "SELECT dose_mg FROM raw.sessions WHERE session_id = ?", [S_KET]) == [(42.0,)]
    history = query(db, "SELECT dose_mg, _replaced_by_load FROM raw.sessions_history")
    assert history == [(35.0, report.load_id)]
    assert query(db, "SELECT replaced FROM audit.files WHERE file = 'sessions_fix.csv'") == [(1,)]


# ----------------------------------------------------------------------------- already loaded
def test_re_loading_the_same_content_changes_nothing_and_says_so(tmp_path, db):
    first = loaded_base(tmp_path, db)
    version, before = warehouse_version(db), snapshot(db)
    again = load(tmp_path / "base", db)
    assert [f.status for f in again.files] == ["already_loaded"] * 3
    assert all(f.reason for f in again.files)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    shutil.copy(tmp_path / "base" / "sessions.csv", renamed / "sessions_resent_under_another_name.csv")
    shutil.copy(tmp_path / "base" / "clinics.csv", renamed / "clinics_copy.csv")
    third = load(renamed, db)
    assert [f.status for f in third.files] == ["already_loaded"] * 2
    for report in (again, third):
        for f in report.files:
            assert (f.loaded, f.quarantined, f.duplicates, f.replaced) == (0, 0, 0, 0)
    assert snapshot(db) == before and warehouse_version(db) == version
    assert first.published


def test_the_same_content_twice_in_one_batch_loads_once(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    write_file(batch / "vitals_1.csv", vitals_rows(3))
    shutil.copy(batch / "vitals_1.csv", batch / "vitals_2.csv")
    report = load(batch, db)
    assert file_report(report, "vitals_1.csv").status == "loaded"
    assert file_report(report, "vitals_2.csv").status == "already_loaded"
    assert query(db, "SELECT count(*) FROM raw.vitals_history")[0][0] == 0


def test_a_batch_with_an_already_loaded_file_and_a_new_one_loads_only_the_new_one(tmp_path, db):
    loaded_base(tmp_path, db)
    batch = tmp_path / "next"
    batch.mkdir()
    shutil.copy(tmp_path / "base" / "sessions.csv", batch / "sessions.csv")
    write_file(batch / "vitals.csv", vitals_rows(2))
    report = load(batch, db)
    assert file_report(report, "sessions.csv").status == "already_loaded"
    assert file_report(report, "vitals.csv").status == "loaded"
    assert query(db, "SELECT count(*) FROM raw.sessions_history")[0][0] == 0


# ------------------------------------------------------------------------------------ orphans
def test_orphans_are_quarantined_then_loaded_by_a_later_load_once_the_parent_arrives(tmp_path, db):
    batch = write_batch(tmp_path / "first", {}, base=True)
    write_file(batch / "vitals.csv", vitals_rows(4) + [vital(session_id="S-LATE", measured_at="2026-10-06 09:00")])
    write_file(batch / "patients_more.csv", [patient(patient_ref=f"EHR-P-70000{i}") for i in range(4)]
               + [patient(patient_ref="EHR-P-LATE", clinic_id="C-LATE")])
    first = load(batch, db)
    assert file_report(first, "vitals.csv").quarantined == 1
    (orphan,) = quarantine(db, "vitals.csv")
    assert orphan["orphan_only"] and orphan["row_number"] == 5

    later = tmp_path / "later"
    write_file(later / "clinics.csv", [clinic(clinic_id="C-LATE", timezone="America/Denver")])
    write_file(later / "sessions.csv", [session(session_id="S-LATE")])
    report = load(later, db)
    assert report.orphans_resolved == 2  # the vitals row and the patient whose clinic arrived
    assert report.to_json()["orphans"]["loaded"] == 2
    assert query(db, "SELECT _file, _row FROM raw.vitals WHERE session_id = 'S-LATE'") == [("vitals.csv", 5)]
    assert query(db, "SELECT clinic_id FROM raw.patients WHERE patient_ref = ?", [PSEUDO("EHR-P-LATE")]) == [("C-LATE",)]
    resolved = query(db, "SELECT resolved_by_load FROM audit.quarantine WHERE orphan_only")
    assert resolved == [(report.load_id,), (report.load_id,)]
    assert query(db, "SELECT orphans_resolved FROM audit.loads WHERE load_id = ?", [report.load_id]) == [(2,)]


def test_a_chain_of_orphans_resolves_parents_first_with_refs_hashed_once_and_times_in_the_new_zone(tmp_path, db):
    """A patient of an unknown clinic, that patient's session, its vitals and an assessment all wait in
    the quarantine; the clinic arrives in a later load and all four load (patient_ref is hashed once,
    not again from the quarantine's already-pseudonymized copy; offsets convert to the clinic's zone)."""
    batch = write_batch(tmp_path / "first", {}, base=True)
    write_file(batch / "patients_more.csv", [patient(patient_ref=f"EHR-P-8000{i}") for i in range(4)]
               + [patient(patient_ref="EHR-P-CHAIN", clinic_id="C-DENVER")])
    write_file(batch / "sessions_more.csv", [session(session_id=f"S-MORE-{i}") for i in range(4)]
               + [session(session_id="S-CHAIN", patient_ref="EHR-P-CHAIN", clinic_id="C-DENVER")])
    write_file(batch / "vitals.csv", vitals_rows(4) + [vital(session_id="S-CHAIN", measured_at="2026-10-05T15:20:00Z")])
    write_file(batch / "assessments.csv", [assessment(assessment_id=f"A-{i}") for i in range(4)]
               + [assessment(assessment_id="A-CHAIN", patient_ref="EHR-P-CHAIN", assessed_at="2026-10-05T14:45:00Z")])
    first = load(batch, db)
    assert [file_report(first, n).quarantined for n in
            ["patients_more.csv", "sessions_more.csv", "vitals.csv", "assessments.csv"]] == [1, 1, 1, 1]

    later = tmp_path / "later"
    write_file(later / "clinics_denver.csv", [clinic(clinic_id="C-DENVER", timezone="America/Denver")])
    report = load(later, db)
    assert report.orphans_resolved == 4, report.to_json()["orphans"]
    ref = PSEUDO("EHR-P-CHAIN")
    assert query(db, "SELECT patient_ref FROM raw.sessions WHERE session_id = 'S-CHAIN'") == [(ref,)]
    assert query(db, "SELECT count(*) FROM raw.patients WHERE patient_ref = ?", [ref]) == [(1,)]
    # Denver is UTC-6 in October
    assert query(db, "SELECT measured_at FROM raw.vitals WHERE session_id = 'S-CHAIN'") == [
        (dt.datetime(2026, 10, 5, 9, 20),)]
    assert query(db, "SELECT assessed_at, patient_ref FROM raw.assessments WHERE assessment_id = 'A-CHAIN'") == [
        (dt.datetime(2026, 10, 5, 8, 45), ref)]
    assert query(db, "SELECT count(*) FROM audit.quarantine WHERE resolved_by_load IS NULL") == [(0,)]


def test_a_correction_that_waited_for_its_parent_replaces_the_older_stored_row(tmp_path, db):
    """A re-export moves S-KET-1 to a clinic not loaded yet: the corrected row waits in the quarantine;
    when the clinic arrives it replaces the row of the first load, which goes to the history."""
    loaded_base(tmp_path, db)
    fix = tmp_path / "fix"
    write_file(fix / "sessions_fix.csv", [session(session_id=f"S-FIX-{i}") for i in range(4)]
               + [session(clinic_id="C-DENVER", dose_mg="40")])
    first = load(fix, db)
    assert file_report(first, "sessions_fix.csv").quarantined == 1
    later = tmp_path / "later"
    write_file(later / "clinics_denver.csv", [clinic(clinic_id="C-DENVER", timezone="America/Denver")])
    report = load(later, db)
    assert report.orphans_resolved == 1, report.to_json()["orphans"]
    assert query(db, f"SELECT clinic_id, dose_mg FROM raw.sessions WHERE session_id = '{S_KET}'") == [("C-DENVER", 40.0)]
    assert query(db, f"SELECT clinic_id, dose_mg FROM raw.sessions_history WHERE session_id = '{S_KET}'") == [(CHI, 35.0)]
    (q,) = quarantine(db, "sessions_fix.csv")
    assert q["resolution"] == "loaded: its parent arrived" and q["resolved_by_load"] == report.load_id


def test_a_waiting_row_older_than_the_stored_one_is_superseded(tmp_path, db):
    """The other way round: the stored row came from a later load than the waiting one, so it stays."""
    loaded_base(tmp_path, db)
    early = tmp_path / "early"
    write_file(early / "vitals.csv", vitals_rows(4) + [vital(session_id="S-LATE", systolic_bp="120")])
    load(early, db)
    newer = tmp_path / "newer"
    write_file(newer / "clinics_late.csv", [clinic(clinic_id="C-LATE")])
    write_file(newer / "patients_late.csv", [patient(patient_ref="EHR-P-LATE", clinic_id="C-LATE")])
    write_file(newer / "sessions_late.csv", [session(session_id="S-LATE", patient_ref="EHR-P-LATE", clinic_id="C-LATE")])
    write_file(newer / "vitals_late.csv", [vital(session_id="S-LATE", systolic_bp="130")])
    report = load(newer, db)
    # the newer vitals row loaded with its parent in the same batch; the older waiting one gives way
    assert query(db, "SELECT systolic_bp FROM raw.vitals WHERE session_id = 'S-LATE'") == [(130,)]
    (q,) = quarantine(db, "vitals.csv")
    assert q["resolution"].startswith("superseded") and q["resolved_by_load"] == report.load_id


def test_two_versions_of_a_waiting_row_load_as_the_latest_once_the_parent_arrives(tmp_path, db):
    loaded_base(tmp_path, db)
    for n, systolic in [(1, "120"), (2, "130")]:
        batch = tmp_path / f"v{n}"
        write_file(batch / f"vitals_{n}.csv", vitals_rows(4, start_minute=10 * n)
                   + [vital(session_id="S-NOPE", measured_at="2026-10-06 10:00", systolic_bp=systolic)])
        load(batch, db)
    later = tmp_path / "later"
    write_file(later / "sessions_nope.csv", [session(session_id="S-NOPE")])
    report = load(later, db)
    assert report.orphans_resolved == 1, report.to_json()["orphans"]
    assert query(db, "SELECT systolic_bp FROM raw.vitals WHERE session_id = 'S-NOPE'") == [(130,)]
    old, new = quarantine(db, "vitals_1.csv") + quarantine(db, "vitals_2.csv")
    assert old["resolution"] == "superseded: a later version of the row arrived", old
    assert new["resolution"] == "loaded: its parent arrived", new
    assert query(db, "SELECT count(*) FROM audit.quarantine WHERE resolved_by_load IS NULL") == [(0,)]


def test_a_waiting_row_is_checked_against_the_rules_that_need_its_parent_when_the_parent_arrives(tmp_path, db):
    """Without its session's clinic a reading has no instant, so "not in the future" waits. When the
    session arrives the row breaks it: the quarantine then says so, and the row no longer waits. An
    EHR placeholder (9999-12-31 23:59, an instant of year 10000 in Chicago) must not stop that load."""
    loaded_base(tmp_path, db)
    first = tmp_path / "first"
    write_file(first / "vitals.csv", vitals_rows(8) + [
        vital(session_id="S-LATER", measured_at="2030-01-01 09:00"),
        vital(session_id="S-LATER", measured_at="9999-12-31 23:59")])
    load(first, db, max_broken_share=1.0)
    assert all(q["orphan_only"] for q in quarantine(db, "vitals.csv"))
    later = tmp_path / "later"
    write_file(later / "sessions_later.csv", [session(session_id="S-LATER")])
    report = load(later, db)
    assert report.orphans_retried == 2 and report.orphans_resolved == 0, report.to_json()["orphans"]
    for q in quarantine(db, "vitals.csv"):
        assert not q["orphan_only"] and q["resolved_by_load"] is None, q
        assert q["reasons"] == ["measured_at must not be more than one day after the load"], q
    assert file_report(report, "sessions_later.csv").loaded == 1


def test_an_orphan_is_quarantined_with_its_reference_in_words(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    write_file(batch / "side_effects.csv", [side_effect(effect=e) for e in ["nausea", "headache", "anxiety", "other"]]
               + [side_effect(session_id="S-NOT-YET")])
    report = load(batch, db)
    assert file_report(report, "side_effects.csv").quarantined == 1
    (q,) = quarantine(db, "side_effects.csv")
    assert q["orphan_only"] and q["resolved_by_load"] is None
    assert any("session" in r and "known" in r for r in q["reasons"]), q["reasons"]


# ------------------------------------------------------------------------------------ malformed CSV
def test_malformed_csv_lines_are_quarantined_with_their_row_number_and_no_values(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    header = ",".join(COLUMNS["vitals"])
    lines = [header]
    lines += [f"{S_KET},2026-10-05 08:0{i},128,82,74,98,14" for i in range(4)]  # rows 1-4
    lines.append(f'{S_KET},2026-10-05 08:10,128,82,"74\nstill row 5",98,14')  # row 5 spans two lines
    lines.append(f"{S_KET},2026-10-05 08:11,128")  # row 6: too few fields
    lines += [f"{S_KET},2026-10-05 08:2{i},128,82,74,98,14" for i in range(4)]  # rows 7-10
    lines.append(f"{S_KET},2026-10-05 08:30,128,82,74,98,14,PII-extra-field-zq")  # row 11: too many
    lines += [f"{S_KET},2026-10-05 08:4{i},128,82,74,98,14" for i in range(4)]  # rows 12-15
    (batch / "vitals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = load(batch, db)
    f = file_report(report, "vitals.csv")
    assert (f.status, f.rows_read, f.loaded, f.quarantined) == ("loaded", 15, 12, 3), f
    q = {r["row_number"]: r for r in quarantine(db, "vitals.csv")}
    assert sorted(q) == [5, 6, 11]
    for n in (6, 11):
        assert q[n]["original"] is None, "a malformed line's values must not be stored"
        assert q[n]["reasons"] and all(r for r in q[n]["reasons"])
    assert q[5]["original"]["heart_rate"].startswith("74")  # a well-formed row: values kept
    rows = [r[0] for r in query(db, "SELECT _row FROM raw.vitals ORDER BY _row")]
    assert rows == [1, 2, 3, 4, 7, 8, 9, 10, 12, 13, 14, 15]
    minutes = dict(query(db, "SELECT _row, minute(measured_at) FROM raw.vitals"))
    assert minutes[7] == 20 and minutes[12] == 40 and minutes[15] == 43
    assert b"PII-extra-field-zq" not in all_bytes_under(db.parent)


def test_row_numbers_stay_in_file_order_when_blank_lines_precede_a_malformed_line(tmp_path, db):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    lines = [",".join(COLUMNS["vitals"])]
    lines += [f"{S_KET},2026-10-05 08:0{i},128,82,74,98,14" for i in range(1, 4)]
    lines.append("")  # a blank line
    lines.append(f"{S_KET},2026-10-05 08:10")  # malformed: too few fields
    lines += [f"{S_KET},2026-10-05 08:2{i},128,82,74,98,14" for i in range(1, 6)]
    (batch / "vitals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = load(batch, db)
    f = file_report(report, "vitals.csv")
    assert (f.loaded, f.quarantined) == (8, 1), f
    (malformed,) = quarantine(db, "vitals.csv")
    stored = dict(query(db, "SELECT minute(measured_at), _row FROM raw.vitals"))
    # Whichever numbering (data rows, or lines), the malformed line sits between minute 3 and minute 21.
    assert stored[3] < malformed["row_number"] < stored[21], (stored, malformed["row_number"])
    assert stored[21] < stored[22] < stored[23] < stored[24] < stored[25]


def test_a_column_named_twice_rejects_the_file_in_csv_and_parquet(tmp_path, db):
    """CSV refused a repeated column; Parquet loaded the first and hid the second among the ignored
    columns (DuckDB renames it primary_indication_1), so which value counted depended on the format."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    batch = write_batch(tmp_path / "batch", {}, base=True)
    (batch / "patients_dup.csv").write_text("patient_ref,clinic_id,birth_year,primary_indication,Primary Indication\n"
                                            "EHR-P-D1,C-KET,1970,MDD,PTSD\n")
    columns = {"patient_ref": ["EHR-P-D2"], "clinic_id": ["C-KET"], "birth_year": [1971], "primary_indication": ["MDD"]}
    pq.write_table(pa.Table.from_arrays([pa.array(v) for v in columns.values()] + [pa.array(["PTSD"])],
                                        names=[*columns, "primary_indication"]), batch / "patients_dup.parquet")
    pq.write_table(pa.Table.from_arrays([pa.array(v) for v in columns.values()] + [pa.array(["x"])],
                                        names=[*columns, "Patient_Ref"]), batch / "patients_dup_case.parquet")
    # A nested column is one column of the file (its fields are not top-level names): ignored, read.
    nested = pa.table({**{k: v for k, v in columns.items()}, "patient_ref": ["EHR-P-D3"],
                       "extra": pa.array([{"a": 1, "b": {"c": "d"}}])})
    pq.write_table(nested, batch / "patients_nested.parquet")
    report = load(batch, db)
    for name, column in (("patients_dup.csv", "primary_indication"), ("patients_dup.parquet", "primary_indication"),
                         ("patients_dup_case.parquet", "patient_ref")):
        f = file_report(report, name)
        assert f.status == "rejected" and f.reason == f"the header names column {column} twice", (name, f)
    nested_report = file_report(report, "patients_nested.parquet")
    assert nested_report.rows_read == 1 and nested_report.ignored_columns == ["extra"], nested_report


def test_parquet_with_typed_columns_loads_with_the_same_rules(tmp_path, db):
    """Parquet files need not hold text: ints, floats, booleans, dates, times and timestamps (naive
    = clinic wall clock; with a time zone = converted to the clinic's local time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    batch = write_batch(tmp_path / "batch", {}, base=True)
    pq.write_table(pa.table({
        "clinic_id": ["C-PQ"], "clinic_name": ["Parquet Clinic"], "timezone": ["America/Denver"],
        "chairs": pa.array([5], pa.int8()), "opens_at": pa.array([dt.time(8, 0)], pa.time64("us")),
        "closes_at": pa.array([dt.time(17, 30)], pa.time64("us")), "open_days": ["Mon,Tue"],
        "valid_from": pa.array([dt.date(2026, 1, 1)], pa.date32()),
    }), batch / "clinics_typed.parquet")
    pq.write_table(pa.table({
        "patient_ref": ["EHR-P-PQ1"], "clinic_id": ["C-PQ"], "birth_year": pa.array([1970], pa.int64()),
        "primary_indication": ["MDD"], "maoi": pa.array([True]), "opioid": pa.array([False]),
    }), batch / "patients_typed.parquet")
    utc = dt.timezone.utc
    pq.write_table(pa.table({
        "session_id": [S_KET, S_NYC, S_KET, S_KET],
        "measured_at": pa.array([dt.datetime(2026, 10, 5, 14, 0, tzinfo=utc), dt.datetime(2026, 10, 5, 14, 0, tzinfo=utc),
                                 dt.datetime(2026, 10, 5, 14, 1, tzinfo=utc), dt.datetime(2026, 10, 5, 14, 2, tzinfo=utc)],
                                pa.timestamp("us", tz="UTC")),
        "systolic_bp": pa.array([120, 121, 400, 122], pa.int64()),
        "diastolic_bp": pa.array([80.0, 81.0, 82.0, 83.0], pa.float64()),
        "heart_rate": pa.array([70, None, 72, 73], pa.int32()),
    }), batch / "vitals_typed.parquet")
    report = load(batch, db, max_broken_share=0.25)
    for name, counts in [("clinics_typed.parquet", (1, 0)), ("patients_typed.parquet", (1, 0)),
                         ("vitals_typed.parquet", (3, 1))]:
        f = file_report(report, name)
        assert (f.status, f.loaded, f.quarantined) == ("loaded", *counts), f
    assert query(db, "SELECT chairs, opens_at, closes_at, valid_from FROM raw.clinics WHERE clinic_id = 'C-PQ'") == [
        (5, dt.time(8, 0), dt.time(17, 30), dt.date(2026, 1, 1))]
    assert query(db, "SELECT birth_year, primary_indication, maoi, opioid, lamotrigine FROM raw.patients "
                     "WHERE clinic_id = 'C-PQ'") == [(1970, "mdd", True, False, None)]
    local = dict(query(db, "SELECT session_id || '@' || _row, measured_at FROM raw.vitals"))
    assert local == {f"{S_KET}@1": dt.datetime(2026, 10, 5, 9, 0), f"{S_NYC}@2": dt.datetime(2026, 10, 5, 10, 0),
                     f"{S_KET}@4": dt.datetime(2026, 10, 5, 9, 2)}
    (q,) = quarantine(db, "vitals_typed.parquet")
    assert q["row_number"] == 3 and any("systolic_bp" in r for r in q["reasons"])


# ------------------------------------------------------------------------------------------ CLI
REPORT_KEYS = {"file", "kind", "status", "rows_read", "loaded", "quarantined", "duplicates", "replaced", "reason"}


def test_cli_json_is_one_object_with_the_contract_keys_and_exit_0(tmp_path):
    batch = write_batch(tmp_path / "batch", {"vitals.csv": vitals_rows(4) + [vital(session_id="S-NOPE")],
                                             "unknown_kind.csv": [{"a": "1"}]}, base=True)
    for row_file in [batch / "patients.csv"]:  # an identifier column: never on stdout or stderr
        text = row_file.read_text().splitlines()
        row_file.write_text("\n".join([text[0] + ",email"] + [ln + ",PII-cli@mail.example" for ln in text[1:]]) + "\n")
    db = tmp_path / "wh" / "w.duckdb"
    proc = run_cli("load", str(batch), "--db", str(db), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json_stdout(proc)  # the whole stdout is one JSON document
    assert isinstance(out, dict) and {"batch", "files"} <= set(out)
    assert out["batch"] == str(batch)
    for f in out["files"]:
        assert REPORT_KEYS <= set(f), f
        assert f["status"] in {"loaded", "rejected", "already_loaded", "skipped"}
        assert f["rows_read"] == f["loaded"] + f["quarantined"] + f["duplicates"]
    by_name = {f["file"]: f for f in out["files"]}
    assert by_name["vitals.csv"]["quarantined"] == 1 and by_name["vitals.csv"]["kind"] == "vitals"
    assert by_name["unknown_kind.csv"]["status"] == "skipped" and by_name["unknown_kind.csv"]["kind"] is None
    assert by_name["patients.csv"]["reason"] is None
    for secret in ["PII-cli@mail.example", P1, P2]:
        assert secret not in proc.stdout and secret not in proc.stderr
    assert_no_traceback(proc)
    # HMAC-SHA256 of the raw ref with the key from the environment (computed here, not by the product)
    expected = {hmac.new(KEY, ref.encode(), hashlib.sha256).hexdigest() for ref in (P1, P2)}
    assert {r[0] for r in query(db, "SELECT patient_ref FROM raw.patients")} == expected

    again = run_cli("load", str(batch), "--db", str(db), "--format", "json")
    assert again.returncode == 0, again.stderr
    statuses = {f["file"]: f["status"] for f in json_stdout(again)["files"]}
    assert statuses["vitals.csv"] == "already_loaded"


def test_cli_exit_1_when_a_file_is_rejected_and_the_threshold_options(tmp_path):
    batch = write_batch(tmp_path / "batch", {"vitals.csv": vitals_rows(3) + [vital(measured_at="2026-10-05 11:00",
                                                                                     systolic_bp="999")] * 1
                                             + [vital(measured_at="2026-10-05 11:01", systolic_bp="999")]},
                        base=True)  # 2 of 5 broken: 40%
    variants = [
        ("default", [], {}),
        ("option", ["--max-broken-share", "0.5"], {}),
        ("env", [], {"CLINIC_ANALYTICS_MAX_BROKEN_SHARE": "0.5"}),
    ]
    procs = run_cli_many([
        (["load", str(batch), "--db", str(tmp_path / label / "w.duckdb"), "--format", "json", *args], env_for_cli(**env))
        for label, args, env in variants
    ])
    results = {}
    for (label, _, _), proc in zip(variants, procs):
        assert_no_traceback(proc)
        out = json_stdout(proc)
        results[label] = (proc.returncode, {f["file"]: f["status"] for f in out["files"]}["vitals.csv"])
    assert results == {"default": (1, "rejected"), "option": (0, "loaded"), "env": (0, "loaded")}


USAGE_ERRORS = {
    "missing_folder": (["load", "{missing}"], {}),
    "bad_format": (["load", "{batch}", "--format", "xml"], {}),
    "share_above_1": (["load", "{batch}", "--max-broken-share", "1.5"], {}),
    "share_not_a_number": (["load", "{batch}", "--max-broken-share", "lots"], {}),
    "unknown_option": (["load", "{batch}", "--no-such-option"], {}),
    "no_folder": (["load"], {}),
    "bad_env_share": (["load", "{batch}"], {"CLINIC_ANALYTICS_MAX_BROKEN_SHARE": "half"}),
    # DuckDB ran out of memory at 1KB (an internal error) and refuses a size without a unit.
    "memory_too_small": (["load", "{batch}"], {"CLINIC_ANALYTICS_LOAD_MEMORY": "1KB"}),
    "memory_without_unit": (["load", "{batch}"], {"CLINIC_ANALYTICS_LOAD_MEMORY": "2000000000"}),
    "file_not_folder": (["load", "{file}"], {}),
}


@pytest.fixture(scope="module")
def usage_error_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("usage")
    batch = write_batch(root / "batch", {}, base=True)
    names = {"missing": str(root / "no-such-folder"), "batch": str(batch), "file": str(batch / "clinics.csv")}
    calls, dbs = [], {}
    for label, (args, env) in USAGE_ERRORS.items():
        dbs[label] = root / label / "w.duckdb"
        calls.append(([a.format(**names) for a in args] + ["--db", str(dbs[label])], env_for_cli(**env)))
    return dict(zip(USAGE_ERRORS, zip(run_cli_many(calls), dbs.values())))


@pytest.mark.parametrize("label", list(USAGE_ERRORS))
def test_cli_usage_errors_exit_2_with_one_line_and_no_traceback(usage_error_runs, label):
    proc, db = usage_error_runs[label]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert_no_traceback(proc)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 2, proc.stderr  # one clear line (argparse may add its usage line)
    assert proc.stdout.strip() == "", "nothing on stdout for a usage error"
    assert not db.exists(), "a usage error must not create a warehouse"


def test_cli_a_warehouse_path_that_cannot_be_used_is_one_line_exit_2(tmp_path):
    """--db at a folder, a loop of links, a path under a plain file or a damaged published version:
    each was an "internal error" (exit 1), or a wrong reason ("is a plain file" for a folder), and
    left a lock file behind. Each is now one line naming the problem, exit 2, nothing created."""
    batch = write_batch(tmp_path / "batch", {}, base=True)
    folder = tmp_path / "a_folder"
    folder.mkdir()
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    plain = tmp_path / "notes.txt"
    plain.write_text("not a folder")
    damaged = tmp_path / "damaged.duckdb"
    (tmp_path / "damaged.duckdb.versions").mkdir()
    (tmp_path / "damaged.duckdb.versions" / "v000001.duckdb").write_bytes(b"this is not a database" * 100)
    damaged.symlink_to(tmp_path / "damaged.duckdb.versions" / "v000001.duckdb")
    cases = {"is a folder": folder, "leads nowhere": tmp_path / "loop_a", "is a file, not a folder": plain / "w.duckdb",
             "cannot be opened": damaged}
    procs = run_cli_many([(["load", str(batch), "--db", str(db)], None) for db in cases.values()])
    for (words, db), proc in zip(cases.items(), procs, strict=True):
        assert proc.returncode == 2, (words, proc.returncode, proc.stderr)
        assert_no_traceback(proc)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and words in lines[0].lower() and "internal error" not in lines[0], (words, proc.stderr)
    assert list(folder.iterdir()) == [] and not (tmp_path / "a_folder.versions").exists()
    assert not (tmp_path / "loop_a.versions").exists()


def test_cli_text_report_shows_control_characters_in_file_names_as_codes(tmp_path):
    """A file name may hold a newline or a terminal escape sequence: printed raw, it faked a report
    line ("sessions.csv  sessions  loaded ...") and coloured the terminal."""
    batch = write_batch(tmp_path / "batch", {"vitals\n  sessions.csv  sessions  loaded\x1b[31m.csv": vitals_rows(3)},
                        base=True)
    proc = run_cli("load", str(batch), "--db", str(tmp_path / "w.duckdb"))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr
    assert "  vitals\\x0a  sessions.csv  sessions  loaded\\x1b[31m.csv" in proc.stdout
    assert [ln for ln in proc.stdout.splitlines() if ln.lstrip().startswith("sessions.csv")] == [
        next(ln for ln in proc.stdout.splitlines() if ln.startswith("  sessions.csv "))]  # one sessions line: the real file


def test_cli_bad_input_files_exit_1_with_no_traceback(tmp_path):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    (batch / "vitals_garbage.csv").write_bytes(_garbage(500, 9))
    (batch / "sessions_trunc.csv.gz").write_bytes(gzip.compress(csv_text([session(session_id="S-T")]).encode())[:-9])
    (batch / "assessments.parquet").write_bytes(b"not parquet at all")
    db = tmp_path / "wh" / "w.duckdb"
    for fmt in ("json", "text"):
        proc = run_cli("load", str(batch), "--db", str(db), "--format", fmt)
        assert proc.returncode == 1, proc.stderr
        assert_no_traceback(proc)
        if fmt == "json":
            out = json_stdout(proc)
            statuses = {f["file"]: f["status"] for f in out["files"]}
            assert statuses["vitals_garbage.csv"] == statuses["sessions_trunc.csv.gz"] == "rejected"
            assert statuses["assessments.parquet"] == "rejected"
        else:
            for name in ("vitals_garbage.csv", "sessions_trunc.csv.gz", "assessments.parquet"):
                assert name in proc.stdout


def test_cli_warehouse_path_from_the_environment(tmp_path):
    batch = write_batch(tmp_path / "batch", {}, base=True)
    db = tmp_path / "env-wh" / "w.duckdb"
    proc = run_cli("load", str(batch), "--format", "json", env=env_for_cli(CLINIC_ANALYTICS_DB=str(db)))
    assert proc.returncode == 0, proc.stderr
    assert query(db, "SELECT count(*) FROM raw.sessions")[0][0] == 7

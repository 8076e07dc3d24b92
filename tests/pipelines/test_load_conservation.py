"""The conservation law on random input (issue 2, "What must be shown"; contract, "What every row gets").

Whatever a batch holds (random bytes, CSV-ish text under random headers that mix contract columns,
identifier columns and noise, or valid rows mutated cell by cell), the loader returns its report and
never raises; for every file, rows read = loaded + quarantined + duplicates; what the report says is
what the warehouse holds (audit.files, raw.<kind> rows of the file, audit.quarantine rows of the file);
and when nothing was published the warehouse is exactly as it was.

Each example gets its own temporary folder and warehouse. Examples are derandomized so runs repeat.
"""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from load_fixtures import (
    COLUMNS, CONTRACT_IDENTIFIERS, P1, S_CAN, S_ESK, S_KET, S_NYC, assessment, base_rows, clinic, load,
    patient, query, query_dicts, session, side_effect, snapshot, vital, warehouse_version, write_batch,
    write_file,
)

pytestmark = pytest.mark.slow

KINDS = list(COLUMNS)
_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXAMPLES = settings(max_examples=25, **_COMMON)  # cheap: most garbage is rejected at the header
LOADS = settings(max_examples=20, **_COMMON)  # each example loads parents and files (~1 s)
STATUSES = {"loaded", "rejected", "already_loaded", "skipped"}

# Values that are valid somewhere, on an edge, or plain wrong: mutations draw from these.
INTERESTING = [
    "", " ", "0", "-1", "1", "3", "20", "27", "28", "30", "56", "60", "61", "84", "100", "250", "300", "301",
    "600", "601", "-30", "-31", "1.5", "6.5", "1e309", "NaN", "inf", "2147483648", "99999999999999999999",
    "true", "FALSE", "y", "N", "maybe", "F", "m", "x", "u", "mdd", " PTSD ", "other", "iv_ketamine",
    "IM_KETAMINE", "esketamine_nasal", "completed", "stopped_early", "cancelled", "no_show", "PHQ9", "gad7",
    "PAIN_NRS", "MADRS", "PCL5", "nausea", "Dissociation", "severe", "mild", "none", "infusion_stopped",
    "America/Chicago", "Mars/Base", "UTC", "08:00", "25:61", "Mon,Fri", "Funday", "2026-10-05 09:30",
    "2026-10-05T09:30:00Z", "2026-10-05T09:30:00-05:00", "10/05/2026 09:30", "2026-02-30 10:00",
    "2099-01-01 00:00", "2026-10-16 07:00", "1900", "1899", "2027", "2026-01-01", "C-CHI", "C-NYC",
    "C-NOWHERE", P1, "EHR-P-404", S_KET, S_ESK, S_NYC, S_CAN, "S-NOWHERE", "A-1",
    '"', '""', ",", "\n", "a,b", 'quote " inside', "tab\there", "ünïcödé", "\u200b", "🙂", "NULL",
]
NOISE_NAMES = ["room", "Notes", "", " ", "x" * 40, "Session ID", "SYSTOLIC BP", "e-mail", "Date of Birth"]
ALL_NAMES = sorted({c for cols in COLUMNS.values() for c in cols}) + CONTRACT_IDENTIFIERS + NOISE_NAMES

cell = st.one_of(st.sampled_from(INTERESTING), st.text(max_size=12))
name = st.one_of(st.sampled_from(ALL_NAMES), st.text(max_size=10))


# ------------------------------------------------------------------------------------------ checks
def check_conservation(report, db: Path, before: dict | None, version_before) -> None:
    """The report balances, and the warehouse holds exactly what the report says."""
    assert report.files, "every entry of the batch is reported"
    for f in report.files:
        assert f.status in STATUSES, f
        if "_base" not in f.file and currently_in_test_context():  # what examples exercised (--hypothesis-show-statistics)
            event(f"{f.status}{' with quarantine' if f.quarantined and f.status == 'loaded' else ''}"
                  f"{' with duplicates' if f.duplicates and f.status == 'loaded' else ''}")
        assert f.rows_read == f.loaded + f.quarantined + f.duplicates, f
        assert min(f.rows_read, f.loaded, f.quarantined, f.duplicates, f.replaced) >= 0, f
        assert f.replaced <= f.loaded, f
        if f.status == "rejected":
            assert f.reason and "\n" not in f.reason and f.loaded == 0, f
        if f.status in ("skipped", "already_loaded"):
            assert (f.rows_read, f.loaded, f.quarantined) == (0, 0, 0), f
    if not report.published:
        assert not any(f.status == "loaded" and f.loaded for f in report.files), report.files
        if before is None:
            assert warehouse_version(db) is None
        else:
            assert warehouse_version(db) == version_before and snapshot(db) == before
        return
    audit = {r["file"]: r for r in query_dicts(db, "SELECT * FROM audit.files WHERE load_id = ?", [report.load_id])}
    assert sorted(audit) == sorted(f.file for f in report.files)
    for f in report.files:
        row = audit[f.file]
        for field in ("kind", "status", "rows_read", "loaded", "quarantined", "duplicates", "replaced", "reason"):
            assert row[field] == getattr(f, field), (f.file, field, row[field], getattr(f, field))
        if f.status != "loaded" or f.kind is None:
            continue
        stored = query(db, f"SELECT count(*) FROM raw.{f.kind} WHERE _file = ? AND _load_id = ?",
                       [f.file, report.load_id])[0][0]
        replaced_later = query(db, f"SELECT count(*) FROM raw.{f.kind}_history WHERE _file = ? AND _load_id = ?",
                               [f.file, report.load_id])[0][0]
        assert stored + replaced_later == f.loaded, (f.file, stored, replaced_later, f.loaded)
        quarantined = query(db, "SELECT count(*) FROM audit.quarantine WHERE file = ? AND load_id = ?",
                            [f.file, report.load_id])[0][0]
        assert quarantined == f.quarantined, (f.file, quarantined, f.quarantined)
        numbers = [r[0] for r in query(db, "SELECT row_number FROM audit.quarantine WHERE file = ? AND load_id = ?",
                                       [f.file, report.load_id])]
        assert all(1 <= n for n in numbers) and len(numbers) == len(set(numbers)), numbers


PARENTS = {"clinics": [], "patients": ["clinics"], "sessions": ["clinics", "patients"]}


def run(files: dict[str, bytes], with_base: bool, max_broken_share: float = 0.2) -> None:
    """Load the files (plus, with_base, the base rows of the kinds their rows refer to) into a new
    warehouse and check the law."""
    with tempfile.TemporaryDirectory(prefix="conservation-") as tmp:
        batch, db = Path(tmp) / "batch", Path(tmp) / "wh" / "clinic_analytics.duckdb"
        batch.mkdir()
        if with_base:
            kinds = {next(k for k in KINDS if n.startswith(k)) for n in files}
            needed = {p for k in kinds for p in PARENTS.get(k, ["clinics", "patients", "sessions"])}
            base = base_rows()
            for kind in needed:
                write_file(batch / f"{kind}_base.csv", base[kind])
        for file_name, data in files.items():
            (batch / file_name).write_bytes(data)
        report = load(batch, db, max_broken_share=max_broken_share)  # an exception fails the test
        check_conservation(report, db, None, None)


# ----------------------------------------------------------------------------------------- garbage
@st.composite
def garbage_file(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    ext = draw(st.sampled_from([".csv", ".csv.gz", ".parquet"]))
    data = draw(st.binary(max_size=1500))
    if ext == ".csv.gz" and draw(st.booleans()):
        data = gzip.compress(data, mtime=0)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]  # truncated
    if ext == ".parquet" and draw(st.booleans()):
        data = b"PAR1" + data + b"PAR1"
    return f"{kind}_garbage{ext}", data


@EXAMPLES
@given(files=st.lists(garbage_file(), min_size=1, max_size=3, unique_by=lambda f: f[0]))
def test_random_bytes_never_crash_the_loader_and_every_file_balances(files):
    run(dict(files), with_base=False)


@st.composite
def csvish_file(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    header = draw(st.lists(name, min_size=1, max_size=10))
    if draw(st.booleans()):  # usually carry the kind's required columns, so rows get read at all
        header = COLUMNS[kind] + header
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 2), max_size=12))
    quoted = draw(st.booleans())
    if quoted:  # standard quoting: every row is well-formed CSV, perhaps of the wrong width
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerow(header)
        writer.writerows(rows)
        text = out.getvalue()
    else:  # naive joining: stray quotes, commas and newlines make malformed lines
        text = "\n".join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", "\n"]))
    data = (draw(st.sampled_from(["", "\ufeff"])) + text).encode("utf-8")
    ext = draw(st.sampled_from([".csv", ".csv", ".csv.gz"]))
    if ext == ".csv.gz":
        data = gzip.compress(data, mtime=0)
    return f"{kind}_{draw(st.integers(0, 99))}{ext}", data


# The default threshold rejects most random files whole; 1.0 sends their broken rows to the quarantine.
SHARES = st.sampled_from([0.2, 1.0])


@LOADS
@given(files=st.lists(csvish_file(), min_size=1, max_size=3, unique_by=lambda f: f[0]), share=SHARES)
def test_csv_ish_text_under_random_headers_never_crashes_and_every_file_balances(files, share):
    run(dict(files), with_base=True, max_broken_share=share)


# ---------------------------------------------------------------------------------- mutated rows
VALID_ROWS = {
    "clinics": lambda i: clinic(clinic_id=f"C-M{i}"),
    "patients": lambda i: patient(patient_ref=f"EHR-P-M{i}"),
    "sessions": lambda i: session(session_id=f"S-M{i}"),
    "vitals": lambda i: vital(measured_at=f"2026-10-05 10:{i:02d}"),
    "assessments": lambda i: assessment(assessment_id=f"A-M{i}"),
    "side_effects": lambda i: side_effect(effect=["nausea", "headache", "anxiety", "sedation", "other",
                                                  "dizziness", "vomiting", "tachycardia"][i % 8],
                                          session_id=[S_KET, S_NYC][i // 8 % 2]),
}


@st.composite
def mutated_file(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    columns = list(COLUMNS[kind])
    rows = [[VALID_ROWS[kind](i)[c] for c in columns] for i in range(draw(st.integers(1, 10)))]
    for _ in range(draw(st.integers(0, 8))):
        if not rows:
            break
        op = draw(st.sampled_from(["replace", "replace", "replace", "clear", "delete_cell", "duplicate_row",
                                   "drop_row", "copy_cell_from_other_row"]))
        r = draw(st.integers(0, len(rows) - 1))
        if op == "duplicate_row":
            rows.insert(draw(st.integers(0, len(rows))), list(rows[r]))
            continue
        if op == "drop_row":
            rows.pop(r)
            continue
        if not rows[r]:
            continue
        c = draw(st.integers(0, len(rows[r]) - 1))
        if op == "replace":
            rows[r][c] = draw(cell)
        elif op == "clear":
            rows[r][c] = ""
        elif op == "delete_cell":
            rows[r].pop(c)  # the row gets one field too few: a malformed line
        else:
            other = rows[draw(st.integers(0, len(rows) - 1))]
            if c < len(other):
                rows[r][c] = other[c]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([columns, *rows])
    ext = draw(st.sampled_from([".csv", ".csv.gz", ".parquet"]))
    file_name = f"{kind}_mutated{ext}"
    if ext == ".parquet":
        if any(len(r) != len(columns) for r in rows):  # Parquet has no malformed rows: pad/cut
            rows = [(r + [""] * len(columns))[: len(columns)] for r in rows]
        buf = io.BytesIO()
        with tempfile.TemporaryDirectory() as tmp:
            path = write_file(Path(tmp) / file_name, [dict(zip(columns, r)) for r in rows], columns)
            buf.write(path.read_bytes())
        return file_name, buf.getvalue()
    data = out.getvalue().encode("utf-8")
    return file_name, gzip.compress(data, mtime=0) if ext == ".csv.gz" else data


@LOADS
@given(files=st.lists(mutated_file(), min_size=1, max_size=3, unique_by=lambda f: f[0]), share=SHARES)
def test_mutated_valid_rows_never_crash_and_every_file_balances(files, share):
    run(dict(files), with_base=True, max_broken_share=share)


def test_a_batch_of_only_rejected_files_leaves_no_warehouse_behind(tmp_path):
    """The 'nothing published' branch of the checks, on purpose once."""
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "vitals.csv").write_bytes(b"\xff\xfe\x00garbage")
    db = tmp_path / "wh" / "w.duckdb"
    report = load(batch, db)
    assert [f.status for f in report.files] == ["rejected"] and not report.published
    check_conservation(report, db, None, None)


def test_the_base_batch_balances(tmp_path):
    """The checks themselves hold on a known-good batch (a guard against a vacuous property)."""
    db = tmp_path / "wh" / "w.duckdb"
    rows = base_rows()
    report = load(write_batch(tmp_path / "batch", {"vitals.csv": [vital()]}, base=True), db)
    assert report.published
    check_conservation(report, db, None, None)
    assert sum(f.loaded for f in report.files) == sum(len(r) for r in rows.values()) + 1

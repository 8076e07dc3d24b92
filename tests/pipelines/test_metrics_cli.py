"""`python -m pipelines metrics` end to end: a small CSV batch goes through the real loader, then the
command runs as a subprocess and its stdout must be exactly one JSON object of the contract's shape,
with figures hand-computed from the batch below.

The batch: OKC (America/Chicago, 4 chairs, 08:00-17:00 Mon-Fri) and NYC (America/New_York, 2 chairs,
09:00-18:00 Mon/Wed/Fri). P1 (home OKC): six IV sessions at OKC on Mar 3, 5, 7, 10, 12, 14 2025 at
09:00 (check-in 08:45, discharge 10:15) and a booster on Apr 11 (28 days after Mar 14). P2 (home NYC):
two sessions at NYC on Mar 3 and 5 at 10:00 (check-in 09:45, discharge 11:15) and a no-show on Mar 7.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer

ROOT = Path(__file__).resolve().parents[2]
OKC_DAYS = ["2025-03-03", "2025-03-05", "2025-03-07", "2025-03-10", "2025-03-12", "2025-03-14"]


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    with open(folder / name, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)


def _session(sid, patient, clinic, day, hour, status="completed"):
    treated = status in ("completed", "stopped_early")
    at = lambda h, m: f"{day} {h:02d}:{m:02d}"  # noqa: E731
    return {
        "session_id": sid, "patient_ref": patient, "clinic_id": clinic, "chair_id": "1" if treated else "",
        "modality": "iv_ketamine", "status": status, "scheduled_start": at(hour - 1, 45),
        "checkin_at": at(hour - 1, 45) if treated else "", "treatment_start": at(hour, 0) if treated else "",
        "treatment_end": at(hour, 40) if treated else "", "discharge_at": at(hour + 1, 15) if treated else "",
        "dose_mg": "35" if treated else "", "weight_kg": "70" if treated else "",
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    batch = tmp_path_factory.mktemp("batch")
    _write(batch, "clinics.csv", [
        {"clinic_id": "OKC", "clinic_name": "Oklahoma City", "timezone": "America/Chicago", "chairs": "4",
         "opens_at": "08:00", "closes_at": "17:00", "open_days": "Mon,Tue,Wed,Thu,Fri", "valid_from": ""},
        {"clinic_id": "NYC", "clinic_name": "New York", "timezone": "America/New_York", "chairs": "2",
         "opens_at": "09:00", "closes_at": "18:00", "open_days": "Mon,Wed,Fri", "valid_from": ""},
    ])
    _write(batch, "patients.csv", [
        {"patient_ref": "EHR-1", "clinic_id": "OKC", "primary_indication": "mdd"},
        {"patient_ref": "EHR-2", "clinic_id": "NYC", "primary_indication": "ptsd"},
    ])
    sessions = [_session(f"K{i + 1}", "EHR-1", "OKC", day, 9) for i, day in enumerate(OKC_DAYS)]
    sessions += [_session("K7", "EHR-1", "OKC", "2025-04-11", 9),
                 _session("N1", "EHR-2", "NYC", "2025-03-03", 10), _session("N2", "EHR-2", "NYC", "2025-03-05", 10),
                 _session("N3", "EHR-2", "NYC", "2025-03-07", 10, status="no_show")]
    _write(batch, "sessions.csv", sessions)
    _write(batch, "vitals.csv", [
        {"session_id": "K1", "measured_at": "2025-03-03 09:00", "systolic_bp": "130", "diastolic_bp": "80"},
        {"session_id": "K1", "measured_at": "2025-03-03 09:40", "systolic_bp": "180", "diastolic_bp": "95"},
        {"session_id": "K2", "measured_at": "2025-03-05 09:00", "systolic_bp": "120", "diastolic_bp": "80"},
        {"session_id": "K2", "measured_at": "2025-03-05 09:40", "systolic_bp": "179", "diastolic_bp": "109"},
        {"session_id": "N1", "measured_at": "2025-03-03 10:00", "systolic_bp": "125", "diastolic_bp": "80"},
    ])
    _write(batch, "assessments.csv", [
        # P1: baseline given with an offset (09:00 in Chicago), follow-up 6 days after induction end
        {"assessment_id": "A1", "patient_ref": "EHR-1", "assessed_at": "2025-03-01T09:00:00-06:00",
         "instrument": "PHQ9", "score": "20"},
        {"assessment_id": "A2", "patient_ref": "EHR-1", "assessed_at": "2025-03-20 09:00", "instrument": "PHQ9",
         "score": "9"},
        {"assessment_id": "A3", "patient_ref": "EHR-1", "assessed_at": "2025-03-02 09:00", "instrument": "GAD7",
         "score": "12"},
        {"assessment_id": "A4", "patient_ref": "EHR-1", "assessed_at": "2025-03-21 09:00", "instrument": "GAD7",
         "score": "4"},
        # P2: 14:30Z is 09:30 in New York, before the 10:00 course start (its UTC clock reads later)
        {"assessment_id": "A5", "patient_ref": "EHR-2", "assessed_at": "2025-03-03T14:30:00Z",
         "instrument": "PHQ9", "score": "15"},
    ])
    _write(batch, "side_effects.csv", [
        {"session_id": "K1", "effect": "dizziness", "severity": "mild"},
        {"session_id": "K2", "effect": "nausea", "severity": "moderate", "intervention": "ondansetron"},
        {"session_id": "K2", "effect": "dizziness", "severity": "mild"},
        {"session_id": "N1", "effect": "dissociation", "severity": "mild"},
    ])
    db = tmp_path_factory.mktemp("wh") / "clinic_analytics.duckdb"
    report = load_batch(batch, db=db, pseudonymizer=Pseudonymizer(b"m" * 32), now=dt.datetime(2026, 1, 1))
    assert report.published and all(f.status == "loaded" and f.quarantined == 0 for f in report.files), \
        report.to_text()
    return db


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", "metrics", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=60)


def metrics(db: Path, *args: str) -> dict:
    done = run("--db", str(db), "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, "stdout must be one JSON line"
    return json.loads(done.stdout)


def by(rows: list[dict], key: str) -> dict:
    values = [r[key] for r in rows]
    assert len(values) == len(set(values)), f"duplicate {key} entries"
    return {r[key]: r for r in rows}


def wilson(x, n):
    return list(proportion_confint(x, n, alpha=0.05, method="wilson"))


def test_stdout_is_one_json_object_of_the_contract_shape(warehouse):
    out = metrics(warehouse)
    assert set(out) == {"period", "clinics", "courses", "outcomes", "treated_sessions", "side_effects",
                        "bp_elevation", "boosters", "utilization"}
    assert set(out["period"]) == {"start", "end"}
    for row in out["outcomes"]:
        assert set(row) == {"instrument", "courses_with_baseline", "evaluable", "responders", "response_rate",
                            "response_ci", "remitters", "remission_rate", "remission_ci"}
    for row in out["side_effects"]:
        assert set(row) == {"effect", "sessions", "rate"}
    assert set(out["bp_elevation"]) == {"sessions_with_vitals", "sessions", "rate"}
    assert set(out["boosters"]) == {"intervals", "median_days", "p25_days", "p75_days"}
    for row in out["utilization"]:
        assert set(row) == {"clinic_id", "available_chair_hours", "occupied_chair_hours", "utilization"}


def test_all_clinics_over_the_whole_data_range(warehouse):
    out = metrics(warehouse)
    assert out["period"] == {"start": "2025-03-03", "end": "2025-04-11"}
    assert sorted(out["clinics"]) == ["NYC", "OKC"]
    assert out["courses"] == 2
    outcomes = by(out["outcomes"], "instrument")
    assert set(outcomes) == {"PHQ9", "GAD7"}  # instruments with at least one course with a baseline
    phq9 = outcomes["PHQ9"]
    assert (phq9["courses_with_baseline"], phq9["evaluable"], phq9["responders"], phq9["remitters"]) == (2, 1, 1, 0)
    assert phq9["response_rate"] == 1.0 and phq9["remission_rate"] == 0.0
    assert phq9["response_ci"] == pytest.approx(wilson(1, 1), abs=1e-12)
    assert phq9["remission_ci"] == pytest.approx(wilson(0, 1), abs=1e-12)
    gad7 = outcomes["GAD7"]
    assert (gad7["evaluable"], gad7["responders"], gad7["remitters"]) == (1, 1, 1)
    assert out["treated_sessions"] == 9
    effects = by(out["side_effects"], "effect")
    assert {e: (r["sessions"], r["rate"]) for e, r in effects.items()} == {
        "any": (3, 3 / 9), "dizziness": (2, 2 / 9), "nausea": (1, 1 / 9), "dissociation": (1, 1 / 9)}
    assert out["bp_elevation"] == {"sessions_with_vitals": 3, "sessions": 1, "rate": 1 / 3}
    assert out["boosters"] == {"intervals": 1, "median_days": 28.0, "p25_days": 28.0, "p75_days": 28.0}
    util = by(out["utilization"], "clinic_id")
    # OKC: 30 weekdays x 4 chairs x 9 h; 7 sessions x 1.5 h. NYC: 18 Mon/Wed/Fri x 2 x 9 h; 2 x 1.5 h
    assert util["OKC"]["available_chair_hours"] == 1080.0 and util["OKC"]["occupied_chair_hours"] == 10.5
    assert util["OKC"]["utilization"] == 10.5 / 1080
    assert util["NYC"]["available_chair_hours"] == 324.0 and util["NYC"]["occupied_chair_hours"] == 3.0
    assert util["NYC"]["utilization"] == 3.0 / 324


def test_one_clinic_has_its_own_default_period_and_null_rates(warehouse):
    out = metrics(warehouse, "--clinic", "NYC")
    assert out["period"] == {"start": "2025-03-03", "end": "2025-03-07"}  # the no-show counts for the period
    assert out["clinics"] == ["NYC"]
    assert out["courses"] == 1 and out["treated_sessions"] == 2
    [phq9] = out["outcomes"]
    assert phq9["instrument"] == "PHQ9" and phq9["courses_with_baseline"] == 1 and phq9["evaluable"] == 0
    assert phq9["response_rate"] is None and phq9["response_ci"] is None
    assert phq9["remission_rate"] is None and phq9["remission_ci"] is None
    assert by(out["side_effects"], "effect") == {
        "any": {"effect": "any", "sessions": 1, "rate": 0.5},
        "dissociation": {"effect": "dissociation", "sessions": 1, "rate": 0.5}}
    assert out["bp_elevation"] == {"sessions_with_vitals": 1, "sessions": 0, "rate": 0.0}
    assert out["boosters"] == {"intervals": 0, "median_days": None, "p25_days": None, "p75_days": None}
    assert out["utilization"] == [
        {"clinic_id": "NYC", "available_chair_hours": 54.0, "occupied_chair_hours": 3.0, "utilization": 3.0 / 54}]


def test_repeated_clinics_and_an_explicit_day(warehouse):
    out = metrics(warehouse, "--clinic", "OKC", "--clinic", "NYC", "--clinic", "OKC",
                  "--start", "2025-03-05", "--end", "2025-03-05")
    assert out["period"] == {"start": "2025-03-05", "end": "2025-03-05"}
    assert sorted(out["clinics"]) == ["NYC", "OKC"]
    assert out["courses"] == 0 and out["outcomes"] == []
    assert out["treated_sessions"] == 2
    assert {r["effect"]: r["sessions"] for r in out["side_effects"]} == {"any": 1, "nausea": 1, "dizziness": 1}
    assert out["bp_elevation"] == {"sessions_with_vitals": 1, "sessions": 0, "rate": 0.0}
    util = by(out["utilization"], "clinic_id")
    assert util["OKC"]["available_chair_hours"] == 36.0 and util["OKC"]["occupied_chair_hours"] == 1.5
    assert util["NYC"]["available_chair_hours"] == 18.0 and util["NYC"]["occupied_chair_hours"] == 1.5


def test_a_period_without_sessions_keeps_every_key_with_zero_counts_and_null_rates(warehouse):
    out = metrics(warehouse, "--start", "2025-03-08", "--end", "2025-03-09")  # a weekend
    assert out["courses"] == 0 and out["treated_sessions"] == 0 and out["outcomes"] == []
    assert out["side_effects"] == [{"effect": "any", "sessions": 0, "rate": None}]
    assert out["bp_elevation"] == {"sessions_with_vitals": 0, "sessions": 0, "rate": None}
    assert all(r["available_chair_hours"] == 0 and r["utilization"] is None for r in out["utilization"])
    assert len(out["utilization"]) == 2


def test_a_period_beyond_the_data_says_why_utilization_reads_low_on_stderr_only(warehouse):
    """An audit asked for Apr-Sep on data to 30 Jun and read 37% utilization for a clinic at 75%: the
    contract counts the empty months' open days as available. The JSON stays the contract's; stderr says so."""
    inside = run("--db", str(warehouse), "--start", "2025-03-03", "--end", "2025-03-05")
    assert inside.returncode == 0 and inside.stderr == ""
    done = run("--db", str(warehouse), "--start", "2025-03-01", "--end", "2025-06-30")  # data: 3 Mar - 11 Apr
    assert done.returncode == 0 and json.loads(done.stdout)["period"] == {"start": "2025-03-01", "end": "2025-06-30"}
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: the period ")
    assert "ends after the data's last day (2025-04-11)" in lines[0] and "utilization reads low" in lines[0]
    assert "starts before the data's first day" in lines[0]


def test_the_library_gives_the_same_object(warehouse):
    from pipelines.metrics import compute_metrics

    assert compute_metrics(warehouse, clinics=["OKC"], start="2025-03-01") == metrics(
        warehouse, "--clinic", "OKC", "--start", "2025-03-01")


@pytest.mark.parametrize("args, words", [
    (["--start", "2025-13-01"], "--start"),
    (["--end", "03/05/2025"], "--end"),
    (["--start", "2025-3-5"], "--start"),
    (["--format", "csv"], "--format"),
    (["--bogus"], "--bogus"),
    (["--start", "2025-03-06", "--end", "2025-03-05"], "after"),
    (["--clinic", "XYZ"], "XYZ"),
])
def test_bad_input_exits_2_with_one_line_and_nothing_on_stdout(warehouse, args, words):
    done = run("--db", str(warehouse), *args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr


def test_a_missing_warehouse_exits_2_with_one_line(tmp_path):
    done = run("--db", str(tmp_path / "nothing.duckdb"))
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "load" in done.stderr


def test_the_db_comes_from_the_environment_when_not_given(warehouse):
    done = run("--format", "json", env={"CLINIC_ANALYTICS_DB": str(warehouse)})
    assert done.returncode == 0 and json.loads(done.stdout)["courses"] == 2


def test_the_metrics_code_path_imports_no_dataframe_or_validation_library(warehouse):
    # The metrics module's own path: its parser and run(). (The dispatcher also imports every other
    # command's module to build its parser; those must stay light too, but are not this module's.)
    code = (
        "import sys, io, argparse, contextlib\n"
        "from pipelines.metrics import cli\n"
        "root = argparse.ArgumentParser(); sub = root.add_subparsers()\n"
        "cli.add_parser(sub)\n"
        f"args = root.parse_args(['metrics', '--db', {str(warehouse)!r}, '--start', '2025-03-01'])\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert args.run(args) == 0\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'polars', 'great_expectations', 'numpy'})\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

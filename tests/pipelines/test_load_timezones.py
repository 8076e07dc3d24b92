"""Vital-sign instants: the loader's shortcut (a reading inside its session takes the session's UTC
offset when the offset does not change during the session) must give exactly the instant the
time-zone database gives, also on daylight-saving nights and for readings outside the session."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb

from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer

CHICAGO = ZoneInfo("America/Chicago")


def _utc(local: str) -> dt.datetime:
    naive = dt.datetime.fromisoformat(local)
    return naive.replace(tzinfo=CHICAGO).astimezone(dt.UTC).replace(tzinfo=None)


def test_vitals_instants_match_the_time_zone_database(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "clinics.csv").write_text(
        "clinic_id,clinic_name,timezone,chairs,opens_at,closes_at,open_days\n"
        "CHI,Chicago,America/Chicago,4,00:00,23:59,\"Mon,Tue,Wed,Thu,Fri,Sat,Sun\"\n")
    (batch / "patients.csv").write_text("patient_ref,clinic_id,primary_indication\nP1,CHI,mdd\n")
    sessions = [
        # an ordinary afternoon
        ("S1", "2025-06-10 14:00", "2025-06-10 14:10", "2025-06-10 14:50", "2025-06-10 15:30"),
        # spring forward (2025-03-09 02:00 -> 03:00) happens during the session
        ("S2", "2025-03-09 01:20", "2025-03-09 01:30", "2025-03-09 03:10", "2025-03-09 03:40"),
        # fall back (2025-11-02 02:00 -> 01:00): offsets differ at check-in and discharge
        ("S3", "2025-11-02 00:20", "2025-11-02 00:30", "2025-11-02 01:10", "2025-11-02 03:40"),
    ]
    (batch / "sessions.csv").write_text(
        "session_id,patient_ref,clinic_id,chair_id,modality,status,scheduled_start,checkin_at,"
        "treatment_start,treatment_end,discharge_at,dose_mg,weight_kg\n"
        + "".join(f"{sid},P1,CHI,C1,iv_ketamine,completed,{a},{a},{b},{c},{d},40,80\n" for sid, a, b, c, d in sessions))
    readings = [
        ("S1", "2025-06-10 14:05"), ("S1", "2025-06-10 15:30"),
        ("S1", "2025-06-10 13:50"), ("S1", "2025-06-10 16:00"),  # before check-in / after discharge
        ("S2", "2025-03-09 01:45"), ("S2", "2025-03-09 03:15"),
        ("S3", "2025-11-02 00:40"), ("S3", "2025-11-02 03:30"),
    ]
    (batch / "vitals.csv").write_text(
        "session_id,measured_at,systolic_bp,diastolic_bp\n" + "".join(f"{s},{t},130,80\n" for s, t in readings))
    db = tmp_path / "wh" / "w.duckdb"
    report = load_batch(batch, db=db, pseudonymizer=Pseudonymizer(b"k" * 32), now=dt.datetime(2026, 1, 1))
    assert [f.loaded for f in report.files] == [1, 1, 3, len(readings)]
    con = duckdb.connect(str(db.resolve()), read_only=True)
    stored = {(s, t.strftime("%Y-%m-%d %H:%M")): u for s, t, u in
              con.execute("select session_id, measured_at, measured_at_utc from raw.vitals").fetchall()}
    for session, local in readings:
        assert stored[(session, local)] == _utc(local), (session, local)

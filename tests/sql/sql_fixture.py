"""A tiny warehouse for the model tests: rows go straight into raw.* (as the loader would store them),
then the real models and macros are built in an in-memory DuckDB and queried.

Timestamps are given as the clinic's local wall-clock time ("2025-03-03 09:00") or with an offset
("2025-03-03T15:00:00Z"); like the loader, the builder keeps the local time in the clinic's zone and the
instant in `<col>_utc`. Sessions read their clinic's zone; vitals their session's clinic; assessments
their session's clinic when session_id is given, else the patient's home clinic (extracts.md).
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import duckdb
from pipelines.warehouse import models, schema

UTC = ZoneInfo("UTC")


def _parse(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_and_utc(value, tz: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(local wall-clock time in tz, naive UTC instant) of a naive-local or offset timestamp."""
    ts = _parse(value)
    if ts is None:
        return None, None
    zone = ZoneInfo(tz)
    aware = ts.replace(tzinfo=zone) if ts.tzinfo is None else ts
    return aware.astimezone(zone).replace(tzinfo=None), aware.astimezone(UTC).replace(tzinfo=None)


def shift(value: str, **delta) -> str:
    return (_parse(value) + dt.timedelta(**delta)).isoformat(sep=" ")


class Warehouse:
    """Rows in, models built, queries out."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        schema.create_all(self.con)
        self._row = itertools.count(1)
        self.clinic_tz: dict[str, str] = {}
        self.home_clinic: dict[str, str] = {}
        self.session_clinic: dict[str, str] = {}
        self._ids = itertools.count(1)

    # -- extracts --------------------------------------------------------------------------
    def _insert(self, kind: str, values: dict) -> None:
        cols = [name for name, _ in schema.stored_columns(kind)]
        row = [values.get(c) for c in cols] + [1, f"{kind}.csv", next(self._row)]
        marks = ", ".join("?" for _ in row)
        self.con.execute(f"INSERT INTO raw.{kind} VALUES ({marks})", row)

    def clinic(self, clinic_id="OKC", tz="America/Chicago", chairs=4, opens="08:00", closes="17:00",
               days="Mon,Tue,Wed,Thu,Fri", valid_from=None, name=None):
        self.clinic_tz[clinic_id] = tz
        self._insert("clinics", {
            "clinic_id": clinic_id, "clinic_name": name or clinic_id, "timezone": tz, "chairs": chairs,
            "opens_at": dt.time.fromisoformat(opens), "closes_at": dt.time.fromisoformat(closes),
            "open_days": days, "valid_from": dt.date.fromisoformat(valid_from) if valid_from else None,
        })
        return self

    def patient(self, ref="P1", clinic="OKC", indication="mdd", maoi=False, lamotrigine=False,
                benzodiazepine=False, opioid=False):
        self.home_clinic[ref] = clinic
        self._insert("patients", {
            "patient_ref": ref, "clinic_id": clinic, "birth_year": 1980, "sex": "F",
            "primary_indication": indication, "maoi": maoi, "lamotrigine": lamotrigine,
            "benzodiazepine": benzodiazepine, "opioid": opioid,
        })
        return self

    def session(self, session_id=None, patient="P1", clinic="OKC", start="2025-03-03 09:00",
                modality="iv_ketamine", status="completed", checkin=None, end=None, discharge=None,
                scheduled=None, dose=35.0, weight=70.0, chair="1"):
        """A treated session starting at `start` (local); by default check-in 15 min before, 40 min of
        infusion and discharge 75 min after start. Cancelled/no-show sessions keep only scheduled_start."""
        session_id = session_id or f"S{next(self._ids)}"
        tz = self.clinic_tz[clinic]
        self.session_clinic[session_id] = clinic
        treated = status in ("completed", "stopped_early")
        if treated:
            checkin = checkin or shift(start, minutes=-15)
            end = end or shift(start, minutes=40)
            discharge = discharge or shift(start, minutes=75)
            scheduled = scheduled or checkin
        else:
            scheduled = scheduled or start
        values = {
            "session_id": session_id, "patient_ref": patient, "clinic_id": clinic,
            "chair_id": chair if treated else None, "modality": modality, "status": status,
            "dose_mg": dose if treated else None,
            "weight_kg": weight if treated and modality != "esketamine_nasal" else None,
        }
        for col, value in (("scheduled_start", scheduled), ("checkin_at", checkin if treated else None),
                           ("treatment_start", start if treated else None),
                           ("treatment_end", end if treated else None),
                           ("discharge_at", discharge if treated else None)):
            values[col], values[f"{col}_utc"] = local_and_utc(value, tz)
        self._insert("sessions", values)
        return session_id

    def vitals(self, session_id, at, systolic=120, diastolic=80, heart_rate=72, spo2=98, respiratory_rate=14):
        local, utc = local_and_utc(at, self.clinic_tz[self.session_clinic[session_id]])
        self._insert("vitals", {
            "session_id": session_id, "measured_at": local, "measured_at_utc": utc, "systolic_bp": systolic,
            "diastolic_bp": diastolic, "heart_rate": heart_rate, "spo2": spo2,
            "respiratory_rate": respiratory_rate,
        })

    def assessment(self, at, score, instrument="PHQ9", patient="P1", session_id=None, item9=None,
                   assessment_id=None):
        clinic = self.session_clinic[session_id] if session_id else self.home_clinic[patient]
        local, utc = local_and_utc(at, self.clinic_tz[clinic])
        self._insert("assessments", {
            "assessment_id": assessment_id or f"A{next(self._ids)}", "patient_ref": patient,
            "assessed_at": local, "assessed_at_utc": utc, "instrument": instrument, "score": float(score),
            "session_id": session_id, "item9": item9,
        })

    def side_effect(self, session_id, effect, severity="mild", intervention=None, onset=None):
        self._insert("side_effects", {
            "session_id": session_id, "effect": effect, "severity": severity, "onset_min": onset,
            "intervention": intervention,
        })

    # -- models ----------------------------------------------------------------------------
    def build(self) -> "Warehouse":
        models.build_all(self.con)
        return self

    def rows(self, sql: str, params=None) -> list[dict]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def one(self, sql: str, params=None) -> dict:
        rows = self.rows(sql, params)
        assert len(rows) == 1, f"expected one row, got {len(rows)}: {rows}"
        return rows[0]

    def value(self, sql: str, params=None):
        return self.con.execute(sql, params or []).fetchone()[0]


def ketamine_course(w: Warehouse, first_start: str, patient="P1", clinic="OKC", sessions=6, every_days=3,
                    modality="iv_ketamine") -> list[str]:
    """`sessions` treated sessions `every_days` apart at the same clock time; returns their ids."""
    return [w.session(patient=patient, clinic=clinic, start=shift(first_start, days=i * every_days),
                      modality=modality)
            for i in range(sessions)]


def data_until(w: Warehouse, day: str, patient="P1", clinic="OKC") -> str:
    """Make `day` the data's last day with a cancelled session (not treated: no course, no treated session)."""
    return w.session(patient=patient, clinic=clinic, start=f"{day} 09:00", status="cancelled")

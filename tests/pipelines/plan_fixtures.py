"""Synthetic planning inputs: a clinic described by hand, so the model can be exercised without a
warehouse (the property tests run it hundreds of times)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.plan.inputs import BOOSTER_WEEKS, CONTINUATION_DAYS, ClinicCapacity, ClinicInputs, CourseState
from pipelines.plan.protocol import DEFAULT_DAYS, DEFAULT_GAPS, INDUCTION_SIZE

AS_OF = dt.date(2026, 3, 2)  # a Monday


def booster_rates(per_year: float = 1.8) -> np.ndarray:
    """Boosters per completed course by week since induction: none for 4 weeks, then a decaying rate."""
    weeks = np.arange(BOOSTER_WEEKS)
    shape = np.where(weeks >= 4, np.exp(-(weeks - 4) / 20.0), 0.0)
    return per_year * shape / shape[:52].sum()


def inputs(
    *,
    chairs: int = 6,
    opens: str = "08:00",
    closes: str = "18:00",
    open_days: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri"),
    new_courses_per_week: float = 25.0,
    history_weeks: int = 30,
    in_induction: int = 40,
    past_induction: int = 200,
    no_show_rate: float = 0.05,
    esketamine_share: float = 0.15,
    as_of: dt.date = AS_OF,
) -> ClinicInputs:
    weekdays = np.array([d in open_days for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")], dtype=float)
    share = weekdays / weekdays.sum()
    profile = np.zeros((7, 24))
    profile[:, 8:18] = 1.0
    profile[:, 10:13] += 1.0  # a late-morning peak
    profile /= profile.sum(axis=1, keepdims=True)
    first_week = as_of - dt.timedelta(days=as_of.weekday(), weeks=history_weeks)
    weeks = tuple(first_week + dt.timedelta(weeks=i) for i in range(history_weeks))
    counts = np.full(history_weeks, float(new_courses_per_week))
    states = []
    for i in range(in_induction):
        family = "esketamine" if i % 7 == 0 else "ketamine"
        states.append(CourseState(family, "esketamine_nasal" if family == "esketamine" else "iv_ketamine",
                                  "induction", 1 + i % (INDUCTION_SIZE[family] - 1),
                                  as_of - dt.timedelta(days=1 + i % 6), 1))
    for i in range(past_induction):
        family = "esketamine" if i % 7 == 0 else "ketamine"
        states.append(CourseState(family, "esketamine_nasal" if family == "esketamine" else "iv_ketamine",
                                  "maintenance", INDUCTION_SIZE[family],
                                  as_of - dt.timedelta(days=3 + (i * 3) % 300), 1))
    funnel = {"ketamine": np.array([1.0, 0.8, 0.71, 0.63, 0.56, 0.5]),
              "esketamine": np.array([1.0, 0.82, 0.75, 0.69, 0.64, 0.6, 0.54, 0.5])}
    continuation = {}
    for family, f in funnel.items():
        steps = f[1:] / f[:-1]
        fade = np.clip(1 - np.arange(CONTINUATION_DAYS) / 10.0, 0, 1)
        continuation[family] = np.repeat(np.outer(steps, fade)[:, None, :], 7, axis=1)
    next_gap = {}
    for family, f in funnel.items():
        gaps = np.zeros((len(f) - 1, 7, CONTINUATION_DAYS + 1))
        gaps[:, :, 2:8] = [40, 30, 15, 8, 4, 3]  # next session 2..7 days later, mostly 2-3
        next_gap[family] = gaps
    return ClinicInputs(
        clinic_id="TST",
        as_of=as_of,
        history_weeks=weeks,
        new_courses=counts,
        network_new_courses=counts * 3,
        modality_mix={"iv_ketamine": 1 - esketamine_share - 0.03, "im_ketamine": 0.03,
                      "esketamine_nasal": esketamine_share},
        funnel=funnel,
        induction_gaps=dict(DEFAULT_GAPS),
        induction_days=dict(DEFAULT_DAYS),
        continuation=continuation,
        next_gap=next_gap,
        booster_rates={"ketamine": booster_rates(), "esketamine": booster_rates(2.0)},
        chair_minutes={"iv_ketamine": 95.0, "im_ketamine": 65.0, "esketamine_nasal": 150.0},
        no_show_rate=no_show_rate,
        cancellation_rate=0.03,
        weekday_share=share,
        start_weekday_share=share,
        booster_weekday_share=share,
        induction_weekday_share=share,
        hour_profile=profile,
        course_states=states,
        capacity=ClinicCapacity(chairs, dt.time.fromisoformat(opens), dt.time.fromisoformat(closes), open_days),
        recent_sessions=np.full(13, 150.0),
    )


# -- a real warehouse ---------------------------------------------------------------------------------

_WAREHOUSE: dict[str, "object"] = {}


def generated_warehouse() -> "object":
    """A warehouse loaded (by the real loader) from a generated 3-clinic, 14-month batch of clinics,
    patients and sessions (the planning inputs read nothing else). Built once per test session in a
    temporary folder; returns the pointer path."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    if "db" in _WAREHOUSE:
        return _WAREHOUSE["db"]
    from pipelines.generate import generate_batch
    from pipelines.load.loader import load_batch
    from pipelines.load.pseudonymize import Pseudonymizer

    root = Path(tempfile.mkdtemp(prefix="plan-warehouse-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    batch = root / "batch"
    generate_batch(batch, clinics=3, months=14, start=dt.date(2025, 7, 1), seed=7, defects=False, fmt="csv")
    for path in batch.iterdir():  # vitals, assessments and side effects play no part in planning
        if not path.name.startswith(("clinics", "patients", "sessions")):
            path.unlink()
    db = root / "warehouse" / "clinic_analytics.duckdb"
    report = load_batch(batch, db=db, pseudonymizer=Pseudonymizer(b"k" * 32), now=dt.datetime(2026, 10, 15, 12))
    assert report.exit_code == 0, report.to_text()
    shutil.rmtree(batch)
    _WAREHOUSE["db"] = db
    return db

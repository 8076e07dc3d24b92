"""Boosters (metrics.md, "Boosters"): intervals in calendar days, their quartiles, the Kaplan-Meier
curve of time to first booster (against lifelines) and boosters per patient-year."""

import numpy as np
import pytest
from scipy import stats

from sql_fixture import ketamine_course, shift

START = "2025-01-06 09:00"
INDUCTION_END = "2025-01-21 09:00"  # 6 sessions every 3 days


def intervals(wh):
    return dict(wh.con.execute(
        "SELECT session_id, booster_interval_days FROM marts.sessions WHERE phase = 'booster'").fetchall())


def test_intervals_are_calendar_days_from_session_k_minus_1(wh):
    wh.clinic(days="Mon,Tue,Wed,Thu,Fri,Sat,Sun", opens="07:00", closes="23:00").patient()
    ketamine_course(wh, START)
    b1 = wh.session(start="2025-02-18 08:00")   # 28 days after 2025-01-21 09:00 (27 days 23 h of time)
    b2 = wh.session(start="2025-03-25 22:00")   # 35 days after 2025-02-18
    wh.build()
    assert intervals(wh) == {b1: 28, b2: 35}


def test_esketamine_boosters_start_after_session_8(wh):
    wh.clinic().patient()
    esk = [wh.session(start=shift("2025-01-06 10:00", days=3 * i + (i % 2)), modality="esketamine_nasal", dose=56.0)
           for i in range(8)]
    booster = wh.session(start=shift("2025-01-06 10:00", days=60), modality="esketamine_nasal", dose=56.0)
    wh.build()
    assert list(intervals(wh)) == [booster]
    last_induction_day = wh.value("SELECT session_date FROM marts.sessions WHERE session_id = ?", [esk[-1]])
    booster_day = wh.value("SELECT session_date FROM marts.sessions WHERE session_id = ?", [booster])
    assert intervals(wh)[booster] == (booster_day - last_induction_day).days


def test_quartiles_interpolate_linearly_like_numpy(wh):
    wh.clinic(days="Mon,Tue,Wed,Thu,Fri,Sat,Sun")
    gaps = [21, 28, 35, 42, 70]
    for i, gap in enumerate(gaps):
        wh.patient(f"P{i}")
        ketamine_course(wh, START, patient=f"P{i}")
        wh.session(patient=f"P{i}", start=shift(INDUCTION_END, days=gap))
    # P0 gets a second booster 30 days after its first
    wh.session(patient="P0", start=shift(INDUCTION_END, days=21 + 30))
    wh.build()
    values = gaps + [30]
    summary = wh.one("FROM metrics.booster_intervals()")
    assert summary["intervals"] == 6
    assert summary["median_days"] == np.percentile(values, 50)
    assert summary["p25_days"] == np.percentile(values, 25)
    assert summary["p75_days"] == np.percentile(values, 75)


def test_no_interval_gives_null_figures(wh):
    wh.clinic().patient()
    ketamine_course(wh, START)
    wh.build()
    summary = wh.one("FROM metrics.booster_intervals()")
    assert summary["intervals"] == 0
    assert summary["median_days"] is None and summary["p25_days"] is None and summary["p75_days"] is None


def test_an_interval_belongs_to_the_period_and_clinic_of_its_booster_session(wh):
    wh.clinic("OKC").clinic("TUL").patient()
    ketamine_course(wh, START, clinic="OKC")
    wh.session(clinic="TUL", start=shift(INDUCTION_END, days=30))  # 2025-02-20
    wh.build()

    def count(**kw):
        args = ", ".join(f"{k} := ?" for k in kw)
        return wh.value(f"SELECT intervals FROM metrics.booster_intervals({args})", list(kw.values()))

    assert count(clinics=["TUL"]) == 1 and count(clinics=["OKC"]) == 0
    assert count(start_date="2025-02-20", end_date="2025-02-20") == 1
    assert count(end_date="2025-02-19") == 0


def km_fixture(wh, plans):
    """plans: (patient, days from induction end to first booster or None, completes induction)."""
    wh.clinic(days="Mon,Tue,Wed,Thu,Fri,Sat,Sun")
    for patient, days, complete in plans:
        wh.patient(patient)
        ketamine_course(wh, START, patient=patient, sessions=6 if complete else 4)
        if days is not None:
            wh.session(patient=patient, start=shift(INDUCTION_END, days=days))
    wh.build()


def test_kaplan_meier_matches_lifelines(wh):
    from lifelines import KaplanMeierFitter

    # data end: the last session of the warehouse, P9's booster 120 days after induction end
    plans = [("P1", 28, True), ("P2", 28, True), ("P3", 35, True), ("P4", 60, True), ("P5", None, True),
             ("P6", None, True), ("P7", 90, True), ("P8", None, False), ("P9", 120, True), ("P10", 42, True)]
    km_fixture(wh, plans)
    censor_at = 120  # no booster: censored at the data's end
    durations = [d if d is not None else censor_at for p, d, c in plans if c]
    observed = [d is not None for p, d, c in plans if c]
    kmf = KaplanMeierFitter().fit(durations, observed)
    curve = {r["days"]: r for r in wh.rows("FROM metrics.booster_km()")}
    assert sum(r["events"] + r["censored"] for r in curve.values()) == 9  # P8 never finished induction
    for t, expected in kmf.survival_function_["KM_estimate"].items():
        assert curve[int(t)]["survival"] == pytest.approx(expected, abs=1e-12)
        assert curve[int(t)]["booster_probability"] == pytest.approx(1 - expected, abs=1e-12)
    ci = kmf.confidence_interval_survival_function_
    for t in ci.index:
        if 0 < kmf.survival_function_.loc[t, "KM_estimate"] < 1:
            assert curve[int(t)]["survival_ci_low"] == pytest.approx(ci.loc[t].iloc[0], abs=1e-9)
            assert curve[int(t)]["survival_ci_high"] == pytest.approx(ci.loc[t].iloc[1], abs=1e-9)
    at_risk = kmf.event_table["at_risk"]
    for t, n in at_risk.items():
        if t > 0:
            assert curve[int(t)]["at_risk"] == n


def test_kaplan_meier_censoring_is_at_the_data_end(wh):
    wh.clinic(days="Mon,Tue,Wed,Thu,Fri,Sat,Sun").patient("P1").patient("P2")
    ketamine_course(wh, START, patient="P1")
    ketamine_course(wh, START, patient="P2")
    wh.session(patient="P2", start=shift(INDUCTION_END, days=50), status="no_show")  # the data's last day
    wh.build()
    curve = {r["days"]: r for r in wh.rows("FROM metrics.booster_km()")}
    assert curve[50]["censored"] == 2 and curve[50]["events"] == 0 and curve[50]["survival"] == 1.0


def test_boosters_per_patient_year(wh):
    wh.clinic(days="Mon,Tue,Wed,Thu,Fri,Sat,Sun").patient("P1").patient("P2")
    ketamine_course(wh, START, patient="P1")
    ketamine_course(wh, START, patient="P2")
    wh.session(patient="P1", start=shift(INDUCTION_END, days=30))
    wh.session(patient="P1", start=shift(INDUCTION_END, days=60))
    wh.session(patient="P2", start=shift(INDUCTION_END, days=100), status="no_show")  # data end: day 100
    wh.build()
    # maintenance: P1 from induction end to min(data end, last session + 180) = 100 days; P2 100 days
    row = wh.one("FROM metrics.boosters_per_patient_year()")
    assert row["boosters"] == 2
    assert row["patient_years"] == pytest.approx(200 / 365.25)
    assert row["boosters_per_patient_year"] == pytest.approx(2 / (200 / 365.25))
    # the exact Poisson 95% interval of 2 events (chi-square quantiles / 2), per patient-year
    years = 200 / 365.25
    assert row["ci_low"] == pytest.approx(stats.chi2.ppf(0.025, 4) / 2 / years)
    assert row["ci_high"] == pytest.approx(stats.chi2.ppf(0.975, 6) / 2 / years)
    # a period covering the first 40 days after induction: one booster, 2 x 40 days
    in_period = wh.one("FROM metrics.boosters_per_patient_year(start_date := ?, end_date := ?)",
                       ["2025-01-22", "2025-03-02"])
    assert in_period["boosters"] == 1
    assert in_period["patient_years"] == pytest.approx(80 / 365.25)


def test_boosters_per_patient_year_without_maintenance_is_null(wh):
    wh.clinic().patient()
    ketamine_course(wh, START, sessions=3)
    wh.build()
    row = wh.one("FROM metrics.boosters_per_patient_year()")
    assert row["boosters"] == 0 and row["boosters_per_patient_year"] is None
    assert row["ci_low"] is None and row["ci_high"] is None

"""Safety (metrics.md, "Safety"): side-effect rates, BP elevation and peak rise, vitals by minute,
dose bands and esketamine REMS monitoring."""

import pytest

from sql_fixture import shift

DAY = "2025-03-03 09:00"


@pytest.fixture
def clinic(wh):
    wh.clinic().patient()
    return wh


def effects(wh, **filters):
    args = ", ".join(f"{k} := ?" for k in filters)
    return {(r["effect"], r["group_value"]): r
            for r in wh.rows(f"FROM metrics.side_effect_rates({args})", list(filters.values()))}


def test_side_effect_rate_counts_sessions_with_at_least_one_row_of_the_effect(clinic):
    w = clinic
    s = [w.session(start=shift(DAY, days=i)) for i in range(4)]
    w.side_effect(s[0], "nausea", "moderate", "ondansetron")
    w.side_effect(s[0], "dizziness")
    w.side_effect(s[1], "dizziness", "severe")
    cancelled = w.session(start=shift(DAY, days=5), status="cancelled")
    w.side_effect(cancelled, "nausea")  # not a treated session: in neither numerator nor denominator
    w.build()
    rates = effects(w)
    assert rates[("any", "all")]["sessions"] == 2 and rates[("any", "all")]["treated_sessions"] == 4
    assert rates[("any", "all")]["rate"] == 0.5
    assert rates[("nausea", "all")]["sessions"] == 1 and rates[("nausea", "all")]["rate"] == 0.25
    assert rates[("dizziness", "all")]["rate"] == 0.5
    assert ("headache", "all") not in rates  # effects with no session are left out


def test_side_effects_by_severity_keep_all_treated_sessions_as_denominator(clinic):
    w = clinic
    s = [w.session(start=shift(DAY, days=i)) for i in range(5)]
    w.side_effect(s[0], "nausea", "moderate")
    w.side_effect(s[0], "dizziness", "mild")
    w.side_effect(s[1], "dizziness", "severe")
    w.build()
    rates = effects(w, breakdown="severity")
    assert rates[("any", "mild")]["sessions"] == 1
    assert rates[("any", "moderate")]["sessions"] == 1
    assert rates[("any", "severe")]["sessions"] == 1
    assert rates[("dizziness", "severe")]["rate"] == 1 / 5
    assert all(r["treated_sessions"] == 5 for r in rates.values())
    assert ("any", "all") not in rates


def test_of_severity_counts_only_rows_of_that_severity_in_any_breakdown(clinic):
    """The severe rate per clinic (its funnel plot) needs severity inside a breakdown: sessions with at least one
    severe row over all treated sessions, per group; an effect's own rate counts only its severe rows."""
    w = clinic
    w.clinic("TUL").patient("P2", clinic="TUL")
    s = [w.session(start=shift(DAY, days=i)) for i in range(4)]
    t = [w.session(start=shift(DAY, days=i), patient="P2", clinic="TUL") for i in range(2)]
    w.side_effect(s[0], "nausea", "severe")
    w.side_effect(s[0], "dizziness", "severe")  # one session with two severe rows counts once
    w.side_effect(s[1], "dizziness", "mild")
    w.side_effect(t[0], "dizziness", "severe")
    w.build()
    rates = effects(w, breakdown="clinic", of_severity="severe")
    assert (rates[("any", "OKC")]["sessions"], rates[("any", "OKC")]["treated_sessions"]) == (1, 4)
    assert (rates[("any", "TUL")]["sessions"], rates[("any", "TUL")]["treated_sessions"]) == (1, 2)
    assert rates[("dizziness", "OKC")]["sessions"] == 1  # the mild one is not counted
    # the same count as the severity breakdown gives
    assert effects(w, of_severity="severe")[("any", "all")]["sessions"] == \
        effects(w, breakdown="severity")[("any", "severe")]["sessions"] == 2
    mild = effects(w, breakdown="severity", of_severity="mild")
    assert mild[("any", "mild")]["sessions"] == 1 and mild[("any", "severe")]["sessions"] == 0
    with pytest.raises(Exception, match="unknown severity"):
        effects(w, of_severity="worst")
    funnel = {r["clinic_id"]: r for r in w.rows("FROM metrics.clinic_comparison('severe_side_effect')")}
    assert (funnel["OKC"]["events"], funnel["OKC"]["n"], funnel["TUL"]["events"], funnel["TUL"]["n"]) == (1, 4, 1, 2)
    assert funnel["OKC"]["network_rate"] == 2 / 6


def test_side_effects_by_dose_band_and_session_number(clinic):
    w = clinic
    low = w.session(start=DAY, dose=35.0, weight=70.0)         # 0.50 mg/kg
    high = w.session(start=shift(DAY, days=3), dose=70.0, weight=70.0)  # 1.00 mg/kg
    w.session(start=shift(DAY, days=6), dose=52.5, weight=70.0)  # exactly 0.75 mg/kg
    w.side_effect(high, "dissociation")
    w.build()
    bands = {r["session_id"]: r["dose_band"] for r in w.rows("SELECT session_id, dose_band FROM marts.sessions")}
    assert bands[low] == "0.50-0.74 mg/kg" and bands[high] == "1.00-1.49 mg/kg"
    assert "0.75-0.99 mg/kg" in bands.values()
    by_band = effects(w, breakdown="dose_band")
    assert by_band[("dissociation", "1.00-1.49 mg/kg")]["rate"] == 1.0
    assert by_band[("any", "0.50-0.74 mg/kg")]["rate"] == 0.0
    by_k = effects(w, breakdown="session_number")
    assert by_k[("dissociation", "2")]["treated_sessions"] == 1 and by_k[("any", "1")]["sessions"] == 0


def test_a_standard_dose_rounded_to_a_tenth_of_a_mg_stays_in_its_band(clinic):
    """60.0 mg for 120.1 kg is 0.4996 mg/kg: the standard 0.5 mg/kg with the dose rounded to 0.1 mg. Read
    unrounded it fell in "<0.50 mg/kg", with 12,276 of the 8-clinic sample's sessions, most of the standard
    doses. Bands read mg/kg to 2 decimals, as doses are prescribed; a truly lower dose stays below, and the
    session keeps its exact mg/kg."""
    w = clinic
    standard = w.session(start=DAY, dose=60.0, weight=120.1)                 # 0.4996 -> 0.50
    lower = w.session(start=shift(DAY, days=2), dose=34.0, weight=70.0)      # 0.486 -> 0.49
    edge = w.session(start=shift(DAY, days=4), dose=74.6, weight=100.0)      # 0.746 -> 0.75
    w.build()
    rows = {r["session_id"]: r for r in w.rows("SELECT session_id, dose_band, dose_mg_per_kg FROM marts.sessions")}
    assert rows[standard]["dose_band"] == "0.50-0.74 mg/kg" and rows[standard]["dose_mg_per_kg"] < 0.5
    assert rows[lower]["dose_band"] == "<0.50 mg/kg"
    assert rows[edge]["dose_band"] == "0.75-0.99 mg/kg"


def test_a_session_stopped_early_is_a_dose_band_of_its_own(clinic):
    """An infusion stopped at minute 12 for a side effect delivered 0.15 mg/kg: banded by that dose, the
    "<0.50 mg/kg" band of an 8-clinic sample was 1,151 stopped infusions with a side effect each (100%),
    read as low doses causing side effects. Stopped early is its own band, placed after the doses; a
    completed session keeps its dose band."""
    w = clinic
    stopped = w.session(start=DAY, dose=10.5, weight=70.0, status="stopped_early")
    esk = w.session(start=shift(DAY, days=2), modality="esketamine_nasal", dose=28.0, status="stopped_early")
    done = w.session(start=shift(DAY, days=4), dose=35.0, weight=70.0)
    w.side_effect(stopped, "hypertension", "severe")
    w.build()
    rows = {r["session_id"]: r for r in w.rows("SELECT session_id, dose_band, dose_band_order FROM marts.sessions")}
    assert rows[stopped]["dose_band"] == rows[esk]["dose_band"] == "stopped early"
    assert rows[done]["dose_band"] == "0.50-0.74 mg/kg"
    assert rows[stopped]["dose_band_order"] > max(r["dose_band_order"] for r in rows.values() if r["dose_band"] != "stopped early")
    by_band = effects(w, breakdown="dose_band")
    assert by_band[("any", "stopped early")]["treated_sessions"] == 2 and by_band[("any", "stopped early")]["sessions"] == 1
    assert ("any", "<0.50 mg/kg") not in by_band


def test_esketamine_dose_band_is_the_nasal_dose(clinic):
    s = clinic.session(start=DAY, modality="esketamine_nasal", dose=84.0)
    clinic.build()
    assert clinic.value("SELECT dose_band FROM marts.sessions WHERE session_id = ?", [s]) == "84 mg"


def test_any_is_always_present_and_null_without_treated_sessions(clinic):
    clinic.session(start=DAY, status="no_show")
    clinic.build()
    rates = effects(clinic)
    assert list(rates) == [("any", "all")]
    assert rates[("any", "all")]["sessions"] == 0 and rates[("any", "all")]["rate"] is None
    assert rates[("any", "all")]["ci_low"] is None


def test_interventions(clinic):
    w = clinic
    s = [w.session(start=shift(DAY, days=i)) for i in range(4)]
    w.side_effect(s[0], "nausea", intervention="ondansetron")
    w.side_effect(s[0], "vomiting", intervention="ondansetron")
    w.side_effect(s[1], "hypertension", intervention="antihypertensive")
    w.side_effect(s[2], "dizziness")
    w.build()
    rows = {r["intervention"]: r for r in w.rows("FROM metrics.side_effect_interventions()")}
    assert rows["ondansetron"]["sessions"] == 1  # two side effects, one session
    assert rows["ondansetron"]["rate"] == 1 / 4
    assert rows["antihypertensive"]["sessions"] == 1
    assert rows["none"]["sessions"] == 1


@pytest.mark.parametrize("systolic, diastolic, elevated", [
    (180, 100, True), (179, 109, False), (179, 110, True), (200, 120, True), (150, 109, False),
])
def test_bp_elevation_thresholds(clinic, systolic, diastolic, elevated):
    s = clinic.session(start=DAY)
    clinic.vitals(s, DAY, 130, 80)
    clinic.vitals(s, shift(DAY, minutes=40), systolic, diastolic)
    clinic.build()
    bp = clinic.one("FROM metrics.bp_elevation()")
    assert bp["sessions_with_vitals"] == 1
    assert bp["elevated_sessions"] == (1 if elevated else 0)
    assert bp["rate"] == (1.0 if elevated else 0.0)


def test_bp_elevation_denominator_is_sessions_with_vitals_and_peak_rise_is_from_the_first_reading(clinic):
    w = clinic
    a = w.session(start=DAY)
    b = w.session(start=shift(DAY, days=3))
    w.session(start=shift(DAY, days=6))  # no vitals: not in the denominator
    # a: first reading 140, then lower and higher: peak rise = 165 - 140 (not from the minimum)
    w.vitals(a, shift(DAY, minutes=-5), 140, 90)
    w.vitals(a, shift(DAY, minutes=10), 120, 80)
    w.vitals(a, shift(DAY, minutes=40), 165, 95)
    # b: elevated by diastolic only; rise 10
    w.vitals(b, shift(DAY, days=3), 150, 100)
    w.vitals(b, shift(DAY, days=3, minutes=30), 160, 112)
    w.build()
    bp = w.one("FROM metrics.bp_elevation()")
    assert (bp["treated_sessions"], bp["sessions_with_vitals"], bp["elevated_sessions"]) == (3, 2, 1)
    assert bp["rate"] == 0.5
    rises = dict(w.con.execute("SELECT session_id, peak_systolic_rise FROM marts.sessions WHERE has_vitals").fetchall())
    assert rises == {a: 25, b: 10}
    assert bp["peak_rise_median"] == 17.5  # (10 + 25) / 2
    hist = {r["bin_start"]: r["sessions"] for r in w.rows("FROM metrics.peak_rise_histogram(bin_mmhg := 10)")}
    assert hist == {10: 1, 20: 1}


def test_bp_elevation_without_vitals_is_null(clinic):
    clinic.session(start=DAY)
    clinic.build()
    bp = clinic.one("FROM metrics.bp_elevation()")
    assert bp["sessions_with_vitals"] == 0 and bp["rate"] is None and bp["ci_low"] is None


def test_vitals_by_minute_medians_and_quartiles(wh):
    import numpy as np

    wh.clinic()
    systolic_at_40 = [150, 140, 160, 170]
    for i, sbp in enumerate(systolic_at_40):
        wh.patient(f"P{i}")
        s = wh.session(patient=f"P{i}", start=DAY)
        wh.vitals(s, DAY, 120, 80)
        wh.vitals(s, shift(DAY, minutes=41, seconds=30), sbp, 90)  # minute 41, in the 40-44 bin
    wh.build()
    rows = {r["minute"]: r for r in wh.rows("FROM metrics.vitals_by_minute(bin_minutes := 5)")}
    assert set(rows) == {0, 40}
    assert rows[40]["readings"] == 4
    assert rows[40]["systolic_median"] == np.median(systolic_at_40)
    assert rows[40]["systolic_p25"] == np.percentile(systolic_at_40, 25)
    assert rows[40]["systolic_p75"] == np.percentile(systolic_at_40, 75)
    minutes = {r[0] for r in wh.con.execute("SELECT minute FROM marts.vitals_by_minute").fetchall()}
    assert minutes == {0, 41}
    # One vital sign asked for: the same figures for it, the other signs not computed.
    only = {r["minute"]: r for r in wh.rows("FROM metrics.vitals_by_minute(bin_minutes := 5, vital := 'diastolic')")}
    assert only[40]["diastolic_median"] == rows[40]["diastolic_median"] == 90
    assert only[40]["readings"] == 4
    assert only[40]["systolic_median"] is None and only[40]["heart_rate_p25"] is None


def test_vitals_minutes_count_instants_across_time_zone_offsets(wh):
    wh.clinic("NYC", tz="America/New_York").patient("P1", clinic="NYC")
    s = wh.session(clinic="NYC", start="2025-03-03 09:00")  # 14:00 UTC
    wh.vitals(s, "2025-03-03T14:30:00Z", 150, 90)  # given in UTC: minute 30
    wh.build()
    assert wh.value("SELECT minute FROM marts.vitals_by_minute") == 30


def rems_session(w, start, discharge_after_min=130, readings=(-5, 40, 125)):
    s = w.session(start=start, modality="esketamine_nasal", dose=56.0, end=shift(start, minutes=10),
                  discharge=shift(start, minutes=discharge_after_min))
    for minute in readings:
        w.vitals(s, shift(start, minutes=minute), 130, 80)
    return s


def test_rems_completeness(clinic):
    w = clinic
    complete = rems_session(w, "2025-03-03 09:00")
    short = rems_session(w, "2025-03-04 09:00", discharge_after_min=119, readings=(-5, 40, 115))
    exactly_2h = rems_session(w, "2025-03-05 09:00", discharge_after_min=120, readings=(0, 30, 105))
    no_minute_40 = rems_session(w, "2025-03-06 09:00", readings=(-5, 25, 125))
    no_before = rems_session(w, "2025-03-07 09:00", readings=(5, 40, 125))
    no_end = rems_session(w, "2025-03-10 09:00", readings=(-5, 40, 90))
    w.session(start="2025-03-11 09:00")  # ketamine: not part of REMS
    w.build()
    flags = {r["session_id"]: r for r in w.rows("SELECT * FROM marts.sessions WHERE rems_complete IS NOT NULL")}
    assert set(flags) == {complete, short, exactly_2h, no_minute_40, no_before, no_end}
    assert flags[complete]["rems_complete"] and flags[exactly_2h]["rems_complete"]
    assert not flags[short]["rems_monitored_2h"] and not flags[short]["rems_complete"]
    assert not flags[no_minute_40]["rems_bp_minute_40"]
    assert not flags[no_before]["rems_bp_before_dosing"]
    assert not flags[no_end]["rems_bp_at_end"]
    summary = w.one("FROM metrics.rems_completeness()")
    assert summary["esketamine_sessions"] == 6 and summary["complete"] == 2
    assert summary["monitored_2h"] == 5 and summary["complete_rate"] == 2 / 6


def test_treated_sessions_belong_to_their_own_clinic_and_day(wh):
    wh.clinic("OKC").clinic("NYC", tz="America/New_York").patient()
    wh.session(clinic="OKC", start="2025-03-03 09:00")
    wh.session(clinic="NYC", start="2025-03-04 09:00")
    wh.session(clinic="NYC", start="2025-03-05 09:00", status="no_show")
    wh.build()

    def treated(**kw):
        args = ", ".join(f"{k} := ?" for k in kw)
        return wh.value(f"SELECT coalesce(sum(treated_sessions), 0) FROM metrics.treated_sessions({args})",
                        list(kw.values()))

    assert treated() == 2
    assert treated(clinics=["NYC"]) == 1
    assert treated(start_date="2025-03-04") == 1
    assert treated(end_date="2025-03-03") == 1
    assert treated(start_date="2025-03-05", end_date="2025-03-05") == 0


def test_active_patients_are_patients_with_a_treated_session_in_the_period(wh):
    wh.clinic().patient("P1").patient("P2").patient("P3")
    wh.session(patient="P1", start="2025-03-03 09:00")
    wh.session(patient="P1", start="2025-03-05 09:00")
    wh.session(patient="P2", start="2025-03-04 09:00", status="no_show")
    wh.session(patient="P3", start="2025-04-01 09:00")
    wh.build()
    assert wh.value("SELECT active_patients FROM metrics.active_patients()") == 2
    assert wh.value("SELECT active_patients FROM metrics.active_patients(end_date := '2025-03-31')") == 1
    assert wh.value("SELECT active_patients FROM metrics.active_patients(clinics := ['NONE'])") == 0


def test_vitals_by_minute_follow_the_filters(wh):
    wh.clinic("OKC").clinic("NYC", tz="America/New_York")
    wh.patient("P1", clinic="OKC", indication="mdd").patient("P2", clinic="NYC", indication="ptsd")
    a = wh.session(patient="P1", clinic="OKC", start=DAY)
    b = wh.session(patient="P2", clinic="NYC", start=DAY, modality="esketamine_nasal", dose=56.0)
    c = wh.session(patient="P1", clinic="OKC", start=shift(DAY, days=7))
    wh.vitals(a, DAY, 110)
    wh.vitals(b, DAY, 130)
    wh.vitals(c, shift(DAY, days=7), 150)
    wh.build()

    def median(**kw):
        args = ", ".join(f"{k} := ?" for k in kw)
        return [(r["readings"], r["systolic_median"]) for r in wh.rows(
            f"FROM metrics.vitals_by_minute({args})", list(kw.values()))]

    assert median() == [(3, 130)]
    assert median(clinics=["OKC"]) == [(2, 130)]
    assert median(indications=["ptsd"]) == [(1, 130)]
    assert median(modalities=["ketamine"]) == [(2, 130)]
    assert median(modalities=["esketamine_nasal"], clinics=["NYC"]) == [(1, 130)]
    assert median(end_date="2025-03-03", clinics=["OKC"]) == [(1, 110)]
    assert median(clinics=["NOPE"]) == []


def test_a_session_names_its_severe_side_effects_for_review(clinic):
    """marts.sessions.severe_effects: the effects of its severe rows, by name (the Safety page's sessions to
    review); empty for a treated session without one, NULL for one not treated."""
    w = clinic
    s = [w.session(start=shift(DAY, days=i)) for i in range(2)]
    w.side_effect(s[0], "nausea", "severe")
    w.side_effect(s[0], "dizziness", "severe")
    w.side_effect(s[0], "headache", "mild")
    w.side_effect(s[1], "headache", "moderate")
    cancelled = w.session(start=shift(DAY, days=3), status="cancelled")
    w.build()
    named = {r["session_id"]: r["severe_effects"] for r in w.rows("SELECT session_id, severe_effects FROM marts.sessions")}
    assert named[s[0]] == ["dizziness", "nausea"] and named[s[1]] == [] and named[cancelled] is None

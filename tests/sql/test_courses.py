"""Courses and phases (metrics.md, "Courses and phases"), built from the words of the definition."""

import pytest
from statsmodels.stats.proportion import proportion_confint

from sql_fixture import data_until, ketamine_course, shift


def courses(wh):
    return wh.rows("SELECT * FROM marts.courses ORDER BY course_start")


def session_places(wh):
    return {r["session_id"]: r for r in wh.rows("SELECT * FROM marts.sessions")}


def test_six_ketamine_sessions_are_induction_and_the_seventh_is_a_booster(wh):
    wh.clinic().patient()
    ids = ketamine_course(wh, "2025-03-03 09:00", sessions=7, every_days=4)
    wh.build()
    places = session_places(wh)
    assert [places[s]["session_number"] for s in ids] == [1, 2, 3, 4, 5, 6, 7]
    assert [places[s]["phase"] for s in ids] == ["induction"] * 6 + ["booster"]
    [course] = courses(wh)
    assert course["induction_sessions"] == 6 and course["completed_induction"]
    assert course["booster_sessions"] == 1
    # induction_end = treatment_start of the 6th session
    assert course["induction_end"].isoformat(sep=" ") == shift("2025-03-03 09:00", days=20)


def test_esketamine_induction_is_eight_sessions_and_a_separate_course_from_ketamine(wh):
    wh.clinic().patient()
    esk = [wh.session(start=shift("2025-03-03 10:00", days=3 * i), modality="esketamine_nasal", dose=56.0)
           for i in range(9)]
    ket = ketamine_course(wh, "2025-03-04 09:00", sessions=2)
    wh.build()
    places = session_places(wh)
    assert [places[s]["session_number"] for s in esk] == list(range(1, 10))
    assert [places[s]["phase"] for s in esk] == ["induction"] * 8 + ["booster"]
    assert [places[s]["session_number"] for s in ket] == [1, 2]
    rows = {r["modality_family"]: r for r in courses(wh)}
    assert rows["esketamine"]["induction_size"] == 8 and rows["esketamine"]["completed_induction"]
    assert rows["ketamine"]["induction_size"] == 6 and not rows["ketamine"]["completed_induction"]
    assert rows["esketamine"]["course_id"] != rows["ketamine"]["course_id"]


def test_iv_and_im_ketamine_are_one_family(wh):
    wh.clinic().patient()
    a = wh.session(start="2025-03-03 09:00", modality="iv_ketamine")
    b = wh.session(start="2025-03-06 09:00", modality="im_ketamine")
    wh.build()
    places = session_places(wh)
    assert places[a]["course_id"] == places[b]["course_id"]
    assert places[b]["session_number"] == 2
    [course] = courses(wh)
    assert course["modality"] == "iv_ketamine" and course["mixed_modality"]


def test_a_new_course_starts_only_after_more_than_180_days(wh):
    wh.clinic().patient("P1").patient("P2").patient("P3")
    # P1: exactly 180 days later at the same clock time -> same course
    wh.session(patient="P1", start="2025-01-06 09:00")
    same = wh.session(patient="P1", start=shift("2025-01-06 09:00", days=180))
    # P2: 180 days and one minute -> a new course, numbered from 1 again
    wh.session(patient="P2", start="2025-01-06 09:00")
    new = wh.session(patient="P2", start=shift("2025-01-06 09:01", days=180))
    # P3: gaps are measured from the previous session, not from the course start
    p3 = [wh.session(patient="P3", start=shift("2025-01-06 09:00", days=d)) for d in (0, 150, 300, 450)]
    wh.build()
    places = session_places(wh)
    assert places[same]["session_number"] == 2
    assert places[new]["session_number"] == 1
    assert len({places[s]["course_id"] for s in p3}) == 1
    counts = {r["patient_key"]: r["n"] for r in wh.rows(
        "SELECT patient_key, count(*) n FROM marts.courses GROUP BY 1")}
    assert counts == {"P1": 1, "P2": 2, "P3": 1}


def test_the_180_days_are_calendar_days_on_the_clinic_clock_across_a_dst_change(wh):
    # 2025-06-01 09:00 CDT + 180 days = 2025-11-28 09:00 CST: one more hour of instants, but exactly
    # 180 days on the clinic's clock -> not more than 180 days -> same course.
    wh.clinic().patient()
    wh.session(start="2025-06-01 09:00")
    later = wh.session(start="2025-11-28 09:00")
    wh.build()
    assert session_places(wh)[later]["session_number"] == 2


def test_stopped_early_counts_cancelled_and_no_show_do_not(wh):
    wh.clinic().patient()
    s1 = wh.session(start="2025-03-03 09:00")
    wh.session(start="2025-03-05 09:00", status="cancelled")
    wh.session(start="2025-03-06 09:00", status="no_show")
    s2 = wh.session(start="2025-03-07 09:00", status="stopped_early")
    wh.build()
    places = session_places(wh)
    assert places[s1]["session_number"] == 1 and places[s2]["session_number"] == 2
    [course] = courses(wh)
    assert course["induction_sessions"] == 2 and not course["completed_induction"]
    # induction_end: the last induction session the course has
    assert course["induction_end"].isoformat(sep=" ") == "2025-03-07 09:00:00"
    assert wh.value("SELECT count(*) FROM marts.sessions WHERE NOT is_treated") == 2
    assert wh.value("SELECT count(*) FROM marts.sessions WHERE NOT is_treated AND course_id IS NOT NULL") == 0


def test_a_course_belongs_to_the_clinic_of_its_session_1_and_the_day_of_its_course_start(wh):
    wh.clinic("OKC").clinic("NYC", tz="America/New_York").patient("P1", clinic="NYC")
    # 23:30 in Chicago is already the next day in UTC: the course's day is the clinic's local day
    wh.session(clinic="OKC", start="2025-03-03 23:30", checkin="2025-03-03 23:20", discharge="2025-03-04 00:50",
               end="2025-03-04 00:10")
    wh.session(clinic="NYC", start="2025-03-06 09:00")
    wh.build()
    [course] = courses(wh)
    assert course["clinic_id"] == "OKC"
    assert course["course_start_date"].isoformat() == "2025-03-03"
    assert wh.value("SELECT sum(courses) FROM metrics.course_counts(clinics := ['OKC'])") == 1
    assert wh.value("SELECT sum(courses) FROM metrics.course_counts(clinics := ['NYC'])") is None
    assert wh.value("SELECT sum(courses) FROM metrics.course_counts(start_date := DATE '2025-03-03', "
                    "end_date := DATE '2025-03-03')") == 1
    assert wh.value("SELECT sum(courses) FROM metrics.course_counts(start_date := DATE '2025-03-04')") is None


def test_sessions_are_ordered_by_instant_across_time_zones(wh):
    # 09:30 in New York is 08:30 in Chicago: the New York session came first although its clock says later
    wh.clinic("OKC").clinic("NYC", tz="America/New_York").patient()
    chicago = wh.session(clinic="OKC", start="2025-03-03 09:00")
    new_york = wh.session(clinic="NYC", start="2025-03-03 09:30")
    wh.build()
    places = session_places(wh)
    assert places[new_york]["session_number"] == 1 and places[chicago]["session_number"] == 2


def test_induction_funnel_counts_courses_reaching_each_session(wh):
    wh.clinic()
    for patient, n in (("P1", 6), ("P2", 3), ("P3", 1), ("P4", 7)):
        wh.patient(patient)
        ketamine_course(wh, "2025-03-03 09:00", patient=patient, sessions=n)
    wh.patient("P5")
    for i in range(2):
        wh.session(patient="P5", start=shift("2025-03-03 12:00", days=3 * i), modality="esketamine_nasal", dose=56.0)
    data_until(wh, "2025-06-30")  # the courses that stopped early stopped long before the data's last day
    wh.build()
    funnel = {(r["modality_family"], r["session_number"]): r for r in wh.rows("FROM metrics.induction_funnel()")}
    assert [funnel[("ketamine", k)]["courses_reaching"] for k in range(1, 7)] == [4, 3, 3, 2, 2, 2]
    assert ("ketamine", 7) not in funnel  # boosters are not part of the induction funnel
    assert [funnel[("esketamine", k)]["courses_reaching"] for k in range(1, 9)] == [1, 1, 0, 0, 0, 0, 0, 0]
    assert funnel[("ketamine", 6)]["share_of_courses"] == 2 / 4


def test_course_counts_on_an_empty_selection_give_no_rows_not_an_error(wh):
    wh.clinic().patient()
    ketamine_course(wh, "2025-03-03 09:00", sessions=2)
    wh.build()
    assert wh.rows("FROM metrics.course_counts(clinics := ['NOPE'])") == []
    assert wh.rows("FROM metrics.induction_funnel(indications := ['ocd'])") == []


# -- still in induction at the data's last day (docs/metrics.md, "Courses still running when the data ends")
def _courses_at_the_data_end(wh):
    """The data's last day is 2025-06-30. P1..P3: 3 sessions, the last 13, 14 and 15 days before it;
    P4: a completed induction whose 6th session is the day before it; P5: 2 sessions in January (a dropout)."""
    wh.clinic()
    for patient, first in (("P1", "2025-06-11 09:00"), ("P2", "2025-06-10 09:00"), ("P3", "2025-06-09 09:00")):
        wh.patient(patient)
        ketamine_course(wh, first, patient=patient, sessions=3)
    wh.patient("P4")
    ketamine_course(wh, "2025-06-14 09:00", patient="P4", sessions=6)
    wh.patient("P5")
    ketamine_course(wh, "2025-01-06 09:00", patient="P5", sessions=2)
    data_until(wh, "2025-06-30", patient="P5")
    wh.build()


def test_a_course_is_still_in_induction_only_if_its_last_session_is_under_14_days_before_the_data_end(wh):
    _courses_at_the_data_end(wh)
    by_ref = {r["patient_key"]: r for r in wh.rows("FROM marts.courses")}
    assert {ref: r["still_in_induction"] for ref, r in by_ref.items()} == {
        "P1": True, "P2": False, "P3": False, "P4": False, "P5": False}
    assert by_ref["P4"]["completed_induction"] and not by_ref["P1"]["completed_induction"]
    assert all(r["data_end_date"].isoformat() == "2025-06-30" for r in by_ref.values())


def test_induction_completion_leaves_out_courses_still_in_induction_and_counts_them(wh):
    _courses_at_the_data_end(wh)
    counts = wh.one("FROM metrics.course_counts()")
    assert counts["courses"] == 5 and counts["still_in_induction"] == 1 and counts["induction_ended"] == 4
    assert counts["completed_induction"] == 1
    assert counts["induction_completion_rate"] == 1 / 4  # P4 of P2, P3, P4, P5 (P1 is not a dropout yet)
    low, high = proportion_confint(1, 4, alpha=0.05, method="wilson")
    assert counts["induction_completion_ci_low"] == pytest.approx(low, abs=1e-12)
    assert counts["induction_completion_ci_high"] == pytest.approx(high, abs=1e-12)
    funnel = {r["session_number"]: r for r in wh.rows("FROM metrics.induction_funnel()")}
    assert [funnel[k]["courses"] for k in range(1, 7)] == [4] * 6
    assert [funnel[k]["courses_reaching"] for k in range(1, 7)] == [4, 4, 3, 1, 1, 1]
    assert {funnel[k]["still_in_induction"] for k in range(1, 7)} == {1}
    [clinic] = wh.rows("FROM metrics.clinic_comparison('induction_completion')")
    assert (clinic["events"], clinic["n"]) == (1, 4)


def test_induction_completion_by_medication_and_indication_says_who_stops(wh):
    """Who stops before completing: course_counts by a medication flag groups courses as the outcome rates do
    (on it, not on it, not recorded), and by indication; the groups add up to the courses."""
    wh.clinic()
    plan = {"P1": (True, "mdd", 6), "P2": (True, "ptsd", 2), "P3": (False, "mdd", 6), "P4": (None, "mdd", 3)}
    for patient, (benzodiazepine, indication, sessions) in plan.items():
        wh.patient(patient, benzodiazepine=benzodiazepine, indication=indication)
        ketamine_course(wh, "2025-03-03 09:00", patient=patient, sessions=sessions)
    data_until(wh, "2025-06-30")
    wh.build()
    by_flag = {r["group_value"]: r for r in wh.rows("FROM metrics.course_counts(breakdown := 'benzodiazepine')")}
    assert {g: (r["completed_induction"], r["induction_ended"]) for g, r in by_flag.items()} == {
        "yes": (1, 2), "no": (1, 1), "not_recorded": (0, 1)}
    assert by_flag["yes"]["induction_completion_rate"] == 0.5
    low, high = proportion_confint(1, 2, alpha=0.05, method="wilson")
    assert by_flag["yes"]["induction_completion_ci_low"] == pytest.approx(low, abs=1e-12)
    assert by_flag["yes"]["induction_completion_ci_high"] == pytest.approx(high, abs=1e-12)
    by_indication = {r["group_value"]: (r["completed_induction"], r["courses"])
                     for r in wh.rows("FROM metrics.course_counts(breakdown := 'indication')")}
    assert by_indication == {"mdd": (2, 3), "ptsd": (0, 1)}
    # the same groups as response and remission
    rates = {r["group_value"] for r in wh.rows("FROM metrics.outcome_rates(breakdown := 'benzodiazepine')")}
    assert rates == set(by_flag)


def test_a_family_whose_every_course_is_still_in_induction_keeps_its_count_in_the_funnel(wh):
    wh.clinic().patient()
    for i in range(2):
        wh.session(start=shift("2025-06-24 10:00", days=3 * i), modality="esketamine_nasal", dose=56.0)
    wh.build()
    funnel = wh.rows("FROM metrics.induction_funnel() ORDER BY session_number")
    assert [(r["courses"], r["still_in_induction"]) for r in funnel] == [(0, 1)] * 8
    assert all(r["share_of_courses"] is None for r in funnel)


def test_courses_in_a_clinics_first_four_weeks_of_data_are_flagged_as_possibly_begun_earlier(wh):
    """The data's first weeks count patients already in treatment as new courses (the sample's first month:
    538 courses against 322-451 later; medical-director audit). A course whose first session in the data is
    in its clinic's first 28 days is flagged, and course_counts says which groups hold such courses."""
    wh.clinic().patient("P1").patient("P2").patient("P3")
    wh.session(patient="P1", start="2025-01-06 09:00")  # the clinic's first day in the data
    wh.session(patient="P2", start=shift("2025-01-06 09:00", days=27))  # day 28 of the data: flagged
    wh.session(patient="P3", start=shift("2025-01-06 09:00", days=28))  # day 29: a new course
    wh.build()
    flags = {r["patient_key"]: r["starts_in_first_weeks"] for r in courses(wh)}
    assert flags == {"P1": True, "P2": True, "P3": False}
    months = {str(r["group_value"])[:7]: r["includes_first_weeks"]
              for r in wh.rows("FROM metrics.course_counts(breakdown := 'month')")}
    assert months == {"2025-01": True, "2025-02": True}
    assert wh.rows("FROM metrics.course_counts(start_date := DATE '2025-02-03')")[0]["includes_first_weeks"] is False

"""Outcomes per course and instrument (metrics.md, "Outcomes"), from the words of the definitions.

The course in most tests: six IV sessions at the Chicago clinic, 2025-01-06 .. 2025-01-21 09:00 (every
3 days), so course_start = 2025-01-06 09:00 and induction_end = 2025-01-21 09:00; no DST change inside.
"""

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

from sql_fixture import data_until, ketamine_course, shift

START = "2025-01-06 09:00"
INDUCTION_END = "2025-01-21 09:00"


@pytest.fixture
def course(wh):
    wh.clinic().patient()
    ketamine_course(wh, START)
    return wh


def outcome(wh, instrument="PHQ9", patient="P1"):
    return wh.one("SELECT o.* FROM marts.course_outcomes o JOIN marts.courses c USING (course_id) "
                  "WHERE o.instrument = ? AND c.patient_key = ?",
                  [instrument, patient])


def rates(wh, **filters):
    args = ", ".join(f"{k} := ?" for k in filters)
    return {r["instrument"]: r for r in wh.rows(f"SELECT * FROM metrics.outcome_rates({args})", list(filters.values()))}


# -- baseline window: [course_start - 30 days, course_start] --------------------------------------
def test_baseline_exactly_30_days_before_counts(course):
    course.assessment(shift(START, days=-30), 20)
    course.assessment(shift(INDUCTION_END, days=1), 8)
    course.build()
    row = outcome(course)
    assert row["has_baseline"] and row["baseline_score"] == 20


def test_baseline_a_minute_more_than_30_days_before_does_not(course):
    course.assessment(shift(START, days=-30, minutes=-1), 20)
    course.assessment(shift(INDUCTION_END, days=1), 8)
    course.build()
    row = outcome(course)
    assert not row["has_baseline"] and not row["evaluable"]
    assert row["not_evaluable_reason"] == "no_baseline"


def test_baseline_at_course_start_counts_and_the_last_one_in_the_window_is_used(course):
    course.assessment(shift(START, days=-10), 25)
    course.assessment(START, 18)  # exactly at course_start: still baseline
    course.assessment(shift(INDUCTION_END, days=1), 8)
    course.build()
    assert outcome(course)["baseline_score"] == 18


def test_30_days_are_calendar_days_on_the_clinic_clock_across_a_dst_change(wh):
    # course_start 2025-03-20 09:00 CDT; 30 days earlier on the clock is 2025-02-18 09:00 CST,
    # which is 30 days minus one hour of instants. 09:00 counts, 08:59 does not.
    wh.clinic().patient("P1").patient("P2")
    ketamine_course(wh, "2025-03-20 09:00", patient="P1")
    ketamine_course(wh, "2025-03-20 09:00", patient="P2")
    wh.assessment("2025-02-18 09:00", 20, patient="P1")
    wh.assessment("2025-02-18 08:59", 20, patient="P2")
    wh.build()
    assert outcome(wh, patient="P1")["has_baseline"]
    assert not outcome(wh, patient="P2")["has_baseline"]


# -- follow-up window: (course_start, induction_end + 14 days] -------------------------------------
def test_follow_up_exactly_14_days_after_induction_end_counts(course):
    course.assessment(shift(START, days=-1), 20)
    course.assessment(shift(INDUCTION_END, days=14), 9)
    course.build()
    row = outcome(course)
    assert row["has_follow_up"] and row["follow_up_score"] == 9 and row["evaluable"]


def test_follow_up_just_after_14_days_does_not(course):
    course.assessment(shift(START, days=-1), 20)
    course.assessment(shift(INDUCTION_END, days=14, minutes=1), 9)
    data_until(course, "2025-06-30")  # the window closed long before the data's last day
    course.build()
    row = outcome(course)
    assert not row["has_follow_up"] and not row["evaluable"]
    assert row["not_evaluable_reason"] == "no_follow_up"


def test_follow_up_is_the_last_assessment_after_course_start(course):
    course.assessment(shift(START, days=-1), 20)
    course.assessment(shift(START, hours=1), 15)
    course.assessment(shift(INDUCTION_END, days=3), 12)
    course.assessment(shift(INDUCTION_END, days=10), 9)
    course.build()
    assert outcome(course)["follow_up_score"] == 9


def test_an_assessment_at_course_start_is_baseline_not_follow_up(course):
    course.assessment(START, 20)
    course.build()
    row = outcome(course)
    assert row["has_baseline"] and not row["has_follow_up"]


def test_follow_up_window_runs_from_the_last_induction_session_of_a_course_that_stopped_early(wh):
    wh.clinic().patient()
    ketamine_course(wh, START, sessions=3)  # induction_end = session 3 = 2025-01-12 09:00
    wh.assessment(shift(START, days=-1), 20)
    wh.assessment(shift("2025-01-12 09:00", days=14), 8)
    wh.build()
    assert outcome(wh)["evaluable"]


def test_windows_compare_instants_of_timestamps_given_with_offsets(wh):
    # The course is at the New York clinic: course_start 2025-01-06 09:00 EST = 14:00 UTC. The patient's
    # home clinic is in Chicago. 08:30-06:00 is 14:30 UTC: after course_start, so it is not a baseline,
    # although its wall-clock reading (08:30) is earlier than 09:00.
    wh.clinic("OKC").clinic("NYC", tz="America/New_York").patient("P1", clinic="OKC")
    ketamine_course(wh, START, clinic="NYC")
    wh.assessment("2025-01-06T08:30:00-06:00", 20)
    wh.assessment("2025-01-06T13:45:00Z", 22)  # 08:45 in New York: before course_start -> baseline
    wh.build()
    row = outcome(wh)
    assert row["baseline_score"] == 22
    assert row["follow_up_score"] == 20


# -- evaluable, response, remission -----------------------------------------------------------
@pytest.mark.parametrize("instrument, baseline, follow_up, responder, remitter", [
    ("PHQ9", 20, 10, True, False),     # drop exactly 50%
    ("PHQ9", 21, 11, False, False),    # 47.6%
    ("PHQ9", 10, 4, True, True),       # baseline exactly at the minimum; remission at 4
    ("PHQ9", 10, 5, True, False),      # 50%, 5 is not <= 4
    ("GAD7", 12, 4, True, True),
    ("MADRS", 20, 10, True, True),     # minimum 20; drop 50%; remission <= 10
    ("MADRS", 30, 11, True, False),
    ("PCL5", 66, 33, True, False),     # drop 50%, but remission needs < 33
    ("PCL5", 64, 32, True, True),
    ("PAIN_NRS", 10, 7, True, False),  # drop exactly 30%
    ("PAIN_NRS", 7, 4.9, True, False),  # exactly 30% although 2.1/7 is not exact in binary floating point
    ("PAIN_NRS", 10, 7.1, False, False),
    ("PAIN_NRS", 5, 3, True, True),    # 40%, remission <= 3
    ("PAIN_NRS", 5, 3.5, True, False),
    # A value just over a threshold stays over it: scores were rounded to 6 places, which made 3.0000001
    # a remission (<= 3) and 5.0000001 -> 3.5000001 a response (exactly 30% after rounding).
    ("PAIN_NRS", 5, 3.0000001, True, False),
    ("PAIN_NRS", 5.0000001, 3.5000001, False, False),
    ("PAIN_NRS", 80.3 / 10, 5.621, True, False),  # 8.03 -> 5.621 is exactly 30%, although neither is exact in binary
])
def test_response_and_remission_thresholds(course, instrument, baseline, follow_up, responder, remitter):
    course.assessment(shift(START, days=-2), baseline, instrument=instrument)
    course.assessment(shift(INDUCTION_END, days=2), follow_up, instrument=instrument)
    course.build()
    row = outcome(course, instrument)
    assert row["evaluable"]
    assert row["is_responder"] is responder
    assert row["is_remitter"] is remitter
    assert row["score_drop"] == pytest.approx((baseline - follow_up) / baseline)


@pytest.mark.parametrize("instrument, below", [("PHQ9", 9), ("GAD7", 9), ("MADRS", 19), ("PCL5", 32), ("PAIN_NRS", 3.9),
                                               ("PAIN_NRS", 3.9999999)])  # was rounded up to the minimum of 4
def test_baseline_below_the_minimum_is_not_evaluable(course, instrument, below):
    course.assessment(shift(START, days=-2), below, instrument=instrument)
    course.assessment(shift(INDUCTION_END, days=2), 0, instrument=instrument)
    course.build()
    row = outcome(course, instrument)
    assert row["has_baseline"] and row["has_follow_up"] and not row["evaluable"]
    assert row["not_evaluable_reason"] == "baseline_below_minimum"
    assert row["is_responder"] is None and row["is_remitter"] is None


def _courses_scored(wh, plans: dict) -> None:
    """One ketamine course per patient, scored (baseline, follow-up; None: no such score); every follow-up
    window closed before the data's last day."""
    wh.clinic()
    for patient, (baseline, follow_up) in plans.items():
        wh.patient(patient)
        ketamine_course(wh, START, patient=patient)
        if baseline is not None:
            wh.assessment(shift(START, days=-1), baseline, patient=patient)
        if follow_up is not None:
            wh.assessment(shift(INDUCTION_END, days=1), follow_up, patient=patient)
    data_until(wh, "2025-06-30")


def test_rates_count_every_course_and_say_why_the_others_are_not_evaluable(wh):
    _courses_scored(wh, {
        "P1": (20, 8),     # responder, not remitter
        "P2": (20, 3),     # responder and remitter
        "P3": (20, 15),    # neither
        "P4": (20, None),  # no follow-up
        "P5": (None, 10),  # no baseline
        "P6": (8, 2),      # baseline below minimum
        "P7": (None, None),  # never assessed
    })
    wh.build()
    phq9 = rates(wh)["PHQ9"]
    assert phq9["courses"] == 7
    assert phq9["courses_with_baseline"] == 5  # P1, P2, P3, P4 and P6 (below the minimum, still a baseline)
    assert (phq9["not_assessed"], phq9["no_baseline"], phq9["no_follow_up"], phq9["baseline_below_minimum"]) == (1, 1, 1, 1)
    assert phq9["evaluable"] == 3
    assert phq9["responders"] == 2 and phq9["response_rate"] == 2 / 3
    assert phq9["remitters"] == 1 and phq9["remission_rate"] == 1 / 3
    low, high = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert phq9["response_ci_low"] == pytest.approx(low, abs=1e-12)
    assert phq9["response_ci_high"] == pytest.approx(high, abs=1e-12)


def test_intention_to_treat_counts_missed_follow_ups_of_a_qualifying_baseline_as_no_response(wh):
    """59% response read as 'of the patients we treat' while 702 courses with a qualifying baseline and no
    follow-up, most of them dropouts, were left out (medical-director audit). Beside the contract's rates, the
    same responders over every course with a qualifying baseline and a closed window: P4 (baseline 20, no
    follow-up) and P8 (baseline 9, under the minimum, no follow-up) both miss a follow-up; only P4 counts."""
    _courses_scored(wh, {"P1": (20, 8), "P2": (20, 3), "P3": (20, 15), "P4": (20, None), "P8": (9, None),
                         "P7": (None, None)})
    wh.build()
    phq9 = rates(wh)["PHQ9"]
    assert phq9["no_follow_up"] == 2 and phq9["missed_follow_up"] == 1
    assert phq9["evaluable"] == 3 and phq9["itt_courses"] == 4
    assert phq9["itt_response_rate"] == 2 / 4 and phq9["itt_remission_rate"] == 1 / 4
    low, high = proportion_confint(2, 4, alpha=0.05, method="wilson")
    assert phq9["itt_response_ci_low"] == pytest.approx(low, abs=1e-12)
    assert phq9["itt_response_ci_high"] == pytest.approx(high, abs=1e-12)
    assert phq9["response_rate"] == 2 / 3  # the contract's rate is unchanged


def test_a_follow_up_window_still_open_is_not_a_missed_follow_up(wh):
    wh.clinic().patient("P1")
    ketamine_course(wh, START, patient="P1")
    wh.assessment(shift(START, days=-1), 20, patient="P1")
    data_until(wh, INDUCTION_END[:10])  # the data ends inside the follow-up window
    wh.build()
    phq9 = rates(wh)["PHQ9"]
    assert phq9["follow_up_open"] == 1 and phq9["missed_follow_up"] == 0 and phq9["itt_courses"] == 0
    assert phq9["itt_response_rate"] is None


def test_courses_with_baseline_include_those_below_the_minimum(wh):
    wh.clinic().patient("P1").patient("P2")
    for p, b in (("P1", 20), ("P2", 8)):
        ketamine_course(wh, START, patient=p)
        wh.assessment(shift(START, days=-1), b, patient=p)
        wh.assessment(shift(INDUCTION_END, days=1), 5, patient=p)
    wh.build()
    phq9 = rates(wh)["PHQ9"]
    assert phq9["courses_with_baseline"] == 2 and phq9["evaluable"] == 1


def test_empty_denominators_give_null_rates_and_intervals(wh):
    wh.clinic().patient()
    ketamine_course(wh, START)
    wh.assessment(shift(START, days=-1), 8)  # below the minimum: nothing evaluable
    wh.build()
    phq9 = rates(wh)["PHQ9"]
    assert phq9["evaluable"] == 0
    for key in ("response_rate", "response_ci_low", "response_ci_high", "remission_rate", "remission_ci_low",
                "remission_ci_high"):
        assert phq9[key] is None


def test_rates_by_breakdown_and_filters(wh):
    wh.clinic("OKC").clinic("NYC", tz="America/New_York")
    wh.patient("P1", clinic="OKC", indication="mdd")
    wh.patient("P2", clinic="NYC", indication="ptsd", lamotrigine=True)
    for p, clinic, follow_up in (("P1", "OKC", 5), ("P2", "NYC", 15)):
        ketamine_course(wh, START, patient=p, clinic=clinic)
        wh.assessment(shift(START, days=-1), 20, patient=p)
        wh.assessment(shift(INDUCTION_END, days=1), follow_up, patient=p)
    wh.build()
    by_clinic = {r["group_value"]: r for r in wh.rows(
        "FROM metrics.outcome_rates(breakdown := 'clinic') WHERE instrument = 'PHQ9'")}
    assert by_clinic["OKC"]["responders"] == 1 and by_clinic["NYC"]["responders"] == 0
    by_lamotrigine = {r["group_value"]: r["evaluable"] for r in wh.rows(
        "FROM metrics.outcome_rates(breakdown := 'lamotrigine') WHERE instrument = 'PHQ9'")}
    assert by_lamotrigine == {"yes": 1, "no": 1}
    assert rates(wh, indications=["ptsd"])["PHQ9"]["responders"] == 0
    assert rates(wh, clinics=["OKC"])["PHQ9"]["responders"] == 1
    assert rates(wh, modalities=["esketamine"]) == {}
    assert rates(wh, modalities=["iv_ketamine"])["PHQ9"]["evaluable"] == 2
    month = wh.rows("FROM metrics.outcome_rates(breakdown := 'month') WHERE instrument = 'PHQ9'")
    assert [r["group_value"] for r in month] == ["2025-01"]
    with pytest.raises(Exception, match="unknown breakdown"):
        wh.rows("FROM metrics.outcome_rates(breakdown := 'nonsense')")


# -- early signal, trajectories, item 9 -------------------------------------------------------
def test_early_signal_is_the_first_score_within_72_hours_after_session_2(wh):
    wh.clinic().patient("P1").patient("P2")
    s2 = shift(START, days=3)
    ketamine_course(wh, START, patient="P1")
    ketamine_course(wh, START, patient="P2")
    for p in ("P1", "P2"):
        wh.assessment(shift(START, days=-1), 20, patient=p)
    wh.assessment(shift(s2, hours=24), 14, patient="P1")  # first after session 2
    wh.assessment(shift(s2, hours=48), 10, patient="P1")
    wh.assessment(shift(s2, hours=72, minutes=1), 12, patient="P2")  # too late
    wh.assessment(s2, 13, patient="P2")  # at session 2's start: not after it
    wh.build()
    p1, p2 = outcome(wh, patient="P1"), outcome(wh, patient="P2")
    assert p1["early_score"] == 14 and p1["early_change"] == -6 and p1["early_change_fraction"] == -6 / 20
    assert p2["early_score"] is None and p2["early_change"] is None
    [signal] = wh.rows("FROM metrics.early_signal()")
    assert signal["instrument"] == "PHQ9" and signal["courses"] == 1 and signal["mean_change"] == -6


def test_early_signal_exactly_72_hours_after_session_2_counts(course):
    course.assessment(shift(START, days=-1), 20)
    course.assessment(shift(START, days=3, hours=72), 15)
    course.build()
    assert outcome(course)["early_score"] == 15


def _trajectory(wh, after_session_2: list[int]) -> dict:
    """One PHQ-9 course per score: baselines 20, 21, ...; the given scores between session 2 (day 3)
    and session 3 (day 6). Returns metrics.score_trajectory's rows by session number."""
    wh.clinic()
    for i, score in enumerate(after_session_2):
        p = f"P{i}"
        wh.patient(p)
        ketamine_course(wh, START, patient=p)
        wh.assessment(shift(START, days=-1), 20 + i, patient=p)
        wh.assessment(shift(START, days=4), score, patient=p)
    wh.build()
    return {r["session_number"]: r for r in wh.rows("FROM metrics.score_trajectory(for_instrument := 'PHQ9')")}


def test_score_trajectory_means_with_t_intervals(wh):
    from scipy import stats

    after_session_2 = [14, 12, 17]
    points = _trajectory(wh, after_session_2)
    assert set(points) == {0, 2}
    assert points[0]["mean_score"] == 21 and points[0]["courses"] == 3
    mean = sum(after_session_2) / 3
    sd = stats.tstd(after_session_2)
    half = stats.t.ppf(0.975, 2) * sd / math.sqrt(3)
    assert points[2]["mean_score"] == pytest.approx(mean)
    assert points[2]["ci_low"] == pytest.approx(mean - half)
    assert points[2]["ci_high"] == pytest.approx(mean + half)


def test_score_trajectory_interval_stops_at_zero(wh):
    """A mean of scattered scores near 0 (0, 0, 9 after session 2) has a t interval reaching below 0;
    no instrument scores below 0, so the interval stops there. The upper bound is the plain t bound."""
    from scipy import stats

    after_session_2 = [0, 0, 9]
    point = _trajectory(wh, after_session_2)[2]
    half = stats.t.ppf(0.975, 2) * stats.tstd(after_session_2) / math.sqrt(3)
    assert 3.0 - half < 0
    assert point["ci_low"] == 0.0
    assert point["ci_high"] == pytest.approx(3.0 + half)


def test_score_trajectory_change_from_each_courses_own_baseline(wh):
    """Baselines 20, 21, 22 and scores 14, 12, 17 after session 2: changes -6, -9, -5. The mean score moves
    with whoever is scored at a session number; the mean change compares each course with itself."""
    from scipy import stats

    points = _trajectory(wh, [14, 12, 17])
    changes = [14 - 20, 12 - 21, 17 - 22]
    assert points[0]["mean_change"] == 0 and points[0]["courses_with_baseline"] == 3
    assert points[2]["courses_with_baseline"] == 3
    assert points[2]["mean_change"] == pytest.approx(sum(changes) / 3)
    half = stats.t.ppf(0.975, 2) * stats.tstd(changes) / math.sqrt(3)
    assert points[2]["change_ci_low"] == pytest.approx(sum(changes) / 3 - half)  # a change is not cut at 0
    assert points[2]["change_ci_high"] == pytest.approx(sum(changes) / 3 + half)


def test_score_trajectory_carries_the_scales_top_and_remission_line_from_the_rules(wh):
    """The trajectory's remission line was a copy of the thresholds in Python; the macro now returns it from
    marts.instruments, the rules course_outcomes computes remission with: PHQ-9 at or below 4 is drawn at 4,
    PCL-5 below 33 at 32.5 (between the last remitting score and the first that is not)."""
    points = _trajectory(wh, [14, 12, 17])
    assert {(p["score_max"], float(p["remission_line"])) for p in points.values()} == {(27, 4.0)}
    rules = {r["instrument"]: r for r in wh.rows("FROM marts.instruments")}
    assert float(rules["PCL5"]["remission_line"]) == 32.5 and not rules["PCL5"]["remission_inclusive"]
    assert all(float(r["remission_line"]) == float(r["remission_threshold"])
               for r in rules.values() if r["remission_inclusive"])


def test_score_trajectory_of_one_course_has_no_interval(wh):
    """A session number held by one course has no interval (n - 1 = 0 degrees of freedom): both bounds
    are NULL. The cut at 0 turned the missing lower bound into 0 (greatest(0, NULL) is 0), so an export
    of PHQ-9 at session 10 over one course read 'mean 14, 95% CI from 0'."""
    point = _trajectory(wh, [6])[2]
    assert point["courses"] == 1 and point["mean_score"] == 6
    assert point["ci_low"] is None and point["ci_high"] is None


def test_item9_flags_at_baseline_and_follow_up(wh):
    wh.clinic()
    for p, (b9, f9) in {"P1": (1, 0), "P2": (0, 2), "P3": (2, 1), "P4": (0, 0), "P5": (None, None)}.items():
        wh.patient(p)
        ketamine_course(wh, START, patient=p)
        wh.assessment(shift(START, days=-1), 20, patient=p, item9=b9)
        wh.assessment(shift(INDUCTION_END, days=1), 8, patient=p, item9=f9)
    wh.build()
    flags = wh.one("FROM metrics.item9_flags()")
    assert flags["courses_with_baseline_item9"] == 4 and flags["flagged_at_baseline"] == 2
    assert flags["courses_with_follow_up_item9"] == 4 and flags["flagged_at_follow_up"] == 2
    assert (flags["resolved"], flags["emerged"], flags["persisted"]) == (1, 1, 1)
    assert flags["baseline_flag_rate"] == 0.5


def test_item9_flags_on_no_courses_are_zero_counts_and_null_rates(wh):
    wh.clinic().build()
    flags = wh.one("FROM metrics.item9_flags()")
    assert flags["flagged_at_baseline"] == 0 and flags["baseline_flag_rate"] is None


def test_the_same_assessments_serve_a_patients_ketamine_and_esketamine_courses(wh):
    wh.clinic().patient()
    ketamine_course(wh, START)
    for i in range(8):
        wh.session(start=shift("2025-01-07 13:00", days=3 * i), modality="esketamine_nasal", dose=84.0)
    wh.assessment(shift(START, days=-1), 20)
    wh.assessment(shift("2025-01-28 13:00", days=1), 9)
    wh.build()
    rows = wh.rows("SELECT c.modality_family, o.evaluable FROM marts.course_outcomes o JOIN marts.courses c USING (course_id) "
                   "WHERE o.instrument = 'PHQ9'")
    assert sorted(rows, key=lambda r: r["modality_family"]) == [
        {"modality_family": "esketamine", "evaluable": True},
        {"modality_family": "ketamine", "evaluable": True},
    ]


def test_a_trajectory_point_is_the_last_score_after_session_k_up_to_session_k_plus_1(wh):
    wh.clinic().patient()
    ids = ketamine_course(wh, START, sessions=3)  # sessions on day 0, 3, 6
    wh.assessment(shift(START, days=-1), 20)                 # baseline (k = 0)
    wh.assessment(shift(START, hours=2), 18)                 # after session 1 ...
    wh.assessment(shift(START, days=3), 16)                  # ... exactly at session 2's start: still k = 1
    wh.assessment(shift(START, days=6, hours=1), 12)         # after session 3 (the last one)
    wh.assessment(shift(START, days=6 + 30, hours=2), 5)     # more than 30 days after it: no point
    wh.build()
    points = dict(wh.con.execute(
        "SELECT session_number, score FROM marts.score_trajectories WHERE instrument = 'PHQ9'").fetchall())
    assert points == {0: 20, 1: 16, 3: 12}
    assert len(ids) == 3


# -- follow-up window still open at the data's last day (docs/metrics.md) ---------------------------
@pytest.mark.parametrize(("days_after_window_start", "reason"), [(13, "follow_up_open"), (14, "no_follow_up"),
                                                                  (15, "no_follow_up")])
def test_no_follow_up_yet_is_its_own_reason_while_the_window_is_open_at_the_data_end(
        course, days_after_window_start, reason):
    # the window (course_start, induction_end + 14 days] ends on 2025-02-04: open while the data ends before
    course.assessment(shift(START, days=-1), 20)
    data_until(course, shift(INDUCTION_END, days=days_after_window_start)[:10])
    course.build()
    row = outcome(course)
    assert not row["evaluable"] and row["not_evaluable_reason"] == reason
    phq9 = rates(course)["PHQ9"]
    assert (phq9["follow_up_open"], phq9["no_follow_up"]) == ((1, 0) if reason == "follow_up_open" else (0, 1))
    assert phq9["courses_with_baseline"] == (phq9["follow_up_open"] + phq9["no_follow_up"]
                                             + phq9["baseline_below_minimum"] + phq9["evaluable"])


def test_an_open_window_with_a_follow_up_already_is_evaluable(course):
    course.assessment(shift(START, days=-1), 20)
    course.assessment(shift(INDUCTION_END, days=1), 8)
    data_until(course, shift(INDUCTION_END, days=3)[:10])
    course.build()
    row = outcome(course)
    assert row["follow_up_window_open"] and row["evaluable"] and row["not_evaluable_reason"] is None


def test_a_course_still_in_induction_without_follow_up_has_its_window_open(wh):
    wh.clinic().patient()
    ketamine_course(wh, START, sessions=3)  # last session 2025-01-12; the data ends 13 days later
    wh.assessment(shift(START, days=-1), 20)
    data_until(wh, "2025-01-25")
    wh.build()
    row = outcome(wh)
    assert row["not_evaluable_reason"] == "follow_up_open"


def test_a_medication_flag_left_empty_is_its_own_group_not_folded_into_no(wh):
    """maoi and the other flags are optional in the patients extract: a patient whose flag is empty is
    'not_recorded', so the comparison of patients on and off a medication is not diluted by unknowns."""
    wh.clinic("OKC")
    for ref, flag in (("P1", True), ("P2", False), ("P3", None), ("P4", None)):
        wh.patient(ref, clinic="OKC", maoi=flag)
        ketamine_course(wh, START, patient=ref, clinic="OKC")
        wh.assessment(shift(START, days=-1), 20, patient=ref)
        wh.assessment(shift(INDUCTION_END, days=1), 5, patient=ref)
    wh.build()
    by_maoi = {r["group_value"]: r["evaluable"] for r in wh.rows(
        "FROM metrics.outcome_rates(breakdown := 'maoi') WHERE instrument = 'PHQ9'")}
    assert by_maoi == {"yes": 1, "no": 1, "not_recorded": 2}
    assert wh.rows("SELECT count(*) AS n FROM marts.courses WHERE on_maoi IS NULL")[0]["n"] == 2

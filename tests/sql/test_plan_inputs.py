"""The planning inputs (sql/metrics/plan_inputs.sql) on hand-built warehouses: weekly new courses and
sessions, where courses stand, the induction funnel and return odds, booster rates by weeks since
induction, chair time, attendance, modality and weekday mixes; and the cut: nothing on or after as_of
changes any of them.

The clinic (sql_fixture defaults): OKC, America/Chicago, 4 chairs, 08:00-17:00, Mon-Fri. 2025-03-03 is
a Monday. Sessions: check-in 15 min before start, discharge 75 min after (90 chair-minutes).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from sql_fixture import Warehouse

MON = "2025-03-03"


def day(offset: int, base: str = MON) -> str:
    return (dt.date.fromisoformat(base) + dt.timedelta(days=offset)).isoformat()


def course(w: Warehouse, patient: str, first: str, offsets: list[int], modality="iv_ketamine", clinic="OKC",
           hour="09:00") -> list[str]:
    dose = 56.0 if modality == "esketamine_nasal" else 35.0
    return [w.session(patient=patient, clinic=clinic, start=f"{day(o, first)} {hour}", modality=modality, dose=dose)
            for o in offsets]


def rows(w: Warehouse, sql: str, params=None) -> list[dict]:
    return w.rows(sql, params)


def test_weekly_new_courses_are_zero_filled_complete_weeks_before_the_cut(wh):
    wh.clinic().patient("P1").patient("P2")
    course(wh, "P1", MON, [0, 2, 4])
    course(wh, "P2", day(14), [0, 3], modality="esketamine_nasal")
    wh.build()
    got = rows(wh, "FROM metrics.plan_weekly_new_courses(as_of := ?::DATE) ORDER BY week_start, modality", [day(21)])
    weeks = sorted({r["week_start"].isoformat() for r in got})
    assert weeks == [MON, day(7), day(14)]  # the week of as_of is not complete: left out
    assert {r["modality"] for r in got} == {"iv_ketamine", "im_ketamine", "esketamine_nasal"}
    counts = {(r["week_start"].isoformat(), r["modality"]): r["new_courses"] for r in got}
    assert counts[(MON, "iv_ketamine")] == 1 and counts[(day(7), "iv_ketamine")] == 0
    assert counts[(day(14), "esketamine_nasal")] == 1
    # cut mid-week: the week of 17 March is not complete before Thursday 20 March
    got = rows(wh, "FROM metrics.plan_weekly_new_courses(as_of := ?::DATE)", [day(17)])
    assert max(r["week_start"] for r in got).isoformat() == day(7)
    assert sum(r["new_courses"] for r in got) == 1


def test_weekly_sessions_count_treated_no_show_and_cancelled_by_week(wh):
    wh.clinic().patient()
    course(wh, "P1", MON, [0, 2, 7])
    wh.session(start=f"{day(9)} 10:00", status="no_show")
    wh.session(start=f"{day(10)} 10:00", status="cancelled")
    wh.build()
    got = {r["week_start"].isoformat(): r for r in rows(
        wh, "FROM metrics.plan_weekly_sessions(start_date := ?::DATE, end_date := ?::DATE)", [MON, day(13)])}
    assert got[MON]["treated_sessions"] == 2 and got[MON]["open_days"] == 5 and got[MON]["days"] == 7
    assert (got[day(7)]["treated_sessions"], got[day(7)]["no_show_sessions"], got[day(7)]["cancelled_sessions"]) == (1, 1, 1)
    assert got[MON]["occupied_chair_hours"] == 3.0 and got[MON]["available_chair_hours"] == 5 * 4 * 9


def test_course_states_say_where_each_course_stands_before_the_cut(wh):
    wh.clinic().patient("P1").patient("P2")
    course(wh, "P1", MON, [0, 2, 4, 7, 9, 11, 40])  # induction ends day 11, a booster on day 40
    course(wh, "P2", MON, [0, 3], modality="esketamine_nasal")
    wh.build()
    as_of = day(8)
    got = rows(wh, "FROM metrics.plan_course_states(as_of := ?::DATE) ORDER BY modality_family", [as_of])
    assert [(r["modality_family"], r["state"], r["induction_sessions_done"], r["anchor_date"].isoformat(), r["courses"])
            for r in got] == [("esketamine", "induction", 2, day(3), 1), ("ketamine", "induction", 4, day(7), 1)]
    later = rows(wh, "FROM metrics.plan_course_states(as_of := ?::DATE) WHERE modality_family = 'ketamine'", [day(50)])
    assert [(r["state"], r["induction_sessions_done"], r["anchor_date"].isoformat()) for r in later] == \
        [("maintenance", 6, day(11))]
    # anchors older than max_weeks are left out
    assert rows(wh, "FROM metrics.plan_course_states(as_of := ?::DATE, max_weeks := 1) WHERE state = 'maintenance'",
                [day(50)]) == []


def test_induction_protocol_funnel_gaps_and_days_from_the_first_session(wh):
    wh.clinic()
    for i, offsets in enumerate([[0, 2, 4, 7, 9, 11], [0, 3, 7, 10, 14, 17], [0, 4], [0]]):
        wh.patient(f"P{i}")
        course(wh, f"P{i}", MON, offsets)
    wh.build()
    got = {r["session_number"]: r for r in rows(
        wh, "FROM metrics.plan_induction_protocol(as_of := ?::DATE, breakdown := 'none') "
            "WHERE modality_family = 'ketamine'", [day(60)])}
    assert [got[k]["courses_reaching"] for k in range(1, 7)] == [4, 3, 2, 2, 2, 2]
    assert all(got[k]["courses"] == 4 for k in got)
    assert got[2]["share_reaching"] == 0.75
    assert got[2]["median_gap_days"] == 3  # gaps 2, 3, 4
    assert got[6]["median_days_from_start"] == 14 and got[6]["mean_days_from_start"] == 14
    assert got[1]["median_gap_days"] is None
    # courses younger than settle_days (42) are not in the funnel yet
    assert rows(wh, "FROM metrics.plan_induction_protocol(as_of := ?::DATE, breakdown := 'none')", [day(30)]) == []


def test_return_odds_after_waiting_days_without_the_next_session(wh):
    wh.clinic()
    # session 2 comes 2, 3 and 5 days after session 1 (all on a Monday), one course never returns
    for i, offsets in enumerate([[0, 2], [0, 3], [0, 5], [0]]):
        wh.patient(f"P{i}")
        course(wh, f"P{i}", MON, offsets)
    wh.build()
    got = {r["days_waited"]: r for r in rows(
        wh, "FROM metrics.plan_induction_continuation(as_of := ?::DATE, breakdown := 'none') "
            "WHERE modality_family = 'ketamine' AND session_number = 1", [day(60)])}
    assert all(r["weekday"] == 1 for r in got.values())  # session 1 was on a Monday
    assert (got[0]["courses_at_risk"], got[0]["courses_continuing"]) == (4, 3)
    assert (got[2]["courses_at_risk"], got[2]["courses_continuing"]) == (3, 2)  # the 2-day return is past
    assert (got[4]["courses_at_risk"], got[4]["courses_continuing"]) == (2, 1)
    assert got[5]["share_continuing"] == 0.0 and got[20]["courses_at_risk"] == 1


def test_booster_rates_by_weeks_since_induction_count_only_weeks_seen_whole(wh):
    wh.clinic().patient("P1").patient("P2")
    course(wh, "P1", MON, [0, 2, 4, 7, 9, 11, 11 + 30, 11 + 60])  # boosters in weeks 4 and 8 after induction
    course(wh, "P2", day(28), [0, 2, 4, 7, 9, 11])  # completes later, no booster
    wh.build()
    as_of = day(11 + 63)  # P1 followed 9 whole weeks; P2 (induction end day 39) for 5
    got = {r["weeks_since_induction"]: r for r in rows(
        wh, "FROM metrics.plan_booster_rates(as_of := ?::DATE, breakdown := 'none', max_weeks := 12) "
            "WHERE modality_family = 'ketamine'", [as_of])}
    assert got[4]["courses_at_risk"] == 2 and got[4]["booster_sessions"] == 1 and got[4]["boosters_per_course"] == 0.5
    assert got[8]["courses_at_risk"] == 1 and got[8]["booster_sessions"] == 1
    assert 9 not in got  # week 9 is not over for anyone
    assert got[0]["booster_sessions"] == 0


def test_chair_minutes_attendance_mix_and_weekdays(wh):
    wh.clinic().patient("P1").patient("P2").patient("P3")
    course(wh, "P1", MON, [0, 2])  # Mon, Wed: 90 chair-minutes each
    wh.session(patient="P2", start=f"{day(1)} 09:00", checkin=f"{day(1)} 08:30", discharge=f"{day(1)} 11:30",
               modality="esketamine_nasal", dose=56.0)  # Tue: 180 minutes
    wh.session(patient="P3", start=f"{day(3)} 09:00", status="no_show")
    wh.session(patient="P3", start=f"{day(4)} 09:00", status="cancelled")
    wh.build()
    as_of = day(7)
    chair = {r["modality"]: r for r in rows(wh, "FROM metrics.plan_chair_minutes(as_of := ?::DATE, breakdown := 'none')", [as_of])}
    assert chair["iv_ketamine"]["median_chair_minutes"] == 90 and chair["iv_ketamine"]["treated_sessions"] == 2
    assert chair["esketamine_nasal"]["median_chair_minutes"] == 180
    att = rows(wh, "FROM metrics.plan_attendance(as_of := ?::DATE)", [as_of])[0]
    assert (att["booked_sessions"], att["treated_sessions"], att["no_show_sessions"], att["cancelled_sessions"]) == (5, 3, 1, 1)
    assert att["no_show_rate"] == 0.2 and att["cancellation_rate"] == 0.2 and att["group_value"] == "OKC"
    mix = {r["modality"]: r["share"] for r in rows(wh, "FROM metrics.plan_modality_mix(as_of := ?::DATE)", [as_of])}
    assert mix == {"iv_ketamine": 0.5, "esketamine_nasal": 0.5}
    weekdays = {(r["kind"], r["weekday"]): r["sessions"] for r in rows(
        wh, "FROM metrics.plan_session_weekdays(as_of := ?::DATE)", [as_of])}
    assert weekdays == {("first_infusion", 1): 1, ("first_infusion", 2): 1, ("induction", 3): 1}


def test_an_unknown_breakdown_is_an_error(wh):
    wh.clinic().patient()
    course(wh, "P1", MON, [0])
    wh.build()
    with pytest.raises(Exception, match="unknown breakdown"):
        rows(wh, "FROM metrics.plan_attendance(as_of := ?::DATE, breakdown := 'modality')", [day(7)])


# -- public holidays ---------------------------------------------------------------------------------


def test_a_holiday_with_nothing_booked_between_two_booked_weeks_was_a_closure():
    """OKC (Monday to Friday) books on Mondays day 0, 7, 21 and 28, not on day 14: day 14 was closed. Day 15
    holds a cancelled booking: open. NYC books nothing on day 14 nor on day 7: a quiet fortnight, not a closure. A Saturday
    is no open day of OKC (no row); a holiday whose week after is not before as_of gives no row."""
    w = Warehouse()
    try:
        w.clinic("OKC").clinic("NYC", tz="America/New_York")
        w.patient("P1", clinic="OKC").patient("P2", clinic="NYC")
        for offset in (0, 7, 21, 28):
            w.session(session_id=f"O{offset}", patient="P1", clinic="OKC", start=f"{day(offset)} 09:00")
        for offset in (0, 21, 28):
            w.session(session_id=f"N{offset}", patient="P2", clinic="NYC", start=f"{day(offset)} 09:00")
        w.session(session_id="X", patient="P1", clinic="OKC", start=f"{day(15)} 09:00", status="cancelled")
        w.build()
        holidays = [day(14), day(15), day(19), day(28)]
        got = {(r["clinic_id"], r["day"].isoformat()): (r["booked_sessions"], r["booked_week_before"],
                                                         r["booked_week_after"], r["closed"])
               for r in w.rows("SELECT * FROM metrics.plan_holiday_days(days := ?::DATE[], as_of := ?::DATE)",
                               [holidays, day(30)])}
    finally:
        w.con.close()
    assert got[("OKC", day(14))] == (0, 1, 1, True)
    assert got[("NYC", day(14))] == (0, 0, 1, False)  # the week before was empty too
    assert got[("OKC", day(15))][0] == 1  # a cancelled booking: the clinic was open
    assert ("OKC", day(19)) not in got  # a Saturday: not an open day of OKC
    assert ("OKC", day(28)) not in got and ("NYC", day(28)) not in got  # its week after is not before as_of


def test_two_holidays_a_week_apart_are_each_read_against_the_weeks_around_both():
    """Christmas Day and New Year's Day fall on the same weekday a week apart. OKC books Mondays 0, 7, 28 and
    35, nothing on days 14 and 21 (both holidays): each is read against day 7 and day 28, so both were
    closures. Compared with each other they would have looked like a quiet fortnight."""
    w = Warehouse()
    try:
        w.clinic("OKC")
        w.patient("P1", clinic="OKC")
        for offset in (0, 7, 28, 35):
            w.session(session_id=f"O{offset}", patient="P1", clinic="OKC", start=f"{day(offset)} 09:00")
        w.build()
        got = {r["day"].isoformat(): (r["booked_sessions"], r["booked_week_before"], r["booked_week_after"],
                                      r["closed"])
               for r in w.rows("SELECT * FROM metrics.plan_holiday_days(days := ?::DATE[], as_of := ?::DATE)",
                               [[day(14), day(21)], day(40)])}
        alone = w.rows("SELECT closed FROM metrics.plan_holiday_days(days := ?::DATE[], as_of := ?::DATE)",
                       [[day(14)], day(40)])
    finally:
        w.con.close()
    assert got == {day(14): (0, 1, 1, True), day(21): (0, 1, 1, True)}
    assert [r["closed"] for r in alone] == [False]  # day 21 not named a holiday: an empty week after


def test_the_day_to_day_spread_reads_each_day_against_its_weekdays_mean():
    """OKC's Mondays book 1, 1, 2 and 2 sessions of 90 chair-minutes (weekday mean 135: days at -1/3 and +1/3)
    and its Wednesdays 1 each (at the mean); one Monday with nothing booked is a closure, not a quiet day. The
    spread is the root mean square over the 8 days: sqrt(4 x (1/3)^2 / 8). NYC's Tuesdays, 3 of them, are too
    few to read a weekday's mean from."""
    w = Warehouse()
    try:
        w.clinic("OKC").clinic("NYC", tz="America/New_York")
        w.patient("P1", clinic="OKC").patient("P2", clinic="NYC")
        for week, n in enumerate([1, 1, 2, 2, 0]):
            for k in range(n):
                w.session(patient="P1", clinic="OKC", start=f"{day(7 * week)} {9 + 2 * k:02d}:00")
            if week < 4:
                w.session(patient="P1", clinic="OKC", start=f"{day(7 * week + 2)} 09:00")
        for week in range(3):
            w.session(patient="P2", clinic="NYC", start=f"{day(7 * week + 1)} 09:00")
        w.build()
        got = w.rows("SELECT * FROM metrics.plan_daily_spread(as_of := ?::DATE, lookback_days := 60)", [day(35)])
    finally:
        w.con.close()
    assert [r["group_value"] for r in got] == ["OKC"]
    assert got[0]["days"] == 8
    assert got[0]["spread"] == pytest.approx((4 * (1 / 3) ** 2 / 8) ** 0.5)


# -- the cut --------------------------------------------------------------------------------------

PLAN_MACROS = [
    "metrics.plan_weekly_new_courses(as_of := ?::DATE)",
    "metrics.plan_course_states(as_of := ?::DATE)",
    "metrics.plan_induction_protocol(as_of := ?::DATE, settle_days := 7)",
    "metrics.plan_induction_continuation(as_of := ?::DATE, settle_days := 7)",
    "metrics.plan_booster_rates(as_of := ?::DATE)",
    "metrics.plan_chair_minutes(as_of := ?::DATE)",
    "metrics.plan_attendance(as_of := ?::DATE)",
    "metrics.plan_modality_mix(as_of := ?::DATE)",
    "metrics.plan_session_weekdays(as_of := ?::DATE)",
    "metrics.plan_daily_spread(as_of := ?::DATE)",
    # every day of the random clinics' span taken as a holiday: the strictest cut
    "metrics.plan_holiday_days(days := [" + ", ".join(f"DATE '{day(i)}'" for i in range(0, 150)) + "], as_of := ?::DATE)",
]


def _random_clinic(w: Warehouse, seed: int, before: str | None) -> None:
    """Two clinics and a dozen patients with courses, boosters, no-shows and cancellations over 20
    weeks; with `before`, only what happened before that day (what a warehouse cut there would hold)."""
    rng = random.Random(seed)
    w.clinic("OKC").clinic("NYC", tz="America/New_York", days="Mon,Wed,Fri,Sat")
    for p in range(12):
        clinic = "OKC" if p % 3 else "NYC"
        w.patient(f"P{p}", clinic=clinic)
        first = day(rng.randrange(0, 60))
        offsets, at = [0], 0
        for _ in range(rng.randrange(0, 9)):
            at += rng.choice([2, 3, 4, 5, 30, 45])
            offsets.append(at)
        modality = rng.choice(["iv_ketamine", "iv_ketamine", "im_ketamine", "esketamine_nasal"])
        for k, o in enumerate(offsets):
            when = day(o, first)
            status = rng.choice(["completed"] * 8 + ["stopped_early", "no_show", "cancelled"])
            hour = rng.choice(["09:00", "13:30"])
            if before is None or when < before:
                w.session(session_id=f"S{p}-{k}", patient=f"P{p}", clinic=clinic, start=f"{when} {hour}",
                          modality=modality, status=status, dose=56.0 if modality == "esketamine_nasal" else 35.0)


@pytest.mark.parametrize("seed", range(4))
def test_nothing_on_or_after_as_of_changes_any_planning_input(seed):
    as_of = day(70)
    full, cut = Warehouse(), Warehouse()
    try:
        _random_clinic(full, seed, before=None)
        _random_clinic(cut, seed, before=as_of)
        full.build()
        cut.build()
        for macro in PLAN_MACROS:
            sql = f"SELECT * FROM {macro}"
            assert sorted(map(repr, full.rows(sql, [as_of]))) == sorted(map(repr, cut.rows(sql, [as_of]))), macro
    finally:
        full.con.close()
        cut.con.close()

"""Public holidays in the plan (pipelines/plan/holidays.py): the rules' dates, the names a scenario takes,
the holidays a clinic's sessions show it closed on (metrics.plan_holiday_days), a closed holiday in the
projection and the schedule, and what a plan says about them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import UsageError
from pipelines.plan.demand import NewCourseForecast
from pipelines.plan.engine import plan_clinic, plan_from_inputs
from pipelines.plan.holidays import HOLIDAY_NAMES, closed_days, holiday_named, holidays_between, us_federal_holidays
from pipelines.plan.inputs import read_inputs
from pipelines.plan.projection import Protocol, project
from pipelines.plan.protocol import weekday_pattern
from pipelines.plan.report import holidays_text
from pipelines.plan.scenario import Scenario, parse_holidays
from pipelines.warehouse import connect_read_only

from plan_fixtures import inputs


def test_the_federal_holidays_of_2026_fall_on_their_observed_days():
    days = dict((name, day) for day, name in us_federal_holidays(2026))
    assert days == {
        "New Year's Day": dt.date(2026, 1, 1), "Martin Luther King Jr. Day": dt.date(2026, 1, 19),
        "Presidents' Day": dt.date(2026, 2, 16), "Memorial Day": dt.date(2026, 5, 25),
        "Juneteenth": dt.date(2026, 6, 19), "Independence Day": dt.date(2026, 7, 3),  # 4 July is a Saturday
        "Labor Day": dt.date(2026, 9, 7), "Columbus Day": dt.date(2026, 10, 12), "Veterans Day": dt.date(2026, 11, 11),
        "Thanksgiving": dt.date(2026, 11, 26), "Christmas Day": dt.date(2026, 12, 25),
    }
    assert set(days) == set(HOLIDAY_NAMES)
    # a Saturday New Year's Day is kept on the Friday before, in the year before
    assert (dt.date(2021, 12, 31), "New Year's Day") in holidays_between(dt.date(2021, 12, 27), dt.date(2022, 1, 2))
    assert dict((n, d) for d, n in us_federal_holidays(2027))["Christmas Day"] == dt.date(2027, 12, 24)
    assert closed_days(dt.date(2026, 11, 1), 60, ("Thanksgiving", "Labor Day")) == {dt.date(2026, 11, 26)}
    assert closed_days(dt.date(2026, 11, 1), 60, ()) == set()


@pytest.mark.parametrize("text, expected", [
    ("Thanksgiving", ("Thanksgiving",)),
    ("christmas day, THANKSGIVING", ("Thanksgiving", "Christmas Day")),  # in the calendar's order
    ("Presidents Day,new years day", ("New Year's Day", "Presidents' Day")),
    ("Martin Luther King Jr Day", ("Martin Luther King Jr. Day",)),
    ("none", ()),
    (" None ", ()),
])
def test_a_scenario_reads_holiday_names_in_any_case(text, expected):
    assert parse_holidays(text) == expected
    assert Scenario(closed_on=text).closed_on == expected
    assert Scenario(closed_on=list(expected)).closed_on == expected
    saved = Scenario(name="x", closed_on=text)
    assert Scenario.from_json(saved.to_json()) == saved


@pytest.mark.parametrize("value", ["Boxing Day", "Thanksgiving,Xmas", "", ",", 7, ["Labor Day", 3]])
def test_an_unknown_holiday_is_refused_in_one_line(value):
    with pytest.raises(UsageError) as refused:
        Scenario(closed_on=value)
    assert "\n" not in str(refused.value)
    assert holiday_named("Boxing Day") is None


def _protocol(closed_on=()) -> Protocol:
    clinic = inputs()
    return Protocol(open_pattern=weekday_pattern(clinic.capacity.open_days), modality_mix=clinic.modality_mix,
                    chair_minutes=clinic.chair_minutes, no_show_rate=0.05, cancellation_rate=0.03,
                    closed_on=closed_on)


def test_a_closed_holiday_books_nothing_that_day_and_moves_its_sessions_into_the_week():
    """Memorial Day 2026 (Mon 25 May) closed at a Monday-to-Friday clinic: no chair time asked for that day.
    First infusions and boosters go to the week's other days (the week asks for as many); induction sessions
    follow calendars that step around the closed day, some into the week before or after; the span asks for
    as many sessions of each kind."""
    clinic = inputs(as_of=dt.date(2026, 5, 4))
    first = clinic.as_of - dt.timedelta(days=clinic.as_of.weekday())
    flat = NewCourseForecast.flat(tuple(first + dt.timedelta(weeks=i) for i in range(16)), 25.0)
    days = 70
    open_ = project(clinic, flat, "mean", clinic.as_of, days, _protocol()).requests
    closed = project(clinic, flat, "mean", clinic.as_of, days, _protocol(("Memorial Day",))).requests
    holiday = (dt.date(2026, 5, 25) - clinic.as_of).days
    assert open_.units[:, holiday].sum() > 0 and closed.units[:, holiday].sum() == 0
    week = slice(holiday, holiday + 7)
    booster_and_first = slice(1, 3)
    assert closed.sessions[booster_and_first, week].sum() == pytest.approx(
        open_.sessions[booster_and_first, week].sum(), rel=0.01)
    assert np.all(closed.sessions[:, holiday + 1:holiday + 5].sum(axis=0) > open_.sessions[:, holiday + 1:holiday + 5].sum(axis=0))
    assert closed.sessions.sum(axis=1) == pytest.approx(open_.sessions.sum(axis=1), rel=0.005)
    # weeks without a holiday are the same
    assert np.allclose(closed.units[:, :holiday - 7], open_.units[:, :holiday - 7])


def test_a_plan_with_a_closed_holiday_has_a_days_less_capacity_that_week_and_keeps_the_rules():
    clinic = inputs(as_of=dt.date(2026, 8, 31))  # weeks from Mon 31 Aug: Labor Day is Mon 7 Sep
    ordinary = plan_from_inputs(clinic, Scenario(closed_on=()))
    closed = plan_from_inputs(clinic, Scenario(closed_on=("Labor Day",)))
    day_hours = clinic.capacity.chairs * 10  # 6 chairs, 08:00-18:00
    by_week = {w["week_start"]: w for w in closed.weeks}
    ordinary_by_week = {w["week_start"]: w for w in ordinary.weeks}
    labor_week = dt.date(2026, 9, 7)
    assert by_week[labor_week]["available_chair_hours"] == ordinary_by_week[labor_week]["available_chair_hours"] - day_hours
    assert by_week[labor_week]["booked_utilization"] > ordinary_by_week[labor_week]["booked_utilization"]
    later = dt.date(2026, 9, 28)
    assert by_week[later]["available_chair_hours"] == ordinary_by_week[later]["available_chair_hours"]
    assert closed.summary["induction_rules_met"]
    assert closed.resolved.closed_on == ("Labor Day",) and not closed.resolved.closed_on_observed
    assert closed.resolved.to_json()["closed_on"] == ["Labor Day"]


def test_a_plan_says_which_holidays_it_closes_and_which_it_books_as_ordinary_days():
    """A 13-week plan from 7 Sep 2026 has Labor Day, Columbus Day, Veterans Day and Thanksgiving on a
    Monday-to-Friday clinic's open days."""
    seen = {name: {"day": "2025-01-01", "closed": name == "Thanksgiving"} for name in HOLIDAY_NAMES}
    plan = SimpleNamespace(
        start=dt.date(2026, 9, 7), horizon_weeks=13, observed={"holidays_seen": seen},
        resolved=SimpleNamespace(open_days=("Mon", "Tue", "Wed", "Thu", "Fri"), closed_on=("Thanksgiving",),
                                 closed_on_observed=True))
    assert holidays_text(plan) == (
        "Closed on Thanksgiving (Thu 26 Nov 2026): no chair time, the week's sessions booked on its other open "
        "days (the clinic closed on it the last time it fell on an open day). "
        "Planned as ordinary open days: Labor Day (Mon 7 Sep 2026); Columbus Day (Mon 12 Oct 2026); "
        "Veterans Day (Wed 11 Nov 2026) (the clinic had sessions on each the last time it fell on an open day)")
    plan.resolved.closed_on_observed = False
    assert "(as the scenario says)" in holidays_text(plan)
    plan.resolved = SimpleNamespace(open_days=("Tue", "Wed", "Thu", "Fri", "Sat"), closed_on=(),
                                    closed_on_observed=True)
    plan.observed = {"holidays_seen": {}}  # no past day to tell from
    text = holidays_text(plan)
    assert "Labor Day" not in text and text.startswith("Planned as ordinary open days: Veterans Day")
    assert "a clinic closed on a public holiday has less capacity that week than the plan shows" in text
    plan.start, plan.horizon_weeks = dt.date(2026, 7, 27), 4  # 27 Jul - 23 Aug: none
    assert holidays_text(plan) is None


# -- read from a warehouse ------------------------------------------------------------------------------

THANKSGIVING_2024, CHRISTMAS_2024 = dt.date(2024, 11, 28), dt.date(2024, 12, 25)
VETERANS_DAY_2024 = dt.date(2024, 11, 11)


@pytest.fixture(scope="module")
def holiday_db(tmp_path_factory):
    """A generated batch (2 clinics, 13 months from Oct 2024) in which the first clinic booked nothing on
    Thanksgiving and Christmas 2024, and the second nothing on Veterans Day 2024 nor on the Monday before it
    (a quiet fortnight, not a closure)."""
    from pipelines.generate import generate_batch
    from pipelines.load.loader import load_batch
    from pipelines.load.pseudonymize import Pseudonymizer

    batch = tmp_path_factory.mktemp("holiday-batch")
    generate_batch(batch, clinics=2, months=13, start=dt.date(2024, 10, 1), seed=11, defects=False, fmt="csv",
                   holidays=False)  # the closures are made here, by hand
    for path in batch.iterdir():
        if not path.name.startswith(("clinics", "patients", "sessions")):
            path.unlink()
    clinics = pd.read_csv(batch / "clinics.csv", dtype=str).sort_values("valid_from")
    first, second = clinics["clinic_id"].unique()[:2]
    sessions = pd.read_csv(batch / "sessions.csv", dtype=str, keep_default_na=False)
    # the local day, whichever way the extract writes it (ISO or US: the generator writes both)
    us_day = sessions["scheduled_start"].str.extract(r"^(\d{1,2}/\d{1,2}/\d{4})")[0]
    day = pd.to_datetime(us_day, format="%m/%d/%Y").dt.date.astype(str).where(us_day.notna(),
                                                                              sessions["scheduled_start"].str[:10])
    drop = ((sessions["clinic_id"] == first) & day.isin([str(THANKSGIVING_2024), str(CHRISTMAS_2024)])) | (
        (sessions["clinic_id"] == second) & day.isin([str(VETERANS_DAY_2024), str(VETERANS_DAY_2024 - dt.timedelta(days=7))]))
    assert drop.sum() > 0
    sessions[~drop].to_csv(batch / "sessions.csv", index=False)
    pointer = tmp_path_factory.mktemp("holiday-wh") / "clinic_analytics.duckdb"
    report = load_batch(batch, db=pointer, pseudonymizer=Pseudonymizer(b"k" * 32), now=dt.datetime(2025, 11, 15, 12))
    assert report.exit_code == 0, report.to_text()
    shutil.rmtree(batch)
    return SimpleNamespace(db=pointer, first=first, second=second,
                           open_days={r.clinic_id: r.open_days for r in clinics.itertuples()})  # the latest row


def test_the_holidays_a_clinic_closed_on_are_read_from_its_sessions(holiday_db):
    con, _ = connect_read_only(holiday_db.db)
    try:
        seen = read_inputs(con, [holiday_db.first, holiday_db.second], dt.date(2025, 10, 1))
    finally:
        con.close()
    first, second = seen[holiday_db.first], seen[holiday_db.second]
    assert {"Wed", "Thu"} <= set(holiday_db.open_days[holiday_db.first].split(","))  # the seed's clinics
    assert first.holidays_seen["Thanksgiving"] == (THANKSGIVING_2024, True)
    assert first.holidays_seen["Christmas Day"] == (CHRISTMAS_2024, True)
    assert first.holidays_closed() == ("Thanksgiving", "Christmas Day")
    assert not any(closed for name, (_, closed) in first.holidays_seen.items()
                   if name not in ("Thanksgiving", "Christmas Day"))
    # the second clinic kept every holiday open; its empty Veterans Day came after an empty Monday: not a closure
    assert second.holidays_closed() == ()
    assert "Mon" in holiday_db.open_days[holiday_db.second].split(",")
    assert second.holidays_seen["Veterans Day"] == (VETERANS_DAY_2024, False)
    assert all(day < dt.date(2025, 10, 1) - dt.timedelta(days=7) for day, _ in second.holidays_seen.values())


def test_a_plan_closes_what_the_clinic_closed_last_year_unless_the_scenario_says_otherwise(holiday_db):
    """Data to 31 Oct 2025: the plan's weeks from 3 Nov hold Thanksgiving (Thu 27 Nov) and Christmas (Thu 25 Dec)."""
    observed = plan_clinic(holiday_db.first, Scenario(clinic_id=holiday_db.first), db=holiday_db.db)
    assert observed.resolved.closed_on == ("Thanksgiving", "Christmas Day") and observed.resolved.closed_on_observed
    thanksgiving = dt.date(2025, 11, 27)
    assert "Thu" in observed.resolved.open_days
    ordinary = plan_clinic(holiday_db.first, Scenario(clinic_id=holiday_db.first, closed_on="none"), db=holiday_db.db)
    week = thanksgiving - dt.timedelta(days=3)
    hours = {w["week_start"]: w["available_chair_hours"] for w in observed.weeks}
    open_hours = {w["week_start"]: w["available_chair_hours"] for w in ordinary.weeks}
    assert hours[week] < open_hours[week]
    assert holidays_text(observed).startswith("Closed on Thanksgiving (Thu 27 Nov 2025)")
    assert "(the clinic closed on " in holidays_text(observed)
    assert "Thanksgiving (Thu 27 Nov 2025)" in holidays_text(ordinary) and "(as the scenario says)" in holidays_text(ordinary)
    other = plan_clinic(holiday_db.second, Scenario(clinic_id=holiday_db.second), db=holiday_db.db)
    assert other.resolved.closed_on == ()


# -- weeks around a closed holiday ------------------------------------------------------------------

MON_FRI = ("Mon", "Tue", "Wed", "Thu", "Fri")


def test_a_closed_holiday_shortens_its_week_and_the_one_across_the_weekend():
    """At a Monday-to-Friday clinic: Independence Day (observed Fri 3 Jul 2026) shortens its week and the week
    after (its sessions move to the Monday); Labor Day (Mon 7 Sep) its week and the week before; Thanksgiving
    (Thu 26 Nov) its own week only. Tuesday to Saturday, Friday is no edge and Labor Day no open day. A
    holiday not kept, or closed before the plan starts, shortens nothing."""
    from pipelines.plan.holidays import weeks_around_closures

    start = dt.date(2026, 6, 29)  # a Monday
    names = ("Independence Day", "Labor Day", "Thanksgiving")

    def shortened(open_days, since=start, kept=names):
        weeks = weeks_around_closures(start, 26, kept, open_days, since=since)
        return {start + dt.timedelta(weeks=w): held for w, held in enumerate(weeks) if held}

    assert shortened(MON_FRI) == {
        dt.date(2026, 6, 29): ("Independence Day",), dt.date(2026, 7, 6): ("Independence Day",),
        dt.date(2026, 8, 31): ("Labor Day",), dt.date(2026, 9, 7): ("Labor Day",),
        dt.date(2026, 11, 23): ("Thanksgiving",)}
    assert shortened(("Tue", "Wed", "Thu", "Fri", "Sat")) == {
        dt.date(2026, 6, 29): ("Independence Day",), dt.date(2026, 11, 23): ("Thanksgiving",)}
    assert shortened(MON_FRI, kept=()) == {}
    assert shortened(MON_FRI, kept=("Veterans Day",)) == {dt.date(2026, 11, 9): ("Veterans Day",)}  # a Wednesday
    assert shortened(MON_FRI, since=dt.date(2026, 7, 6), kept=("Independence Day",)) == {}


def test_the_target_reads_the_weeks_no_closed_holiday_shortens(holiday_db):
    """Data to 31 Oct 2025, the first clinic closed on Thanksgiving and Christmas (both Thursdays): those weeks are
    reported with their booked utilization but not held to the target; the peak, the verdict and the fewest
    chairs read the other weeks, and the text names the short weeks."""
    from pipelines.plan.report import holiday_weeks_text

    p = plan_clinic(holiday_db.first, Scenario(clinic_id=holiday_db.first), db=holiday_db.db)
    short = {w["week_start"]: w for w in p.weeks if not w["held_to_target"]}
    assert set(short) == {dt.date(2025, 11, 24), dt.date(2025, 12, 22)}
    assert short[dt.date(2025, 11, 24)]["around_holidays"] == ["Thanksgiving"]
    assert [w["week_start"] for w in p.summary["weeks_around_holidays"]] == sorted(short)
    held = [w["booked_utilization"] for w in p.weeks if w["held_to_target"]]
    assert p.summary["peak_week_booked_utilization"] == max(held)
    # a short week runs hotter than the weeks around it: a day's less chair time for the same sessions
    before = {w["week_start"]: w["booked_utilization"] for w in p.weeks}
    assert short[dt.date(2025, 11, 24)]["booked_utilization"] > before[dt.date(2025, 11, 17)]
    # the fewest chairs are the fewest that keep every held week within the target and the rules
    curve = {r["chairs"]: r for r in p.chairs_curve}
    chairs = p.summary["recommended_chairs"]
    assert curve[chairs]["meets_target"] and (chairs - 1 not in curve or not curve[chairs - 1]["meets_target"])
    text = holiday_weeks_text(p.summary)
    assert text.startswith("Weeks around a closed holiday are not held to the target")
    assert "week of 24 Nov 2025, " in text and "booked (Thanksgiving)" in text and "(Christmas Day)" in text
    assert holiday_weeks_text({"weeks_around_holidays": []}) is None


def test_when_every_week_is_short_every_week_is_held():
    """A plan of two weeks that a closure shortens both: nothing would be left to hold to the target, so both are."""
    from pipelines.plan.engine import _Report

    start = dt.date(2025, 12, 22)
    assert _Report(start, 0, 2, around=(("Christmas Day",), ("New Year's Day",))).held == (True, True)
    assert _Report(start, 0, 2, around=((), ("New Year's Day",))).held == (True, False)
    assert _Report(start, 0, 2).held == (True, True)


# -- the forecast's history -------------------------------------------------------------------------


def test_the_forecast_counts_a_week_a_closed_holiday_shortened_as_a_full_week(holiday_db):
    """As of 6 Jan 2025, the first clinic's Thanksgiving and Christmas 2024 closures took a day from their weeks:
    the forecast reads those weeks' new courses times open days / days left open (a closed day takes no first
    infusions, so the dip is not falling demand), the charts the counts as observed. Christmas is read as
    closed though its week after is not in the data yet (open-ended); the second clinic closed on nothing."""
    from pipelines.plan.inputs import read_network

    as_of = dt.date(2025, 1, 6)
    con, _ = connect_read_only(holiday_db.db)
    try:
        network = read_network(con, as_of)
        seen = read_inputs(con, [holiday_db.first, holiday_db.second], as_of, network=network)
    finally:
        con.close()
    shortened = {dt.date(2024, 11, 25), dt.date(2024, 12, 23)}
    assert network.closed_weeks == {holiday_db.first: {week: 1 for week in shortened}}
    days = network.open_weekdays[holiday_db.first]
    assert days == len(holiday_db.open_days[holiday_db.first].split(","))
    first = seen[holiday_db.first]
    own, net = first.forecast_history()
    weeks = list(first.history_weeks)
    assert shortened <= set(weeks)
    for i, week in enumerate(weeks):
        factor = days / (days - 1) if week in shortened else 1.0
        assert own[i] == pytest.approx(first.new_courses[i] * factor), week
    assert net.sum() - first.network_new_courses.sum() == pytest.approx(own.sum() - first.new_courses.sum())
    second = seen[holiday_db.second]
    assert np.array_equal(second.forecast_history()[0], second.new_courses)


def test_a_holiday_just_before_the_plan_is_read_open_ended_and_nothing_after_as_of_is_read(holiday_db):
    """Christmas 2024 with as_of 29 Dec 2024: its week after (8 Jan, past New Year's Day) is not in the data yet.
    The planning inputs skip it; open-ended, it is closed (nothing booked, the week before was) and the week
    after reads NULL, whatever the warehouse holds after as_of."""
    con, _ = connect_read_only(holiday_db.db)
    try:
        args = [[dt.date(2024, 12, 25), dt.date(2025, 1, 1)], dt.date(2024, 12, 29), [holiday_db.first]]
        plain = con.execute("SELECT day FROM metrics.plan_holiday_days(days := ?::DATE[], as_of := ?::DATE, "
                            "clinics := ?::VARCHAR[])", args).fetchall()
        ended = con.execute("SELECT day, booked_sessions, booked_week_before, booked_week_after, closed "
                            "FROM metrics.plan_holiday_days(days := ?::DATE[], as_of := ?::DATE, "
                            "clinics := ?::VARCHAR[], open_ended := true)", args).fetchall()
    finally:
        con.close()
    assert plain == []
    assert len(ended) == 1 and ended[0][0] == dt.date(2024, 12, 25)
    _, booked, before, after, closed = ended[0]
    assert booked == 0 and before > 0 and after is None and closed


def test_the_sessions_interval_reads_the_scatter_of_ordinary_weeks():
    """The 13 weeks before as_of with Thanksgiving closed in one: that week (a day short) and the week after (the
    closed day's sessions) are left out of the week-to-week scatter the sessions interval reads."""
    base = inputs()
    as_of = base.as_of
    first = as_of - dt.timedelta(days=as_of.weekday(), weeks=13)
    recent = np.arange(100.0, 113.0)
    closed = {first + dt.timedelta(weeks=5): 1}
    seen = dataclasses.replace(base, recent_sessions=recent, closed_weeks=closed)
    assert list(seen.ordinary_recent_sessions()) == [v for i, v in enumerate(recent) if i not in (5, 6)]
    assert list(dataclasses.replace(base, recent_sessions=recent).ordinary_recent_sessions()) == list(recent)

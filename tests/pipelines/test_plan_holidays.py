"""Public holidays in the planned weeks (pipelines/plan/holidays.py): the rules' dates and what a plan says."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from pipelines.plan.holidays import holidays_between, us_federal_holidays
from pipelines.plan.report import holidays_text


def test_the_federal_holidays_of_2026_fall_on_their_observed_days():
    days = dict((name, day) for day, name in us_federal_holidays(2026))
    assert days == {
        "New Year's Day": dt.date(2026, 1, 1), "Martin Luther King Jr. Day": dt.date(2026, 1, 19),
        "Presidents' Day": dt.date(2026, 2, 16), "Memorial Day": dt.date(2026, 5, 25),
        "Juneteenth": dt.date(2026, 6, 19), "Independence Day": dt.date(2026, 7, 3),  # 4 July is a Saturday
        "Labor Day": dt.date(2026, 9, 7), "Columbus Day": dt.date(2026, 10, 12), "Veterans Day": dt.date(2026, 11, 11),
        "Thanksgiving": dt.date(2026, 11, 26), "Christmas Day": dt.date(2026, 12, 25),
    }
    # a Saturday New Year's Day is kept on the Friday before, in the year before
    assert (dt.date(2021, 12, 31), "New Year's Day") in holidays_between(dt.date(2021, 12, 27), dt.date(2022, 1, 2))
    assert dict((n, d) for d, n in us_federal_holidays(2027))["Christmas Day"] == dt.date(2027, 12, 24)


def test_a_plan_names_the_holidays_on_its_open_days():
    """A 13-week plan from 7 Sep 2026 books Labor Day, Columbus Day, Veterans Day and Thanksgiving as ordinary
    days; the plan says so. A clinic closed on Mondays has only the other two in its weeks."""
    plan = SimpleNamespace(start=dt.date(2026, 9, 7), horizon_weeks=13,
                           resolved=SimpleNamespace(open_days=("Mon", "Tue", "Wed", "Thu", "Fri")))
    assert holidays_text(plan).startswith(
        "Planned as ordinary open days: Labor Day (Mon 7 Sep 2026); Columbus Day (Mon 12 Oct 2026); "
        "Veterans Day (Wed 11 Nov 2026); Thanksgiving (Thu 26 Nov 2026). A clinic closed on a public holiday")
    plan.resolved.open_days = ("Tue", "Wed", "Thu", "Fri", "Sat")
    assert "Labor Day" not in holidays_text(plan) and "Thanksgiving" in holidays_text(plan)
    plan.start, plan.horizon_weeks = dt.date(2026, 7, 27), 4  # 27 Jul - 23 Aug: none
    assert holidays_text(plan) is None

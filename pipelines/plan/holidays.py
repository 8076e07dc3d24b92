"""US federal public holidays (by their rules, no download), to say which planned weeks hold one.

The plan books every open weekday of the scenario as an ordinary day: a clinic that closes on Thanksgiving
or Christmas has less capacity that week than the plan shows, and fewer patients come. The planner does not
know which holidays a clinic keeps (the clinics extract has no calendar), so it names them instead of
guessing: the Planning page and the plan text list the holidays inside the weeks reported.
Dates are the observed ones (a Saturday holiday is kept on the Friday before, a Sunday one on the Monday after).
"""

from __future__ import annotations

import datetime as dt


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday (Monday 0) of a month; n = -1 for the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def us_federal_holidays(year: int) -> list[tuple[dt.date, str]]:
    """The year's eleven federal holidays, observed dates, in date order."""
    fixed = [(dt.date(year, 1, 1), "New Year's Day"), (dt.date(year, 6, 19), "Juneteenth"),
             (dt.date(year, 7, 4), "Independence Day"), (dt.date(year, 11, 11), "Veterans Day"),
             (dt.date(year, 12, 25), "Christmas Day")]
    by_rule = [(_nth_weekday(year, 1, 0, 3), "Martin Luther King Jr. Day"),
               (_nth_weekday(year, 2, 0, 3), "Presidents' Day"),
               (_nth_weekday(year, 5, 0, -1), "Memorial Day"),
               (_nth_weekday(year, 9, 0, 1), "Labor Day"),
               (_nth_weekday(year, 10, 0, 2), "Columbus Day"),
               (_nth_weekday(year, 11, 3, 4), "Thanksgiving")]
    return sorted([(_observed(day), name) for day, name in fixed] + by_rule)


def holidays_between(start: dt.date, end: dt.date) -> list[tuple[dt.date, str]]:
    """The federal holidays from start to end, both included."""
    days = [h for year in range(start.year - 1, end.year + 2) for h in us_federal_holidays(year)]
    return [(day, name) for day, name in days if start <= day <= end]

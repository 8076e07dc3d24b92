"""US federal public holidays (by their rules, no download): which planned days a clinic closes.

The clinics extract holds no calendar, so which holidays a clinic keeps is read from its sessions: a holiday
on one of its open weekdays with no session booked, while the same weekday a week before and a week after
had sessions, was a day it closed (metrics.plan_holiday_days; pipelines.plan.inputs). A scenario can say
otherwise (Scenario.closed_on). A closed holiday has no chair time in the plan, and its sessions are booked
on the week's other open days. Dates are the observed ones (a Saturday holiday is kept on the Friday before,
a Sunday one on the Monday after).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.plan.protocol import WEEKDAYS


# In the calendar's order; the names Scenario.closed_on accepts (any case, with or without the apostrophe).
HOLIDAY_NAMES = (
    "New Year's Day", "Martin Luther King Jr. Day", "Presidents' Day", "Memorial Day", "Juneteenth",
    "Independence Day", "Labor Day", "Columbus Day", "Veterans Day", "Thanksgiving", "Christmas Day",
)


def _folded(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


_BY_FOLDED = {_folded(name): name for name in HOLIDAY_NAMES}


def holiday_named(text: str) -> str | None:
    """The holiday's name as HOLIDAY_NAMES writes it ("christmas day", "Presidents Day"), or None."""
    return _BY_FOLDED.get(_folded(text)) if isinstance(text, str) else None


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


def closed_days(start: dt.date, days: int, names) -> set[dt.date]:
    """The dates from `start` (for `days` days) of the holidays named in `names`."""
    wanted = set(names)
    if not wanted:
        return set()
    end = start + dt.timedelta(days=days - 1)
    return {day for day, name in holidays_between(start, end) if name in wanted}


def closed_mask(start: dt.date, days: int, names) -> np.ndarray:
    """True on each of the `days` days from `start` that is one of the holidays named in `names`."""
    mask = np.zeros(days, dtype=bool)
    for day in closed_days(start, days, names):
        mask[(day - start).days] = True
    return mask


def weeks_around_closures(start: dt.date, weeks: int, names, open_days, since: dt.date) -> list[tuple[str, ...]]:
    """For each of `weeks` weeks from `start` (a Monday): the holidays named in `names` that close one of the
    clinic's `open_days` (weekday abbreviations) from `since` on (a closure before the plan starts is in the
    data already) and shorten that week. A closure shortens its own week and, when it is the week's first
    open day, the week before (its sessions move back across the weekend: Labor Day to the Saturday or the
    Friday before), or when it is the week's last open day, the week after (Friday 3 July to the Monday)."""
    open_index = [i for i, day in enumerate(WEEKDAYS) if day in open_days]
    if not open_index:
        return [()] * weeks
    end = start + dt.timedelta(weeks=weeks, days=6)  # a closure the week after the last can reach back into it
    wanted = set(names)
    touched: dict[dt.date, list[str]] = {}  # Monday of a week -> the holidays that shorten it
    for day, name in holidays_between(max(since, start - dt.timedelta(days=7)), end):
        if name not in wanted or day.weekday() not in open_index:
            continue
        monday = day - dt.timedelta(days=day.weekday())
        hit = [monday]
        if day.weekday() == open_index[0]:
            hit.append(monday - dt.timedelta(days=7))
        if day.weekday() == open_index[-1]:
            hit.append(monday + dt.timedelta(days=7))
        for week in hit:
            touched.setdefault(week, [])
            if name not in touched[week]:
                touched[week].append(name)
    return [tuple(touched.get(start + dt.timedelta(weeks=w), ())) for w in range(weeks)]

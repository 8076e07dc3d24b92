"""Board-pack periods: a quarter ("2025Q3"), a month ("2025-07") or any range of days (pure)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dashboard import format as fmt


class PeriodError(ValueError):
    """A period that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    label: str  # "Q3 2025", "July 2025", "1 Jul – 15 Aug 2025"
    slug: str  # for file names: "2025Q3", "2025-07", "2025-07-01_2025-08-15"


# The longest custom period: ten years covers any board's look back, and a pack of it still draws in
# seconds. A far longer one (0001-01-01 to 9999-12-31) asks for a chart of every week of millennia,
# which no browser draws in time.
MAX_YEARS = 10
MAX_DAYS = 3653  # ten years of days, with leap days

_QUARTER = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$|^[Qq]([1-4])\s*-?\s*(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def quarter(year: int, q: int) -> Period:
    start = dt.date(year, 3 * (q - 1) + 1, 1)
    end = (dt.date(year + (q == 4), (3 * q) % 12 + 1, 1)) - dt.timedelta(days=1)
    return Period(start, end, f"Q{q} {year}", f"{year}Q{q}")


def month(year: int, m: int) -> Period:
    start = dt.date(year, m, 1)
    end = dt.date(year + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
    return Period(start, end, f"{start:%B %Y}", f"{year}-{m:02d}")


def custom(start: dt.date, end: dt.date) -> Period:
    if start > end:
        raise PeriodError(f"the period starts ({start}) after it ends ({end})")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise PeriodError(f"the period {start} to {end} is {days:,} days long; a board pack covers at most "
                          f"{MAX_YEARS} years ({MAX_DAYS:,} days)")
    return Period(start, end, fmt.period(start, end), f"{start.isoformat()}_{end.isoformat()}")


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise PeriodError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def parse(text: str) -> Period:
    """"2025Q3", "2025-Q3", "Q3 2025" -> the quarter; "2025-07" -> the month."""
    raw = str(text).strip()
    m = _QUARTER.match(raw)
    if m:
        year, q = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        return quarter(_year(year), int(q))
    m = _MONTH.match(raw)
    if m:
        if not 1 <= int(m.group(2)) <= 12:
            raise PeriodError(f"{raw!r}: month {m.group(2)} does not exist")
        return month(_year(m.group(1)), int(m.group(2)))
    raise PeriodError(f"{raw!r} is not a period: use a quarter (2025Q3) or a month (2025-07), "
                      "or --start/--end for any range of days")


def _year(text: str) -> int:
    year = int(text)
    if not 1900 <= year <= 2999:
        raise PeriodError(f"year {year} is out of range")
    return year


def quarters_between(first: dt.date, last: dt.date) -> list[Period]:
    """Every quarter overlapping first..last, newest first."""
    out, y, q = [], last.year, (last.month - 1) // 3 + 1
    while True:
        p = quarter(y, q)
        if p.end < first:
            return out
        out.append(p)
        y, q = (y, q - 1) if q > 1 else (y - 1, 4)


def months_between(first: dt.date, last: dt.date) -> list[Period]:
    out, y, m = [], last.year, last.month
    while True:
        p = month(y, m)
        if p.end < first:
            return out
        out.append(p)
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)

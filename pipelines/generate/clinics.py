"""Clinic rows (with capacity history) and the per-day calendar the booking simulation uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from pipelines.generate import params as P
from pipelines.plan.holidays import holidays_between

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_EXTRA_SITE = ["North", "South", "East", "West", "Midtown", "Uptown", "Lakeside", "Riverside"]


@dataclass(frozen=True)
class ClinicRow:
    clinic_id: str
    clinic_name: str
    timezone: str
    chairs: int
    opens_at: str
    closes_at: str
    open_days: tuple[str, ...]
    valid_from: date


@dataclass
class Calendar:
    """Per clinic (axis 0) and day of the period (axis 1)."""

    start: date
    days: int
    clinic_ids: list[str]
    timezones: list[str]
    is_open: np.ndarray  # bool
    chairs: np.ndarray  # int16
    opens_min: np.ndarray  # int16, minutes after midnight
    window_units: np.ndarray  # int16, (closes - opens) in 15-minute units; 0 when closed

    @property
    def n_clinics(self) -> int:
        return len(self.clinic_ids)

    def weekday(self, day: np.ndarray | int):
        return (self.start.weekday() + np.asarray(day)) % 7


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def make_clinics(n: int, start: date, days: int, rng: np.random.Generator) -> tuple[list[ClinicRow], Calendar]:
    rows: list[ClinicRow] = []
    ids, zones = [], []
    for i in range(n):
        code, city, zone = P.CITIES[i % len(P.CITIES)]
        if i >= len(P.CITIES):
            extra = _EXTRA_SITE[(i // len(P.CITIES) - 1) % len(_EXTRA_SITE)]
            code, city = f"{code}{i // len(P.CITIES) + 1}", f"{city} {extra}"
        suffix = P.CLINIC_SUFFIXES[int(rng.integers(len(P.CLINIC_SUFFIXES)))]
        # A few names carry a comma, so the CSV writer has to quote them.
        name = f"{suffix}, {city}" if i % 4 == 1 else f"{city} {suffix}"
        opens, closes = P.HOURS[i] if i < len(P.HOURS) else P.HOURS[int(rng.integers(len(P.HOURS)))]
        open_days = P.DAYS[i] if i < 3 else P.DAYS[int(rng.choice(len(P.DAYS), p=P.DAYS_WEIGHTS))]
        chairs = [6, 8, 4][i] if i < 3 else int(rng.choice(P.CHAIRS, p=P.CHAIRS_WEIGHTS))

        opened = start - timedelta(days=int(rng.integers(400, 6 * 365)))
        history = [(opened, max(3, chairs - int(rng.integers(1, 3))), opens, closes)]
        if i < 4 or rng.random() < 0.5:  # an earlier change, before the period
            changed = opened + timedelta(days=int(rng.integers(120, max(121, (start - opened).days - 30))))
            history.append((changed, chairs, opens, closes))
        else:
            history[0] = (opened, chairs, opens, closes)
        if (i == 0 or rng.random() < P.CAPACITY_CHANGE_SHARE) and days >= 2:
            offset = int(days * rng.uniform(0.3, 0.7)) if i else int(days * 0.4)
            when = start + timedelta(days=max(1, offset))
            first_of_month = when.replace(day=1)
            when = first_of_month if first_of_month > start else when
            new_chairs = 8 if i == 0 else (chairs + 2 if chairs <= 10 else chairs - 2)
            new_closes = closes
            if i and rng.random() < 0.4 and _minutes(closes) <= 19 * 60:
                new_closes = _hhmm(_minutes(closes) + 60)
            history.append((when, new_chairs, opens, new_closes))
        for valid_from, ch, o, c in history:
            rows.append(ClinicRow(code, name, zone, ch, o, c, open_days, valid_from))
        ids.append(code)
        zones.append(zone)

    cal = Calendar(
        start=start, days=days, clinic_ids=ids, timezones=zones,
        is_open=np.zeros((n, days), dtype=bool), chairs=np.zeros((n, days), dtype=np.int16),
        opens_min=np.zeros((n, days), dtype=np.int16), window_units=np.zeros((n, days), dtype=np.int16),
    )
    day_index = np.arange(days)
    weekday = cal.weekday(day_index)
    for ci, cid in enumerate(ids):
        hist = sorted((r for r in rows if r.clinic_id == cid), key=lambda r: r.valid_from)
        offsets = np.array([(r.valid_from - start).days for r in hist])
        which = np.searchsorted(offsets, day_index, side="right") - 1  # history rows start before day 0
        for j, r in enumerate(hist):
            sel = which == j
            if not sel.any():
                continue
            open_set = np.array([WEEKDAYS.index(d) for d in r.open_days])
            is_open = sel & np.isin(weekday, open_set)
            cal.is_open[ci, is_open] = True
            cal.chairs[ci, sel] = r.chairs
            cal.opens_min[ci, sel] = _minutes(r.opens_at)
            cal.window_units[ci, is_open] = (_minutes(r.closes_at) - _minutes(r.opens_at)) // 15
    return rows, cal


def close_on_holidays(cal: Calendar, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
    """Close each clinic on the public holidays it keeps (drawn once per clinic from
    P.HOLIDAY_CLOSURE) for every year of the period: such a day has no opening window, so it takes no
    bookings and no new patients. Returns the holidays each clinic keeps, in the calendar's order."""
    names = list(P.HOLIDAY_CLOSURE)
    chances = np.array([P.HOLIDAY_CLOSURE[n] for n in names])
    keeps = rng.random((cal.n_clinics, len(names))) < chances
    end = cal.start + timedelta(days=cal.days - 1)
    dated = [(day, name) for day, name in holidays_between(cal.start, end) if name in P.HOLIDAY_CLOSURE]
    kept: dict[str, tuple[str, ...]] = {}
    for ci, cid in enumerate(cal.clinic_ids):
        mine = {names[j] for j in np.flatnonzero(keeps[ci])}
        kept[cid] = tuple(n for n in names if n in mine)
        for day, name in dated:
            if name in mine:
                d = (day - cal.start).days
                cal.is_open[ci, d] = False
                cal.window_units[ci, d] = 0
    return kept

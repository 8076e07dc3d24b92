"""The schedule simulator: projected chair time placed into chairs x opening hours x open days.

Each day the clinic has `chairs x (closes - opens)` chair-minutes (the contract's available minutes).
Requests for chair time arrive on the day they are due, in three priority classes, as the generator
and real clinics book them:

0. the next session of an induction already under way (the protocol calendar fixes its day),
1. boosters,
2. a new patient's first infusion (first come, first served).

A day serves the waiting chair time in that order until its chair-minutes run out; what does not fit
waits for the next open day. Chair time is treated as a fluid (no session is split across chairs in
the model, but neither is it packed into exact slots): the capacity check is on minutes, which is what
utilization measures. Within a day the served time is laid over the hours by the clinic's observed
time-of-day profile; served time that wanted an hour whose chairs were all taken (or an hour the clinic
is closed) moves to hours with free chairs and counts as peak-hour overflow. Chair time that does not fit
the day at all is not overflow: it waits (Schedule.waiting), and counting it as overflow again on every
day it waits made overflow larger than all the chair time asked for.

Amounts are kept in whole hundredths of a chair-minute (int64), so the comparisons that decide what is
served are exact. That makes the model's monotonicity exact, not approximate: for the same requests,
more chairs or a longer open window (the same on every open day) never serve less on any day, never
raise a day's utilization, never delay anything; more requests never do the opposite (see
docs/planning.md and tests/pipelines/test_plan_properties.py). Overflow is part of the served time, so it
follows these rules on the days the busier schedule serves everything asked; on a full day more chairs
serve more, and more of it can move.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

CLASSES = ("induction", "booster", "first_infusion")
UNITS_PER_MINUTE = 100  # amounts are int64 hundredths of a chair-minute


@dataclass(frozen=True)
class DayCapacity:
    """Chairs and open window of each simulated day (a closed day has is_open False)."""

    start: dt.date
    chairs: np.ndarray  # int, per day
    opens: np.ndarray  # minutes after midnight, per day
    closes: np.ndarray
    is_open: np.ndarray  # bool, per day

    @property
    def days(self) -> int:
        return len(self.chairs)

    def available_units(self) -> np.ndarray:
        minutes = np.where(self.is_open, self.chairs * (self.closes - self.opens), 0)
        return minutes.astype(np.int64) * UNITS_PER_MINUTE

    def hour_capacity_minutes(self) -> np.ndarray:
        """days x 24: chairs x the open minutes inside each hour."""
        starts = np.arange(24) * 60
        overlap = np.clip(np.minimum(self.closes[:, None], starts + 60) - np.maximum(self.opens[:, None], starts), 0, 60)
        return np.where(self.is_open[:, None], self.chairs[:, None] * overlap, 0).astype(float)

    def weekdays(self) -> np.ndarray:
        first = self.start.weekday()
        return (first + np.arange(self.days)) % 7


@dataclass(frozen=True)
class Requests:
    """Chair time asked for, per class and due day (from the projection)."""

    start: dt.date
    units: np.ndarray  # int64, 3 x days: booked chair time (treated + no-show), hundredths of a minute
    sessions: np.ndarray  # float, 3 x days: treated sessions behind that chair time
    treated_share: float  # share of booked chair time that is treated (the rest is held by no-shows)


@dataclass(frozen=True)
class Schedule:
    capacity: DayCapacity
    requests: Requests
    served: np.ndarray  # int64, 3 x days
    waiting: np.ndarray  # int64, 3 x days: still waiting at the end of the day
    wanting: np.ndarray  # int64, days: all chair time asking for the day (due + carried over)
    hour_served: np.ndarray  # float, days x 24 (minutes)
    # float, days x 24: served minutes that wanted that hour and were moved to another (at most the day's
    # served time; what waits for a later day is in `waiting`, not here)
    hour_overflow: np.ndarray
    first_wait_mean: np.ndarray  # float, days: mean wait (days) of new patients asking on that day
    first_wait_max: np.ndarray  # float, days: the longest wait of anyone asking that day
    first_wait_censored: np.ndarray  # bool, days: some of that day's patients were still waiting at the end


def simulate(requests: Requests, capacity: DayCapacity, hour_profile: np.ndarray) -> Schedule:
    """Serve the requests day by day. `hour_profile` is 7 x 24 (Mon..Sun): the share of a weekday's
    chair time that prefers each hour."""
    if requests.units.shape[1] != capacity.days or requests.start != capacity.start:
        raise ValueError("requests and capacity must cover the same days")
    days = capacity.days
    available = capacity.available_units()
    served = np.zeros((3, days), dtype=np.int64)
    waiting = np.zeros((3, days), dtype=np.int64)
    wanting = np.zeros(days, dtype=np.int64)
    carried = np.zeros(3, dtype=np.int64)
    for day in range(days):
        queue = carried + requests.units[:, day]
        left = available[day]
        for cls in range(3):  # priority order
            take = min(queue[cls], left)
            served[cls, day] = take
            left -= take
        carried = queue - served[:, day]
        waiting[:, day] = carried
        wanting[day] = queue.sum()

    hour_served, hour_overflow = _spread_over_hours(served.sum(axis=0), capacity, hour_profile)
    mean_wait, max_wait, censored = _first_infusion_waits(requests.units[2], served[2])
    return Schedule(capacity, requests, served, waiting, wanting, hour_served, hour_overflow,
                    mean_wait, max_wait, censored)


def _spread_over_hours(served_units: np.ndarray, capacity: DayCapacity, hour_profile: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Lay each day's served chair time over its hours, preferred hours first; and the overflow: the
    served time that wanted an hour (by the profile) beyond the chairs open in it, and so moved to
    another. From the served time only, so each chair-hour counts once, on the day it is served."""
    cap = capacity.hour_capacity_minutes()
    profile = hour_profile[capacity.weekdays()]  # days x 24
    served = served_units / UNITS_PER_MINUTE
    wanted = served[:, None] * profile
    preferred = np.minimum(wanted, cap)
    overflow = np.where(capacity.is_open[:, None], wanted - preferred, 0.0)
    rest = served - preferred.sum(axis=1)
    spare = cap - preferred
    spare_total = spare.sum(axis=1)
    share = np.divide(spare, spare_total[:, None], out=np.zeros_like(spare), where=spare_total[:, None] > 0)
    return preferred + np.maximum(rest, 0.0)[:, None] * share, overflow


def _first_infusion_waits(asked: np.ndarray, served: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First come, first served: chair time asked on day d is served in the order it was asked. For each
    day: the mean wait (days) over that day's askers, the longest, and whether some were never served
    within the simulated days (their wait is then counted up to the end: a lower bound)."""
    days = len(asked)
    arrived = np.cumsum(asked)
    before = arrived - asked
    done = np.cumsum(served)
    done_before = done - served
    mean_wait = np.zeros(days)
    max_wait = np.zeros(days)
    censored = np.zeros(days, dtype=bool)
    for d in range(days):
        if asked[d] == 0:
            continue
        lo, hi = before[d], arrived[d]
        first = int(np.searchsorted(done, lo, side="right"))  # first day whose service passes lo
        total = 0.0
        t = first
        while t < days and done_before[t] < hi:
            piece = min(hi, done[t]) - max(lo, done_before[t])
            if piece > 0:
                total += piece * (t - d)
                max_wait[d] = t - d
            t += 1
        left = hi - max(lo, done[-1])
        if left > 0:  # never served in the simulated span: counted as waiting until its end
            total += left * (days - d)
            max_wait[d] = days - d
            censored[d] = True
        mean_wait[d] = total / asked[d]
    return mean_wait, max_wait, censored

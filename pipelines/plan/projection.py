"""From new courses per week to chair time per day: the observed protocol applied to every course.

Three sources of sessions, each placed on the day it is due:

- new courses (the forecast or the scenario's figure): a week's new patients ask for a first infusion on
  its open days, spread like the weekdays the clinic's courses have started on (the forecast counts
  course starts, which happen on open days); the rest of induction follows the
  protocol calendar (protocol.induction_calendar) and the observed completion funnel (a share of
  courses stops after each session); courses that complete induction then have boosters at the
  observed rate for each week since induction ended;
- courses in induction on the day before the plan starts: their remaining sessions at the observed
  gaps, with the funnel's odds of continuing from where they stand;
- courses past induction: boosters by weeks since their induction ended.

Weekly amounts (boosters) are spread over a week's open days by the clinic's observed weekday shares.
A public holiday the clinic closes on (Protocol.closed_on) is not an open day: first infusions, boosters
and induction sessions of its week go to the week's other open days, and calendars step around it.
Sessions become chair time through the observed chair minutes of their modality, plus the chair time
no-shows hold (a no-show keeps its chair; a cancellation frees it). Everything is an expected value
(fractions of patients), so the result is the mean load, not one random draw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pipelines.plan.demand import NewCourseForecast, new_week_interval
from pipelines.plan.holidays import closed_mask
from pipelines.plan.inputs import BOOSTER_WEEKS, CONTINUATION_DAYS, ClinicInputs
from pipelines.plan.protocol import (
    FAMILIES,
    INDUCTION_SIZE,
    MODALITIES,
    MODALITY_FAMILY,
    days_from,
    greedy_calendar,
    induction_calendar,
)
from pipelines.plan.simulate import UNITS_PER_MINUTE, Requests

_PAST_DAYS = 7 * BOOSTER_WEEKS + 7  # how far back course anchors can lie
# Patients do not all come back on the same day: a cohort follows five calendars whose target days are
# shifted by up to -/+ `shift` days at the last session (less before), weighted like a binomial, which
# matches the observed spread (interquartile ranges of about 3-5 days by the last induction session).
SPREAD = ((-3, 1 / 16), (-1.5, 4 / 16), (0, 6 / 16), (1.5, 4 / 16), (3, 1 / 16))


@dataclass(frozen=True)
class Protocol:
    """The load-shaping choices of a scenario."""

    open_pattern: tuple[bool, ...]  # Mon..Sun
    modality_mix: dict[str, float]
    chair_minutes: dict[str, float]
    no_show_rate: float
    cancellation_rate: float
    closed_on: tuple[str, ...] = ()  # public holidays the clinic closes on (holidays.HOLIDAY_NAMES)

    @property
    def treated_share(self) -> float:
        """Share of booked chair time that is treated: no-shows hold their chair, cancellations do not."""
        held_no_show = self.no_show_rate / max(1.0 - self.cancellation_rate, 1e-9)
        return max(1.0 - held_no_show, 1e-6)


@dataclass(frozen=True)
class Projected:
    requests: Requests
    sessions_by_day: np.ndarray  # treated sessions on the day each would happen with room for all
    sessions_by_family: dict[str, np.ndarray]
    calendars_keep_rules: bool
    calendar_problems: tuple[str, ...]


@dataclass(frozen=True)
class UnderWay:
    """What the courses already under way on `start` add, whatever the new-course path: induction
    sessions still to come and inductions ending (which start boosters), per modality and day of the
    extended day axis (the past days first)."""

    start: dt.date
    days: int
    open_pattern: tuple[bool, ...]
    closed_on: tuple[str, ...]
    induction_sessions: np.ndarray  # modality x day
    completions: np.ndarray  # modality x day


def courses_under_way(inputs: ClinicInputs, start: dt.date, days: int, protocol: Protocol) -> UnderWay:
    """The part of a projection that comes from inputs.course_states (see UnderWay)."""
    offset = _PAST_DAYS
    total = offset + days
    first_day = start - dt.timedelta(days=offset)
    weekday = (first_day.weekday() + np.arange(total)) % 7
    # A list of the open days for the per-course day searches: indexing a list is several times cheaper
    # than indexing a numpy array element by element, and _OpenDays remembers its answers.
    is_open = np.array(protocol.open_pattern)[weekday] & ~closed_mask(first_day, total, protocol.closed_on)
    open_days = _OpenDays(is_open.tolist())
    sessions = np.zeros((len(MODALITIES), total))
    completions = np.zeros((len(MODALITIES), total))
    for state in inputs.course_states:
        m = MODALITIES.index(state.modality)
        family = state.family
        anchor_index = offset + (state.anchor_date - start).days
        if anchor_index < 0:
            continue
        if state.state == "maintenance":
            completions[m, anchor_index] += state.courses
            continue
        # days after its last session with no next one yet (the last known day is the day before start)
        waited = (start - state.anchor_date).days - 1
        if waited >= CONTINUATION_DAYS:
            continue
        funnel = inputs.funnel[family]
        done = state.induction_sessions_done
        comes_back = inputs.continuation[family][done - 1, state.anchor_date.weekday(), waited]
        if comes_back <= 0 or funnel[done] <= 0:
            continue
        # mean days between sessions, from the practice calendar's mean day of each session (the median
        # gap comes too early: gaps are skewed by make-ups and weekends)
        days_from_first = (0.0,) + tuple(inputs.induction_days[family])
        gaps = [b - a for a, b in zip(days_from_first[done - 1:], days_from_first[done:])]  # to sessions done+1 .. K
        # When each remaining session comes, as a distribution over days: the next one from the gaps
        # longer than the wait so far, each later one a gap (as observed after that session) after it.
        where = dict(_next_session_days(inputs.next_gap[family][done - 1, state.anchor_date.weekday()],
                                        anchor_index, waited, offset, gaps[0], open_days))
        weight = state.courses * comes_back
        for j in range(INDUCTION_SIZE[family] - done):
            if j > 0:
                where = _after_gaps(where, inputs.next_gap[family][done + j - 1], gaps[j], weekday, open_days)
            share_of_courses = weight * funnel[done + j] / funnel[done]  # the funnel goes on from here
            for day, p in where.items():
                if day < total:
                    sessions[m, day] += share_of_courses * p
        for day, p in where.items():
            if day < total:
                completions[m, day] += weight * funnel[-1] / funnel[done] * p
    return UnderWay(start=start, days=days, open_pattern=tuple(protocol.open_pattern),
                    closed_on=tuple(protocol.closed_on), induction_sessions=sessions, completions=completions)


def project(inputs: ClinicInputs, forecast: NewCourseForecast, path: str, start: dt.date, days: int,
            protocol: Protocol, under_way: UnderWay | None = None) -> Projected:
    """Requests for the `days` days from `start`, new courses from `forecast` (`path`: an array field of
    it such as mean, level_lower or level_upper), which must cover every week those days touch.
    `under_way`: courses_under_way() of the same inputs, start, days and open days, when the caller
    projects several paths (it does not depend on the path)."""
    weeks = {w: i for i, w in enumerate(forecast.week_starts)}
    weekly = getattr(forecast, path)
    offset = _PAST_DAYS  # index of `start` in the extended day axis (the past holds course anchors)
    total = offset + days
    first_day = start - dt.timedelta(days=offset)
    weekday = (first_day.weekday() + np.arange(total)) % 7
    # Closed holidays over the span and the calendars' look-ahead (a course starting near the end still
    # gets its whole calendar).
    closed_ahead = closed_mask(first_day, total + _CALENDAR_DAYS, protocol.closed_on)
    open_ahead = np.array(protocol.open_pattern)[(first_day.weekday() + np.arange(total + _CALENDAR_DAYS)) % 7] \
        & ~closed_ahead
    closed = closed_ahead[:total]
    is_open = open_ahead[:total]
    open_before = inputs.open_days_in_lookback()
    booster_weights = _without_closed(
        _weekday_weights(inputs.booster_weekday_share, protocol.open_pattern, open_before)[weekday], closed, weekday)
    induction_weights = _without_closed(
        _weekday_weights(inputs.induction_weekday_share, protocol.open_pattern, open_before)[weekday], closed, weekday)
    start_weights = _without_closed(
        _weekday_weights(inputs.start_weekday_share, protocol.open_pattern, open_before)[weekday], closed, weekday)

    # per class (0 induction, 1 booster, 2 first infusion), modality and day: sessions
    sessions = np.zeros((3, len(MODALITIES), total))
    at_anchor = np.zeros((len(MODALITIES), total))  # first infusions on the day they would happen
    completions = np.zeros((len(MODALITIES), total))  # courses finishing induction on each day
    problems: set[str] = set()

    # -- new courses -------------------------------------------------------------------------
    arrivals = np.zeros(total)
    for d in range(offset, total):
        day = first_day + dt.timedelta(days=d)
        monday = day - dt.timedelta(days=day.weekday())
        if monday not in weeks:
            raise ValueError(f"the new-course path does not cover the week of {monday}")
        arrivals[d] = weekly[weeks[monday]] * start_weights[d]
    anchor = _next_open(is_open)
    for m, modality in enumerate(MODALITIES):
        share = protocol.modality_mix.get(modality, 0.0)
        if share <= 0:
            continue
        family = MODALITY_FAMILY[modality]
        funnel = inputs.funnel[family]
        cohort = arrivals * share
        sessions[2, m] += cohort
        for d in np.nonzero(cohort)[0]:
            a = anchor[d]
            if a < 0:
                continue  # never open again inside the span
            at_anchor[m, a] += cohort[d]
            for shift, weight in SPREAD:
                targets = tuple(t + shift * (i + 1) / len(inputs.induction_days[family])
                                for i, t in enumerate(inputs.induction_days[family]))
                calendar = _calendar(family, is_open, a, targets, problems, open_ahead, closed_ahead)
                share_of_cohort = cohort[d] * weight
                for k, off in enumerate(calendar[1:], start=1):
                    if a + off < total:
                        sessions[0, m, a + off] += share_of_cohort * funnel[k]
                end = a + calendar[-1]
                if end < total:
                    completions[m, end] += share_of_cohort * funnel[-1]

    # -- courses under way ---------------------------------------------------------------------
    if under_way is None:
        under_way = courses_under_way(inputs, start, days, protocol)
    elif ((under_way.start, under_way.days, under_way.open_pattern, under_way.closed_on)
          != (start, days, tuple(protocol.open_pattern), tuple(protocol.closed_on))):
        raise ValueError("courses under way were computed for another span or other open days")
    sessions[0] += under_way.induction_sessions
    completions += under_way.completions

    # Which week an induction session falls in comes from the calendars; which day of the week, from
    # the clinic's observed weekdays (one calendar per cohort is too lumpy: real schedules spread).
    for m in range(len(MODALITIES)):
        sessions[0, m] = _respread_within_weeks(sessions[0, m], induction_weights, weekday, offset)

    # -- boosters ------------------------------------------------------------------------------
    for m, modality in enumerate(MODALITIES):
        rates = inputs.booster_rates[MODALITY_FAMILY[modality]]
        daily = np.repeat(rates, 7)  # week w after induction ended covers days 7w .. 7w + 6
        load = np.convolve(completions[m], daily)[:total]
        sessions[1, m] += load * booster_weights

    # -- chair time --------------------------------------------------------------------------
    window = slice(offset, total)
    minutes = np.array([protocol.chair_minutes[mod] for mod in MODALITIES])
    held = 1.0 / protocol.treated_share
    units = np.rint(np.einsum("cmd,m->cd", sessions[:, :, window], minutes) * held * UNITS_PER_MINUTE)
    treated = sessions[:, :, window].sum(axis=1)
    by_day = treated[0] + treated[1] + at_anchor[:, window].sum(axis=0)
    by_family = {
        f: sum(sessions[0, m, window] + sessions[1, m, window] + at_anchor[m, window]
               for m, mod in enumerate(MODALITIES) if MODALITY_FAMILY[mod] == f)
        for f in FAMILIES
    }
    return Projected(
        requests=Requests(start=start, units=units.astype(np.int64), sessions=treated,
                          treated_share=protocol.treated_share),
        sessions_by_day=by_day,
        sessions_by_family=by_family,
        calendars_keep_rules=not problems,
        calendar_problems=tuple(sorted(problems)),
    )


_CALENDAR_DAYS = 42  # the days an induction calendar is searched over (protocol.days_from's weeks)


def _calendar(family: str, is_open: np.ndarray, anchor: int, target_days: tuple[float, ...],
              problems: set[str], open_ahead: np.ndarray | None = None, closed: np.ndarray | None = None
              ) -> tuple[int, ...]:
    """The days a course starting on `anchor` comes back, as the clinic's patients do (the observed mean
    day of each session, on an open day, never two days running); and whether the open days would let
    the clinic book an induction inside the rules at all (protocol.induction_calendar). With a closed
    holiday in the calendar's weeks (`closed`, and `open_ahead` the open days with holidays closed, both
    per day of the same axis and long enough for the look-ahead), the calendar is searched over those
    real days instead of the repeated week."""
    if closed is not None and closed[anchor:anchor + _CALENDAR_DAYS].any():
        days = tuple(bool(x) for x in open_ahead[anchor:anchor + _CALENDAR_DAYS])
        calendar, keeps_rules = _calendars_over(family, days, tuple(target_days))
    else:
        week = is_open[anchor:anchor + 7] if len(is_open) - anchor >= 7 else np.resize(is_open[anchor:], 7)
        calendar, keeps_rules = _calendars(family, tuple(bool(x) for x in week), tuple(target_days))
    if not keeps_rules:
        problems.add(f"{family}: the open days allow no induction calendar that keeps the rules")
    return calendar


@lru_cache(maxsize=4096)
def _calendars(family: str, week: tuple[bool, ...], target_days: tuple[float, ...]) -> tuple[tuple[int, ...], bool]:
    return _calendars_over(family, days_from(week, 0, _CALENDAR_DAYS), target_days)  # the weekly pattern repeats


@lru_cache(maxsize=4096)
def _calendars_over(family: str, open_days: tuple[bool, ...], target_days: tuple[float, ...]
                    ) -> tuple[tuple[int, ...], bool]:
    keeps_rules = induction_calendar(family, open_days, target_days) is not None
    return greedy_calendar(family, open_days, target_days), keeps_rules


def _without_closed(weights: np.ndarray, closed: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Per-day weights with the closed days at 0 and each calendar week's other days scaled up to keep the
    week's total weight: what a closed day would have had goes to the week's other open days (in
    proportion to theirs). A week with no other weighted day keeps its weights (its sessions then wait
    for the next open day in the schedule)."""
    if not closed.any():
        return weights
    out = weights.copy()
    week = np.cumsum(weekday == 0)  # calendar-week number of each day (Monday starts a week)
    for w in np.unique(week[closed]):
        days = week == w
        total = weights[days].sum()
        kept = days & ~closed
        left = weights[kept].sum()
        if left > 0:
            out[days & closed] = 0.0
            out[kept] = weights[kept] * total / left
    return out


def _respread_within_weeks(daily: np.ndarray, weights: np.ndarray, weekday: np.ndarray, first: int
                           ) -> np.ndarray:
    """Keep each calendar week's total (Monday to Sunday, counting only days from `first`) but lay it
    over the week's days by `weights`; a week whose days all weigh 0 keeps its own shape."""
    out = daily.copy()
    mondays = np.nonzero(weekday == 0)[0]
    starts = sorted(set([first] + [m for m in mondays if m > first]))
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(daily)
        w = weights[start:end]
        total = daily[start:end].sum()
        if total > 0 and w.sum() > 0:
            out[start:end] = total * w / w.sum()
    return out


def _next_session_days(gap_counts: np.ndarray, last: int, waited: int, first_allowed: int, usual_gap: float,
                       is_open: Sequence[bool]) -> list[tuple[int, float]]:
    """When the next session of a course in induction comes, given it has not come `waited` days after
    the last one (day `last`): the gaps observed network-wide that are longer than that, each on its
    day (moved to the nearest open day); without observations, the usual gap (or the next open day)."""
    tail = gap_counts[waited + 1:]
    observed = tail.sum()
    if observed <= 0:
        target = max(last + usual_gap, first_allowed)
        return [(_nearest_open(is_open, target, first_allowed), 1.0)]
    out: dict[int, float] = {}
    for i in np.flatnonzero(tail > 0):
        day = _nearest_open(is_open, last + waited + 1 + int(i), first_allowed)
        out[day] = out.get(day, 0.0) + float(tail[i] / observed)
    return sorted(out.items())


def _after_gaps(where: dict[int, float], gap_counts: np.ndarray, usual_gap: float, weekday: np.ndarray,
                is_open: Sequence[bool]) -> dict[int, float]:
    """The day distribution of the following session: each day of `where` plus an observed gap for a
    session on that weekday (gap_counts: 7 x gap), moved to the nearest open day."""
    out: dict[int, float] = {}
    for day, p in where.items():
        if day >= len(is_open):
            out[day] = out.get(day, 0.0) + p
            continue
        for next_day, q in _next_session_days(gap_counts[weekday[day]], day, 0, day + 2, usual_gap, is_open):
            out[next_day] = out.get(next_day, 0.0) + p * q
    return out


class _OpenDays(list):
    """Open (True) or closed per day, with a memo of _nearest_open's answers: one projection asks about
    the same few hundred (target, earliest) pairs about a hundred thousand times."""

    def __init__(self, flags: list[bool]):
        super().__init__(flags)
        self.nearest: dict[tuple[float, int], int] = {}


def _nearest_open(is_open: Sequence[bool], target: float, earliest: int) -> int:
    """The open day nearest `target` and not before `earliest` (the earlier one on a tie); past the
    span's end when there is none inside it."""
    memo = is_open.nearest if isinstance(is_open, _OpenDays) else None
    if memo is not None and (target, earliest) in memo:
        return memo[target, earliest]
    best, best_distance = len(is_open), float("inf")
    for day in range(earliest, min(len(is_open), int(target) + 8)):
        if is_open[day] and abs(day - target) < best_distance:
            best, best_distance = day, abs(day - target)
    if memo is not None:
        memo[target, earliest] = best
    return best


def _next_open(is_open: np.ndarray) -> np.ndarray:
    """For each day, the index of the first open day on or after it (-1 if none)."""
    out = np.full(len(is_open), -1)
    following = -1
    for d in range(len(is_open) - 1, -1, -1):
        if is_open[d]:
            following = d
        out[d] = following
    return out


def _weekday_weights(observed: np.ndarray, pattern: tuple[bool, ...], open_before: np.ndarray) -> np.ndarray:
    """How a week's sessions of one kind spread over its open days. `observed`: the kind's weekday shares
    in the look-back; `open_before`: how many days of each weekday the clinic was open then.

    A weekday that was open weighs its observed sessions per open day, so a share of 0 stays 0: clinics
    keep days for inductions (on the sample DEN books no first infusion or booster on a Tuesday, OKC none
    on a Monday), and filling such a day as if it were new piled a fifth of the boosters onto it. Only a
    weekday the scenario opens that was closed throughout the look-back has nothing observed; it gets the
    mean of the days that had sessions of the kind. Per open day, not the share itself, so a weekday open
    for part of the look-back is not under-weighted. Closed weekdays 0; sums to 1 over the week (evenly
    over the open days when none of them had any: the kind has to go somewhere)."""
    observed = np.asarray(observed, dtype=float)
    open_before = np.asarray(open_before, dtype=float)
    open_mask = np.array(pattern, dtype=bool)
    if not open_mask.any():
        return np.zeros(7)
    was_open = open_before > 0
    per_day = np.divide(observed, open_before, out=np.zeros(7), where=was_open)
    used = was_open & (per_day > 0)
    fill = per_day[used].mean() if used.any() else 0.0
    weights = np.where(open_mask, np.where(was_open, per_day, fill), 0.0)
    if weights.sum() <= 0:
        weights = open_mask.astype(float)
    return weights / weights.sum()


def protocol_check(inputs: ClinicInputs, protocol: Protocol, weeks: int) -> float | None:
    """How well the protocol model reproduces the last `weeks` complete weeks before as_of: the treated
    sessions that happened over those it projects from where courses stood when the weeks began and the
    new courses that actually came (1.0 = exact). None when there is too little to judge. Reported,
    not applied: the back-test found no gain in rescaling the forecast by it."""
    actual = inputs.recent_sessions
    if len(actual) < weeks or len(inputs.new_courses) < weeks or actual.sum() <= 0:
        return None
    start = inputs.as_of - dt.timedelta(days=inputs.as_of.weekday(), weeks=weeks)
    week_starts = tuple(start + dt.timedelta(weeks=i) for i in range(weeks))
    counts = inputs.new_courses[-weeks:]
    observed = NewCourseForecast(week_starts, counts, counts, counts, 0.0, "observed", len(counts))
    then = dataclasses.replace(inputs, course_states=inputs.calibration_states)
    projected = project(then, observed, "mean", start, 7 * weeks, protocol).sessions_by_day.sum()
    return float(actual.sum() / projected) if projected > 0 else None


def weekly_noise(recent_sessions: np.ndarray, interval: float) -> float | None:
    """Half-width of a week's own scatter in its `interval` (e.g. 0.8): the prediction interval for one
    new week from the recent weeks (CALIBRATION_WEEKS; demand.new_week_interval). None with fewer than 4
    weeks (the caller falls back to Poisson noise).

    Why the spread around their mean, not the differences of consecutive weeks: the interval has to hold
    the actual week against the forecast, and the forecast's level misses too. In the back-test
    (benchmarks/plan_backtest.py, 6,500 held-out clinic-weeks on 50 generated clinics; 117 on the
    sample) the differences held 70.1% (82.9%), the normal quantile of the spread 77.2% (87.2%);
    docs/planning.md has the figures of this interval."""
    if len(recent_sessions) < 4:
        return None
    quantile, week_sd = new_week_interval(recent_sessions, interval)
    return quantile * week_sd


def session_interval(mean: float, low_path: float, high_path: float, noise: float | None, z: float
                     ) -> tuple[float, float]:
    """A week's sessions interval: the new-course level's interval carried through the protocol, and
    the week's own scatter (`noise`, a half-width from weekly_noise; z x Poisson when unknown),
    combined as independent parts."""
    if noise is None:
        noise = z * np.sqrt(max(mean, 0.0))
    low = mean - float(np.hypot(mean - low_path, noise))
    high = mean + float(np.hypot(high_path - mean, noise))
    return max(low, 0.0), high

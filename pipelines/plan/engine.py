"""A clinic's capacity plan: forecast, protocol, schedule, and the fewest chairs that meet the target.

    from pipelines.plan import plan_clinic, Scenario
    p = plan_clinic("OKC", Scenario(chairs=8, opens_at="07:00", closes_at="19:00"), db="warehouse/clinic_analytics.duckdb")
    p.summary["recommended_chairs"], p.weeks_frame(), p.weekday_hour_frame(), p.to_json()

`plan_from_inputs` does the same from ClinicInputs without a warehouse (the back-test and the property
tests use it). The plan reports, for each week of the horizon, the projected new courses and sessions
(with an interval), chair-hours asked for and available, utilization (the contract's: treated chair
time / available) and booked utilization (treated + no-show chair time / available, what fills a
schedule), peak-hour overflow, chair time carried to a later day, and how long a new patient waits for
a first infusion; by weekday x hour, utilization and overflow over the horizon; the fewest chairs
that keep every week's booked utilization at or below the target with the induction rules met; and,
when the scenario misses the target, the shortest longer day or the extra open day that meets it with
the scenario's chairs (operations plans hours as well as chairs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from dataclasses import dataclass, field

import numpy as np

from pipelines.errors import CommandError, UsageError
from pipelines.plan.demand import NewCourseForecast, forecast_new_courses, normal_quantile
from pipelines.plan.holidays import closed_mask, weeks_around_closures
from pipelines.plan.inputs import ClinicInputs
from pipelines.plan.projection import (
    Projected,
    Protocol,
    courses_under_way,
    project,
    protocol_check,
    session_interval,
    weekly_noise,
)
from pipelines.plan.protocol import MODALITIES, WEEKDAYS, weekday_pattern
from pipelines.plan.scenario import MAX_CHAIRS, Scenario
from pipelines.plan.simulate import UNITS_PER_MINUTE, DayCapacity, Schedule, simulate

DRAIN_WEEKS = 8  # simulated after the horizon so late arrivals' waits are measured, not cut off
DEFAULT_INTERVAL = 0.8


@dataclass
class Resolved:
    """The scenario with every blank filled from the warehouse: what was actually simulated."""

    chairs: int
    opens_at: str
    closes_at: str
    open_days: tuple[str, ...]
    no_show_rate: float
    cancellation_rate: float
    chair_minutes: dict[str, float]
    modality_mix: dict[str, float]
    target_utilization: float
    closed_on: tuple[str, ...] = ()  # public holidays closed (holidays.HOLIDAY_NAMES order)
    closed_on_observed: bool = True  # read from the clinic's sessions, not given by the scenario

    def to_json(self) -> dict:
        return {
            "chairs": self.chairs, "opens_at": self.opens_at, "closes_at": self.closes_at,
            "open_days": list(self.open_days), "closed_on": list(self.closed_on),
            "closed_on_observed": self.closed_on_observed, "no_show_rate": self.no_show_rate,
            "cancellation_rate": self.cancellation_rate, "chair_minutes": self.chair_minutes,
            "modality_mix": self.modality_mix, "target_utilization": self.target_utilization,
        }


@dataclass
class Projection:
    clinic_id: str
    scenario: Scenario
    resolved: Resolved
    as_of: dt.date
    start: dt.date  # first reported Monday
    horizon_weeks: int
    forecast_method: str
    interval: float
    weeks: list[dict]
    weekday_hours: list[dict]
    summary: dict
    observed: dict
    notes: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)  # observed weeks before the plan
    chairs_curve: list[dict] = field(default_factory=list)  # the same plan with other chair counts

    def to_json(self) -> dict:
        return {
            "clinic_id": self.clinic_id,
            "scenario": self.scenario.to_json(),
            "resolved": self.resolved.to_json(),
            "as_of": self.as_of.isoformat(),
            "start": self.start.isoformat(),
            "horizon_weeks": self.horizon_weeks,
            "forecast_method": self.forecast_method,
            "interval": self.interval,
            "summary": {**self.summary, "weeks_around_holidays": [
                _jsonable(w) for w in self.summary.get("weeks_around_holidays", [])]},
            "weeks": [_jsonable(w) for w in self.weeks],
            "weekday_hours": [_jsonable(r) for r in self.weekday_hours],
            "observed": self.observed,
            "notes": self.notes,
            "history": [_jsonable(h) for h in self.history],
            "chairs_curve": self.chairs_curve,
        }

    def weeks_frame(self):
        import pandas as pd

        return pd.DataFrame(self.weeks)

    def weekday_hour_frame(self):
        import pandas as pd

        return pd.DataFrame(self.weekday_hours)

    def history_frame(self):
        import pandas as pd

        return pd.DataFrame(self.history)

    def chairs_frame(self):
        import pandas as pd

        return pd.DataFrame(self.chairs_curve)


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}


# -- entry points ------------------------------------------------------------------------------

def plan_clinic(clinic_id: str, scenario: Scenario | None = None, db: str | os.PathLike | None = None,
                con=None, interval: float = DEFAULT_INTERVAL) -> Projection:
    """The plan for one clinic of the published warehouse (`db`, default the configured pointer; or an
    open connection `con`)."""
    return plan_scenarios(clinic_id, [scenario or Scenario()], db=db, con=con, interval=interval)[0]


def plan_scenarios(clinic_id: str, scenarios: list[Scenario], db: str | os.PathLike | None = None, con=None,
                   interval: float = DEFAULT_INTERVAL, network=None) -> list[Projection]:
    """Plans for several scenarios of one clinic (to compare side by side): the warehouse is read and
    the forecast fitted once per distinct as_of. `network`, when given, is a function as_of ->
    inputs.NetworkInputs of the same warehouse (e.g. a cache shared by the plans of every clinic)."""
    from pipelines import config
    from pipelines.plan.inputs import data_end, known_clinics, read_inputs
    from pipelines.warehouse.publish import connect_read_only

    scenarios = [s.replace(clinic_id=clinic_id) for s in scenarios]
    own = con is None
    if own:
        con, _ = connect_read_only(config.db_path(db))
    try:
        _require_plan_macros(con)
        clinics = known_clinics(con)
        if clinic_id not in clinics:
            shown = ", ".join(clinics[:20]) + (f" and {len(clinics) - 20} more" if len(clinics) > 20 else "")
            raise CommandError(f"unknown clinic {clinic_id!r}; the warehouse has: {shown or 'no clinics'}")
        last = data_end(con)
        if last is None:
            raise CommandError("the warehouse has no sessions to plan from")
        for s in scenarios:  # a plan starts the day after the data it reads: it cannot start after the data
            if s.as_of and dt.date.fromisoformat(s.as_of) > last + dt.timedelta(days=1):
                raise CommandError(f"cannot plan as of {s.as_of}: the data's last day is {last.isoformat()}, so "
                                   f"plan as of {(last + dt.timedelta(days=1)).isoformat()} (the default) or earlier")
        inputs_by_day: dict[dt.date, ClinicInputs] = {}
        for s in scenarios:
            as_of = dt.date.fromisoformat(s.as_of) if s.as_of else last + dt.timedelta(days=1)
            if as_of not in inputs_by_day:
                shared = network(as_of) if network is not None else None
                inputs_by_day[as_of] = read_inputs(con, [clinic_id], as_of, network=shared)[clinic_id]
    finally:
        if own:
            con.close()
    forecasts: dict[dt.date, NewCourseForecast | None] = {}
    out = []
    for s in scenarios:
        as_of = dt.date.fromisoformat(s.as_of) if s.as_of else last + dt.timedelta(days=1)
        inputs = inputs_by_day[as_of]
        if as_of not in forecasts:
            longest = max(x.horizon_weeks for x in scenarios)
            forecasts[as_of] = fit_forecast(inputs, longest, interval)
        out.append(plan_from_inputs(inputs, s, interval=interval, forecast=forecasts[as_of]))
    return out


def fit_forecast(inputs: ClinicInputs, horizon_weeks: int, interval: float = DEFAULT_INTERVAL
                 ) -> NewCourseForecast | None:
    """The new-course forecast a plan of `horizon_weeks` weeks needs (None without history: the
    scenario must then give the new patients per week)."""
    if len(inputs.new_courses) == 0:
        return None
    first_week, _, weeks_needed = _span(inputs.as_of, horizon_weeks)
    return forecast_new_courses(*inputs.forecast_history(), first_week, weeks_needed,
                                interval=interval)


def _span(as_of: dt.date, horizon_weeks: int) -> tuple[dt.date, dt.date, int]:
    """(Monday of as_of's week, first reported Monday, weeks the forecast must cover)."""
    first_week = as_of - dt.timedelta(days=as_of.weekday())
    start = as_of + dt.timedelta(days=(7 - as_of.weekday()) % 7)  # first Monday on or after as_of
    return first_week, start, (start - first_week).days // 7 + horizon_weeks + DRAIN_WEEKS


# Planning macros of sql/metrics/plan_inputs.sql, one from each generation of the file: a warehouse built before
# the latest of them lacks it and gets the one-line message below instead of DuckDB's catalog error.
_PLAN_MACROS = ("plan_weekly_new_courses", "plan_holiday_days", "plan_daily_spread")


def _require_plan_macros(con) -> None:
    found = con.execute(
        "SELECT count(DISTINCT function_name) FROM duckdb_functions() WHERE schema_name = 'metrics' "
        "AND list_contains(?::VARCHAR[], function_name)", [list(_PLAN_MACROS)]
    ).fetchone()[0]
    if found < len(_PLAN_MACROS):
        raise CommandError("this warehouse has no planning models (built by an older version); load a batch to rebuild it")


def plan_from_inputs(inputs: ClinicInputs, scenario: Scenario | None = None, interval: float = DEFAULT_INTERVAL,
                     forecast: NewCourseForecast | None = None) -> Projection:
    """The plan from observed inputs. `forecast` (weeks from the Monday of as_of's week) skips fitting."""
    scenario = scenario or Scenario()
    as_of = inputs.as_of
    horizon = scenario.horizon_weeks
    first_week, start, weeks_needed = _span(as_of, horizon)
    span_days = (start - as_of).days + 7 * (horizon + DRAIN_WEEKS)
    notes = list(inputs.notes)

    forecast = _demand(inputs, scenario, first_week, weeks_needed, interval, forecast)
    resolved = _resolve(inputs, scenario)
    protocol = _protocol(resolved)
    under_way = courses_under_way(inputs, as_of, span_days, protocol)  # the same for every path
    projected = {path: project(inputs, forecast, path, as_of, span_days, protocol, under_way)
                 for path in ("mean", "level_lower", "level_upper")}
    capacity = day_capacity(as_of, span_days, resolved)
    schedule = simulate(projected["mean"].requests, capacity, inputs.hour_profile)
    upper_schedule = simulate(projected["level_upper"].requests, capacity, inputs.hour_profile)

    report = _Report(start=start, offset=(start - as_of).days, horizon=horizon).for_scenario(resolved, as_of)
    weeks = report.weeks(schedule, projected, forecast, upper_schedule, interval, weekly_noise(inputs.ordinary_recent_sessions(), interval))
    summary = report.summary(schedule, projected["mean"], resolved, weeks)
    summary["daily_spread"] = inputs.daily_spread
    summary["busy_day_share"] = busy_day_share(schedule, report.window, inputs.daily_spread)
    held_weeks = [w for w in weeks if w["held_to_target"]]
    summary["peak_week_utilization_upper"] = max(w["utilization_upper"] or 0.0 for w in held_weeks)
    summary["peak_week_booked_utilization_upper"] = max(w["booked_utilization_upper"] or 0.0 for w in held_weeks)
    summary["recommended_chairs"] = fewest_chairs(projected["mean"], capacity, inputs.hour_profile, resolved,
                                                  report)
    summary["recommended_chairs_upper"] = fewest_chairs(projected["level_upper"], capacity, inputs.hour_profile,
                                                        resolved, report)
    summary["hours_alternative"] = summary["open_day_alternative"] = summary["day_and_hours_alternative"] = None
    if not meets_target(schedule, projected["mean"], resolved.target_utilization, report):
        summary["hours_alternative"] = shortest_hours(projected["mean"], capacity, inputs.hour_profile, resolved,
                                                      report)
        trials = _DayTrials(inputs, forecast, resolved, span_days)
        summary["open_day_alternative"] = one_more_day(trials, report)
        if summary["hours_alternative"] is None and summary["open_day_alternative"] is None:
            summary["day_and_hours_alternative"] = day_and_hours(trials, report)
    if summary["recommended_chairs"] is None:
        notes.append(_why_no_chair_count(projected["mean"], resolved))
    observed = inputs.observed_summary()
    observed["protocol_check_last_13_weeks"] = protocol_check(inputs, protocol, 13)
    curve = chairs_curve(projected["mean"], capacity, inputs.hour_profile, resolved, report,
                         around=[resolved.chairs, summary["recommended_chairs"]])
    return Projection(
        clinic_id=inputs.clinic_id,
        scenario=scenario,
        resolved=resolved,
        as_of=as_of,
        start=start,
        horizon_weeks=horizon,
        forecast_method=forecast.method,
        interval=interval,
        weeks=weeks,
        weekday_hours=report.weekday_hours(schedule),
        summary=summary,
        observed=observed,
        notes=notes,
        history=_history(inputs),
        chairs_curve=curve,
    )


def _history(inputs: ClinicInputs, weeks: int = 26) -> list[dict]:
    """The last observed weeks: new courses, and treated sessions where the plan read them."""
    sessions = {}
    if len(inputs.recent_sessions):
        sessions = {week: float(n) for week, n in zip(inputs.recent_weeks(), inputs.recent_sessions)}
    rows = []
    for week, n in list(zip(inputs.history_weeks, inputs.new_courses))[-weeks:]:
        rows.append({"week_start": week, "new_courses": float(n), "sessions": sessions.get(week)})
    return rows


def _demand(inputs, scenario, first_week, weeks_needed, interval, forecast) -> NewCourseForecast:
    week_starts = tuple(first_week + dt.timedelta(weeks=i) for i in range(weeks_needed))
    if scenario.new_patients_per_week is not None:
        base = NewCourseForecast.flat(week_starts, scenario.new_patients_per_week)
    elif forecast is not None:
        if forecast.week_starts[: len(week_starts)] != week_starts:
            raise ValueError("the given forecast does not start at the week of as_of or is too short")
        base = forecast
    else:
        if len(inputs.new_courses) == 0:
            raise CommandError(
                f"clinic {inputs.clinic_id} has no complete week of history before {inputs.as_of}; "
                "give the new patients per week"
            )
        base = forecast_new_courses(*inputs.forecast_history(), first_week, weeks_needed,
                                    interval=interval)
    return base if scenario.demand_multiplier == 1.0 else base.scaled(scenario.demand_multiplier)


def _resolve(inputs: ClinicInputs, scenario: Scenario) -> Resolved:
    cap = inputs.capacity
    if cap is None and (scenario.chairs is None or scenario.opens_at is None or scenario.open_days is None):
        raise CommandError(
            f"clinic {inputs.clinic_id} has no capacity row valid on {inputs.as_of}; give chairs, hours and days"
        )
    chair_minutes = dict(inputs.chair_minutes)
    if isinstance(scenario.chair_minutes, dict):
        chair_minutes.update({k: float(v) for k, v in scenario.chair_minutes.items()})
    elif scenario.chair_minutes is not None:
        chair_minutes = {m: float(scenario.chair_minutes) for m in MODALITIES}
    no_show = inputs.no_show_rate if scenario.no_show_rate is None else float(scenario.no_show_rate)
    cancellation = min(inputs.cancellation_rate, 0.95 - no_show)
    return Resolved(
        chairs=scenario.chairs if scenario.chairs is not None else cap.chairs,
        opens_at=scenario.opens_at or cap.opens_at.strftime("%H:%M"),
        closes_at=scenario.closes_at or cap.closes_at.strftime("%H:%M"),
        open_days=tuple(scenario.open_days) if scenario.open_days is not None else tuple(cap.open_days),
        no_show_rate=no_show,
        cancellation_rate=max(cancellation, 0.0),
        chair_minutes=chair_minutes,
        modality_mix=dict(inputs.modality_mix),
        target_utilization=scenario.target_utilization,
        closed_on=inputs.holidays_closed() if scenario.closed_on is None else tuple(scenario.closed_on),
        closed_on_observed=scenario.closed_on is None,
    )


def _protocol(resolved: Resolved) -> Protocol:
    return Protocol(
        open_pattern=weekday_pattern(resolved.open_days),
        modality_mix=resolved.modality_mix,
        chair_minutes=resolved.chair_minutes,
        no_show_rate=resolved.no_show_rate,
        cancellation_rate=resolved.cancellation_rate,
        closed_on=resolved.closed_on,
    )


def day_capacity(start: dt.date, days: int, resolved: Resolved, chairs: int | None = None) -> DayCapacity:
    pattern = np.array(weekday_pattern(resolved.open_days))
    weekday = (start.weekday() + np.arange(days)) % 7
    opens = _hhmm(resolved.opens_at)
    closes = _hhmm(resolved.closes_at)
    is_open = pattern[weekday] & ~closed_mask(start, days, resolved.closed_on)  # and not a holiday it closes on
    return DayCapacity(
        start=start,
        chairs=np.full(days, chairs if chairs is not None else resolved.chairs, dtype=np.int64),
        opens=np.full(days, opens, dtype=np.int64),
        closes=np.full(days, closes, dtype=np.int64),
        is_open=is_open,
    )


def _hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _text_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# -- the fewest chairs ---------------------------------------------------------------------------

def meets_target(schedule: Schedule, projected: Projected, target: float, report: "_Report") -> bool:
    """Every horizon week's booked utilization <= target, and the induction rules kept: the calendars
    keep them and no induction session waits past its day."""
    if not projected.calendars_keep_rules:
        return False
    window = report.window
    if schedule.waiting[0, window].sum() > 0:
        return False
    return all(u is None or u <= target for u in report.weekly_booked_utilization(schedule))


def fewest_chairs(projected: Projected, capacity: DayCapacity, hour_profile: np.ndarray, resolved: Resolved,
                  report: "_Report") -> int | None:
    """The fewest chairs (1..60) meeting the target, by bisection: serving, utilization and delays are
    monotone in chairs (simulate's docstring), so the check is too. None when 60 chairs do not."""
    def ok(chairs: int) -> bool:
        trial = DayCapacity(capacity.start, np.full(capacity.days, chairs, dtype=np.int64), capacity.opens,
                            capacity.closes, capacity.is_open)
        return meets_target(simulate(projected.requests, trial, hour_profile), projected,
                            resolved.target_utilization, report)

    if not projected.calendars_keep_rules or not ok(MAX_CHAIRS):
        return None
    lo, hi = 1, MAX_CHAIRS  # ok(hi) holds
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# -- or longer hours ------------------------------------------------------------------------------

HOURS_STEP = 30  # minutes: the Planning form's time step
MAX_EXTRA_MINUTES = 180  # a day: beyond 3 hours a longer day is a second shift, not an extension
EARLIEST_OPEN, LATEST_CLOSE = "06:00", "22:00"  # a day staff and patients can keep


def extended_window(opens_at: str, closes_at: str, extra: int) -> tuple[str, str] | None:
    """The open window `extra` minutes longer: closing later first, up to LATEST_CLOSE, the rest by opening
    earlier, down to EARLIEST_OPEN; None when it does not fit. The target does not depend on the split (it
    counts a day's chair-minutes). Closing later first: the observed profile leans a little to the afternoon
    (the busiest hour is the one before closing, 16:00 at DEN and 17:00 at OKC on the sample, a point above
    the first hour) and an evening suits patients who work."""
    opens, closes = _hhmm(opens_at), _hhmm(closes_at)
    later = min(extra, max(0, _hhmm(LATEST_CLOSE) - closes))
    earlier = extra - later
    if earlier and opens - earlier < _hhmm(EARLIEST_OPEN):
        return None
    return _text_hhmm(opens - earlier), _text_hhmm(closes + later)


def shortest_hours(projected: Projected, capacity: DayCapacity, hour_profile: np.ndarray, resolved: Resolved,
                   report: "_Report") -> dict | None:
    """The shortest longer day, in 30-minute steps up to 3 hours (extended_window), that meets the target with
    the scenario's chairs and open days: the same simulation and check as fewest_chairs, on the mean
    projection. For a scenario that misses the target (the caller checks: its own schedule is simulated
    already); None when no such day does. A longer window never serves less (simulate's docstring), so the
    first length that meets it is the shortest."""
    if not projected.calendars_keep_rules:  # the open days break the rules: no hours help
        return None
    for extra in range(HOURS_STEP, MAX_EXTRA_MINUTES + 1, HOURS_STEP):
        window = extended_window(resolved.opens_at, resolved.closes_at, extra)
        if window is None:
            return None
        trial = DayCapacity(capacity.start, capacity.chairs, np.full(capacity.days, _hhmm(window[0]), dtype=np.int64),
                            np.full(capacity.days, _hhmm(window[1]), dtype=np.int64), capacity.is_open)
        schedule = simulate(projected.requests, trial, hour_profile)
        if meets_target(schedule, projected, resolved.target_utilization, report):
            return {"opens_at": window[0], "closes_at": window[1], "extra_minutes_per_day": extra,
                    "peak_week_booked_utilization": _peak(report.weekly_booked_utilization(schedule))}
    return None


class _DayTrials:
    """The scenario with one closed weekday opened, projected again (mean only), each at most once: one_more_day
    and day_and_hours both try every closed weekday, and a projection costs 25-40 ms."""

    def __init__(self, inputs: ClinicInputs, forecast: NewCourseForecast, resolved: Resolved, span_days: int):
        self.inputs, self.forecast, self.resolved, self.span_days = inputs, forecast, resolved, span_days
        self._done: dict[str, tuple[Resolved, Projected]] = {}

    def days(self) -> list[str]:
        return [day for day in WEEKDAYS if day not in self.resolved.open_days]

    def get(self, day: str) -> tuple[Resolved, Projected]:
        if day not in self._done:
            open_days = tuple(d for d in WEEKDAYS if d in self.resolved.open_days or d == day)
            trial = dataclasses.replace(self.resolved, open_days=open_days)
            protocol = _protocol(trial)
            under_way = courses_under_way(self.inputs, self.inputs.as_of, self.span_days, protocol)
            self._done[day] = trial, project(self.inputs, self.forecast, "mean", self.inputs.as_of, self.span_days,
                                             protocol, under_way)
        return self._done[day]


def one_more_day(trials: _DayTrials, report: "_Report") -> dict | None:
    """The first weekday (Monday to Sunday) the scenario keeps closed that, opened with the same chairs and
    hours, meets the target; None when none does. Any such day adds the same chair-hours (on the sample the
    peaks of DEN with Monday or with Sunday differ by 0.05 points), so the week's order decides: Sunday,
    the hardest day to staff, comes last. Each day is projected again (mean only, as fewest_chairs): open
    days move the induction calendars and the weekday spreads; 25-40 ms a weekday, and the caller asks
    only when the scenario misses the target."""
    inputs, span_days = trials.inputs, trials.span_days
    for day in trials.days():
        trial, projected = trials.get(day)
        schedule = simulate(projected.requests, day_capacity(inputs.as_of, span_days, trial), inputs.hour_profile)
        trial_report = report.for_scenario(trial, inputs.as_of)
        if meets_target(schedule, projected, trial.target_utilization, trial_report):
            return {"day": day, "open_days": list(trial.open_days),
                    "peak_week_booked_utilization": _peak(trial_report.weekly_booked_utilization(schedule))}
    return None


def day_and_hours(trials: _DayTrials, report: "_Report") -> dict | None:
    """When neither a longer day nor one more open day meets the target alone: one more open day together
    with the shortest longer day that does, with the chairs the clinic has (a clinic over capacity asked "or
    can we stay at 4 chairs?" and heard only "neither"). The day that needs the fewest extra minutes wins;
    the week's order breaks a tie (Sunday last, as in one_more_day). None when no pair does. The projections
    are one_more_day's (trials), then up to 36 simulations; asked only when both single changes fail."""
    inputs, span_days = trials.inputs, trials.span_days
    best = None
    for day in trials.days():
        trial, projected = trials.get(day)
        hours = shortest_hours(projected, day_capacity(inputs.as_of, span_days, trial), inputs.hour_profile, trial,
                               report.for_scenario(trial, inputs.as_of))
        if hours is not None and (best is None or hours["extra_minutes_per_day"] < best["extra_minutes_per_day"]):
            best = {"day": day, "open_days": list(trial.open_days), **hours}
    return best


def _hour_closed(hour: int, opens_at: str, closes_at: str) -> bool:
    """Whether the clinic is closed for the whole of that hour of the day."""
    return hour * 60 + 60 <= _hhmm(opens_at) or hour * 60 >= _hhmm(closes_at)


def _peak(weekly: list[float | None]) -> float | None:
    known = [u for u in weekly if u is not None]
    return max(known) if known else None


def chairs_curve(projected: Projected, capacity: DayCapacity, hour_profile: np.ndarray, resolved: Resolved,
                 report: "_Report", around: list[int | None], reach: int = 3) -> list[dict]:
    """The plan's key figures with each chair count near the given ones (the scenario's and the
    recommended): what one chair more or less does."""
    known = [c for c in around if c is not None]
    low = max(1, min(known) - reach)
    high = min(MAX_CHAIRS, max(known) + reach)
    rows = []
    for chairs in range(low, high + 1):
        trial = DayCapacity(capacity.start, np.full(capacity.days, chairs, dtype=np.int64), capacity.opens,
                            capacity.closes, capacity.is_open)
        schedule = simulate(projected.requests, trial, hour_profile)
        booked = [u for u in report.weekly_booked_utilization(schedule) if u is not None]
        window = report.window
        rows.append({
            "chairs": chairs,
            "peak_week_booked_utilization": max(booked) if booked else None,
            "peak_week_utilization": max(booked) * schedule.requests.treated_share if booked else None,
            "mean_wait_days": float(schedule.first_wait_mean[window].mean()),
            # some patients still waiting when the simulation ends: their wait is counted up to its end, so the
            # mean is a lower bound (too few chairs can read "wait 60 d" when the queue only grows)
            "waits_censored": bool(schedule.first_wait_censored[window].any()),
            "overflow_chair_hours": float(schedule.hour_overflow[window].sum() / 60),
            "induction_rules_met": bool(projected.calendars_keep_rules and schedule.waiting[0, window].sum() == 0),
            "meets_target": meets_target(schedule, projected, resolved.target_utilization, report),
        })
    return rows


def _why_no_chair_count(projected: Projected, resolved: Resolved) -> str:
    if not projected.calendars_keep_rules:
        return "no chair count keeps the induction rules: " + "; ".join(projected.calendar_problems)
    return (f"even {MAX_CHAIRS} chairs do not keep booked utilization at or below "
            f"{resolved.target_utilization:.0%} with these hours and days")


# -- reporting -----------------------------------------------------------------------------------

@dataclass
class _Report:
    start: dt.date
    offset: int  # index of `start` in the simulated days
    horizon: int
    # per reported week, the closed holidays that shorten it (holidays.weeks_around_closures); such a week is not
    # held to the target, unless every week is (see held)
    around: tuple[tuple[str, ...], ...] = ()

    def for_scenario(self, resolved: Resolved, as_of: dt.date) -> "_Report":
        """The same weeks, with the closed holidays that shorten them for this scenario's open days (opening one
        more weekday can make a holiday the week's last open day, or no longer its first)."""
        around = weeks_around_closures(self.start, self.horizon, resolved.closed_on, resolved.open_days, since=as_of)
        return dataclasses.replace(self, around=tuple(around))

    @property
    def week_closures(self) -> tuple[tuple[str, ...], ...]:
        """`around`, one entry per reported week (none given: no week is shortened)."""
        return self.around or ((),) * self.horizon

    @property
    def held(self) -> tuple[bool, ...]:
        """Per reported week, whether the target applies to it. A week around a closed holiday is a day short
        (or takes the sessions of a closed day next to it): one such week is met with longer hours that week or
        bookings moved, not with chairs bought for it, so the fewest chairs, meets_target and the alternatives
        read the other weeks. When every week is around a closure (a short plan at Christmas), all count.
        A trial that opens one more weekday (one_more_day) reads its own (for_scenario)."""
        held = tuple(not names for names in self.week_closures)
        return held if any(held) else (True,) * self.horizon

    @property
    def window(self) -> slice:
        return slice(self.offset, self.offset + 7 * self.horizon)

    def _week_slices(self):
        for w in range(self.horizon):
            yield w, slice(self.offset + 7 * w, self.offset + 7 * (w + 1))

    def weekly_booked_utilization(self, schedule: Schedule) -> list[float | None]:
        """Each reported week's booked utilization, None for a week the target does not apply to (held)."""
        available = schedule.capacity.available_units()
        served = schedule.served.sum(axis=0)
        held = self.held
        out = []
        for w, days in self._week_slices():
            a = int(available[days].sum())
            out.append(int(served[days].sum()) / a if a > 0 and held[w] else None)
        return out

    def weeks(self, schedule: Schedule, projected: dict[str, Projected], forecast: NewCourseForecast,
              upper: Schedule, interval: float, noise: float | None) -> list[dict]:
        z = normal_quantile(interval)
        # Ratios from whole hundredths of a minute, so they keep the simulator's exact monotonicity.
        available_units = schedule.capacity.available_units()
        served_units = schedule.served.sum(axis=0)
        upper_units = upper.served.sum(axis=0)
        available = available_units / UNITS_PER_MINUTE / 60
        treated_share = schedule.requests.treated_share
        served = served_units / UNITS_PER_MINUTE / 60
        asked = schedule.requests.units.sum(axis=0) / UNITS_PER_MINUTE / 60
        waiting = schedule.waiting / UNITS_PER_MINUTE / 60
        overflow = schedule.hour_overflow.sum(axis=1) / 60
        minutes_per_induction = _minutes_per_session(schedule.requests, 0)
        weekly_forecast = {w: i for i, w in enumerate(forecast.week_starts)}
        held, around = self.held, self.week_closures
        rows = []
        for w, days in self._week_slices():
            week_start = self.start + dt.timedelta(weeks=w)
            i = weekly_forecast[week_start]
            mean = float(projected["mean"].sessions_by_day[days].sum())
            low, high = session_interval(mean, float(projected["level_lower"].sessions_by_day[days].sum()),
                                         float(projected["level_upper"].sessions_by_day[days].sum()), noise, z)
            a = float(available[days].sum())
            a_units = int(available_units[days].sum())
            booked = int(served_units[days].sum()) / a_units if a_units > 0 else None
            booked_upper = int(upper_units[days].sum()) / a_units if a_units > 0 else None
            rows.append({
                "week_start": week_start,
                "new_courses": float(forecast.mean[i]),
                "new_courses_low": float(forecast.lower[i]),
                "new_courses_high": float(forecast.upper[i]),
                "sessions": mean,
                "sessions_low": low,
                "sessions_high": high,
                "sessions_ketamine": float(projected["mean"].sessions_by_family["ketamine"][days].sum()),
                "sessions_esketamine": float(projected["mean"].sessions_by_family["esketamine"][days].sum()),
                "requested_chair_hours": float(asked[days].sum()),
                "available_chair_hours": a,
                "booked_chair_hours": float(served[days].sum()),
                "occupied_chair_hours": float(served[days].sum() * treated_share),
                "utilization": booked * treated_share if booked is not None else None,
                "booked_utilization": booked,
                "utilization_upper": booked_upper * treated_share if booked_upper is not None else None,
                # the measure the target is set on, at the top of the demand interval (utilization_upper is the
                # treated share of it: drawn beside booked utilization it made more demand look lower)
                "booked_utilization_upper": booked_upper,
                "overflow_chair_hours": float(overflow[days].sum()),
                "carried_chair_hours": float(waiting[:, days.stop - 1].sum()),
                "delayed_induction_sessions": float(
                    (schedule.waiting[0, days].sum() / UNITS_PER_MINUTE) / minutes_per_induction
                ) if minutes_per_induction else 0.0,
                "mean_wait_days": float(schedule.first_wait_mean[days].mean()),
                "max_wait_days": float(schedule.first_wait_max[days].max()),
                # the closed holidays that shorten this week, and whether the target applies to it (held)
                "around_holidays": list(around[w]),
                "held_to_target": held[w],
            })
        return rows

    def weekday_hours(self, schedule: Schedule) -> list[dict]:
        days = self.window
        weekday = schedule.capacity.weekdays()[days]
        cap = schedule.capacity.hour_capacity_minutes()[days]
        served = schedule.hour_served[days] * schedule.requests.treated_share
        overflow = schedule.hour_overflow[days]
        rows = []
        for d in range(7):
            mask = weekday == d
            for h in range(24):
                available = float(cap[mask, h].sum())
                wanted = float(overflow[mask, h].sum())
                if available == 0 and wanted == 0:
                    continue
                occupied = float(served[mask, h].sum())
                rows.append({
                    "weekday": d + 1, "weekday_name": WEEKDAYS[d], "hour": h,
                    "available_chair_hours": available / 60, "occupied_chair_hours": occupied / 60,
                    "utilization": occupied / available if available > 0 else None,
                    "overflow_chair_hours": wanted / 60,
                })
        return rows

    def summary(self, schedule: Schedule, projected: Projected, resolved: Resolved, weeks: list[dict]) -> dict:
        days = self.window
        available = int(schedule.capacity.available_units()[days].sum())
        served = int(schedule.served[:, days].sum())
        # the peaks the target reads: weeks around a closed holiday are reported apart (weeks_around_holidays)
        booked = [w["booked_utilization"] for w in weeks if w["booked_utilization"] is not None and w["held_to_target"]]
        actual = [w["utilization"] for w in weeks if w["utilization"] is not None and w["held_to_target"]]
        waits = schedule.first_wait_mean[days]
        hours = self.weekday_hours(schedule)
        peak = max(hours, key=lambda r: r["overflow_chair_hours"], default=None)
        rules_kept = projected.calendars_keep_rules and schedule.waiting[0, days].sum() == 0
        problems = list(projected.calendar_problems)
        if schedule.waiting[0, days].sum() > 0:
            problems.append("some induction sessions wait past their day: not enough chair time")
        peak_booked = max(booked) if booked else None
        return {
            "chairs": resolved.chairs,
            "new_patients_per_week": float(np.mean([w["new_courses"] for w in weeks])),
            "sessions_per_week": float(np.mean([w["sessions"] for w in weeks])),
            "utilization": (served / available) * schedule.requests.treated_share if available else None,
            "booked_utilization": served / available if available else None,
            "peak_week_utilization": max(actual) if actual else None,
            "peak_week_booked_utilization": peak_booked,
            "target_utilization": resolved.target_utilization,
            "meets_target": bool(rules_kept and peak_booked is not None
                                 and peak_booked <= resolved.target_utilization),
            "weeks_around_holidays": [
                {"week_start": w["week_start"], "holidays": w["around_holidays"],
                 "booked_utilization": w["booked_utilization"]}
                for w in weeks if not w["held_to_target"]],
            "overflow_chair_hours": float(schedule.hour_overflow[days].sum() / 60),
            "peak_overflow": None if peak is None or peak["overflow_chair_hours"] == 0 else {
                "weekday": peak["weekday_name"], "hour": peak["hour"],
                "chair_hours": peak["overflow_chair_hours"],
                # overflow belongs to the hour the chair time wanted, which may be outside the scenario's hours
                # ("most on Thu 15:00" for a clinic open 10:00-15:00 read as a full 15:00 hour)
                "closed": _hour_closed(peak["hour"], resolved.opens_at, resolved.closes_at),
            },
            "carried_chair_hours_at_end": float(schedule.waiting[:, days.stop - 1].sum() / UNITS_PER_MINUTE / 60),
            "mean_wait_days": float(waits.mean()),
            "p90_wait_days": float(np.percentile(waits, 90, method="higher")),  # an order statistic
            "max_wait_days": float(schedule.first_wait_max[days].max()),
            "waits_censored": bool(schedule.first_wait_censored[days].any()),
            "induction_rules_met": bool(rules_kept),
            "induction_problems": problems,
        }


def busy_day_share(schedule: Schedule, window: slice, spread: float | None) -> float | None:
    """The share of the plan's open days on which the chair time asked for would be more than the chairs give,
    if each day's ask varied around the plan's (average) day as the clinic's own days did: normal, with a
    standard deviation of `spread` times the ask (metrics.plan_daily_spread). None without a spread."""
    if spread is None:
        return None
    available = schedule.capacity.available_units()[window].astype(float)
    asked = schedule.wanting[window].astype(float)
    open_ = available > 0
    if not open_.any():
        return None
    available, asked = available[open_], asked[open_]
    if spread <= 0:
        return float(np.mean(asked > available))
    sd = spread * asked
    over = np.zeros(len(asked))
    some = sd > 0
    z = (available[some] - asked[some]) / sd[some]
    over[some] = 0.5 * np.array([math.erfc(x / math.sqrt(2)) for x in z])
    return float(over.mean())


def _minutes_per_session(requests, cls: int) -> float:
    sessions = float(requests.sessions[cls].sum())
    return float(requests.units[cls].sum()) / UNITS_PER_MINUTE / sessions if sessions > 0 else 0.0


def horizon_from_text(text: str) -> int:
    """'13w', '13' -> 13 weeks."""
    raw = text.strip().lower()
    raw = raw[:-1] if raw.endswith("w") else raw
    if not raw.isdigit() or not 1 <= int(raw) <= 52:
        raise UsageError(f"horizon {text!r} must be a number of weeks from 1 to 52, e.g. 13w")
    return int(raw)

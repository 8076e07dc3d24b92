"""Back-test: forecast each held-out past quarter from the data before it, and score it.

For each origin (a Monday) and clinic, the plan's session projection (forecast of new courses through
the observed protocol, before any capacity limit: what will be asked for) is made from data before the
origin only, and compared with the treated sessions that actually happened in each of the next
`horizon_weeks` weeks (metrics.plan_weekly_sessions). In the same run, two naive forecasts:

- "last quarter's mean": every week = the mean weekly sessions of the 13 weeks before the origin;
- "last quarter copied": week i = week i of the 13 weeks before the origin.

Errors per clinic and week: MAPE (mean of |forecast - actual| / actual over clinic-weeks with sessions)
and WAPE (sum of |forecast - actual| / sum of actual); also the bias (sum of forecast - actual over sum
of actual) and how often the actual week fell inside the plan's prediction interval, for its sessions
and for its new courses (metrics.plan_weekly_new_courses).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from pipelines.plan.demand import forecast_network, forecast_new_courses, normal_quantile
from pipelines.plan.engine import DEFAULT_INTERVAL
from pipelines.plan.inputs import read_inputs, weekly_new_courses
from pipelines.plan.projection import Protocol, courses_under_way, project, session_interval, weekly_noise
from pipelines.plan.protocol import weekday_pattern

METHODS = ("plan", "naive_last_quarter_mean", "naive_last_quarter_copy")


@dataclass
class BacktestRow:
    origin: dt.date
    clinic_id: str
    week_start: dt.date
    actual: float
    forecasts: dict[str, float]
    low: float
    high: float
    # the week's new courses (all modalities) and the plan's interval of them
    new_courses: float = 0.0
    new_courses_low: float = 0.0
    new_courses_high: float = 0.0


@dataclass
class BacktestResult:
    horizon_weeks: int
    rows: list[BacktestRow] = field(default_factory=list)
    seconds: float = 0.0

    def scores(self, rows: list[BacktestRow] | None = None) -> dict[str, dict[str, float]]:
        rows = self.rows if rows is None else rows
        actual = np.array([r.actual for r in rows])
        positive = actual > 0
        out = {}
        for method in METHODS:
            fc = np.array([r.forecasts[method] for r in rows])
            err = fc - actual
            out[method] = {
                "mape": float(np.mean(np.abs(err[positive]) / actual[positive])) if positive.any() else None,
                "wape": float(np.abs(err).sum() / actual.sum()) if actual.sum() > 0 else None,
                "bias": float(err.sum() / actual.sum()) if actual.sum() > 0 else None,
            }
        out["plan"]["interval_coverage"] = _coverage(rows, "actual", "low", "high")
        out["plan"]["new_courses_interval_coverage"] = _coverage(rows, "new_courses", "new_courses_low",
                                                                 "new_courses_high")
        return out

    def scores_by_origin(self) -> dict[dt.date, dict]:
        origins = sorted({r.origin for r in self.rows})
        return {o: self.scores([r for r in self.rows if r.origin == o]) for o in origins}

    def clinic_weeks(self) -> int:
        return len(self.rows)


def _coverage(rows: list[BacktestRow], actual: str, low: str, high: str) -> float | None:
    """The share of rows whose actual value lies inside their interval (bounds included)."""
    if not rows:
        return None
    value, lo, hi = (np.array([getattr(r, name) for r in rows]) for name in (actual, low, high))
    return float(np.mean((value >= lo) & (value <= hi)))


def quarterly_origins(con, horizon_weeks: int = 13, min_history_weeks: int = 52) -> list[dt.date]:
    """Mondays every `horizon_weeks` weeks, counted back from the last complete held-out quarter, with at
    least `min_history_weeks` weeks of data before each."""
    first, last = con.execute("SELECT start_date, end_date FROM metrics.data_period()").fetchone()
    # the last complete week ends on the last Sunday on or before the data's last day
    last_sunday = last if last.weekday() == 6 else last - dt.timedelta(days=last.weekday() + 1)
    origin = last_sunday - dt.timedelta(days=6) - dt.timedelta(weeks=horizon_weeks - 1)
    earliest = first + dt.timedelta(weeks=min_history_weeks)
    origins = []
    while origin >= earliest:
        origins.append(origin)
        origin -= dt.timedelta(weeks=horizon_weeks)
    return sorted(origins)


def run_backtest(con, origins: list[dt.date], horizon_weeks: int = 13, clinics: list[str] | None = None,
                 interval: float = DEFAULT_INTERVAL, progress=None) -> BacktestResult:
    import time

    started = time.perf_counter()
    result = BacktestResult(horizon_weeks=horizon_weeks)
    if clinics is None:
        clinics = [r[0] for r in con.execute("SELECT DISTINCT clinic_id FROM marts.clinic_capacity ORDER BY 1").fetchall()]
    for origin in origins:
        if origin.weekday() != 0:
            raise ValueError(f"origin {origin} is not a Monday")
        inputs = read_inputs(con, clinics, origin)
        weekly = _weekly_sessions(con, clinics, origin - dt.timedelta(weeks=13), origin + dt.timedelta(weeks=horizon_weeks))
        held_out_new = {  # the held-out weeks' new courses: the weekly series as of the quarter's end
            (clinic, week): n
            for clinic, (weeks_, counts) in weekly_new_courses(con, origin + dt.timedelta(weeks=horizon_weeks)).items()
            for week, n in zip(weeks_, counts) if week >= origin
        }
        network = next(iter(inputs.values())).forecast_history()[1] if inputs else np.zeros(0)
        net = forecast_network(network, horizon_weeks) if len(network) else None
        for clinic in clinics:
            ins = inputs[clinic]
            if len(ins.new_courses) == 0 or ins.capacity is None:
                continue
            forecast = forecast_new_courses(*ins.forecast_history(), origin, horizon_weeks,
                                            interval=interval, network_forecast=net)
            protocol = Protocol(
                open_pattern=weekday_pattern(ins.capacity.open_days),
                modality_mix=ins.modality_mix,
                chair_minutes=ins.chair_minutes,
                no_show_rate=ins.no_show_rate,
                cancellation_rate=ins.cancellation_rate,
            )
            days = 7 * horizon_weeks
            under_way = courses_under_way(ins, origin, days, protocol)  # the same for every path
            paths = {p: project(ins, forecast, p, origin, days, protocol, under_way).sessions_by_day
                     for p in ("mean", "level_lower", "level_upper")}
            noise = weekly_noise(ins.ordinary_recent_sessions(), interval)
            past = [weekly.get((clinic, origin - dt.timedelta(weeks=13 - i)), 0.0) for i in range(13)]
            for w in range(horizon_weeks):
                week = origin + dt.timedelta(weeks=w)
                days_w = slice(7 * w, 7 * (w + 1))
                mean = float(paths["mean"][days_w].sum())
                low, high = session_interval(mean, float(paths["level_lower"][days_w].sum()),
                                             float(paths["level_upper"][days_w].sum()), noise, normal_quantile(interval))
                result.rows.append(BacktestRow(
                    origin=origin, clinic_id=clinic, week_start=week,
                    actual=weekly.get((clinic, week), 0.0),
                    forecasts={
                        "plan": mean,
                        "naive_last_quarter_mean": float(np.mean(past)),
                        "naive_last_quarter_copy": float(past[w % 13]),
                    },
                    low=low, high=high,
                    new_courses=held_out_new.get((clinic, week), 0.0),
                    new_courses_low=float(forecast.lower[w]), new_courses_high=float(forecast.upper[w]),
                ))
        if progress:
            progress(origin, result)
    result.seconds = time.perf_counter() - started
    return result


def _weekly_sessions(con, clinics: list[str], start: dt.date, end: dt.date) -> dict[tuple[str, dt.date], float]:
    rows = con.execute(
        "SELECT clinic_id, week_start, treated_sessions FROM metrics.plan_weekly_sessions("
        "clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE)",
        [clinics, start, end - dt.timedelta(days=1)],
    ).fetchall()
    return {(c, w): float(n) for c, w, n in rows}

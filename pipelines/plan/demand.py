"""Forecast of new courses per clinic per week, with a prediction interval.

Weekly new courses at one clinic are small counts (tens a week) whose week-to-week noise hides
trend and seasonality; the network total is a much smoother series. So the forecast is top-down:

1. the network's weekly new courses (all clinics of the warehouse) are modelled on the log scale with
   statsmodels' UnobservedComponents: a smooth trend plus a yearly cycle (two harmonics of 52.18 weeks)
   when there are at least two years of history; with half a year to two years, a local level only
   (under two years a trend cannot be told apart from the season, and extrapolating it does harm);
   below that, the recent mean;
2. the clinic's forecast is its share of the network over the last `share_weeks` weeks times the
   network forecast;
3. the interval of one week combines the network model's interval with the clinic's own
   week-to-week spread around its recent mean, as a prediction interval for one new week (Student's
   t, see `new_week_interval`), clipped at 0. The narrower interval of the level (what sessions
   inherit) uses the scatter around the clinic's share instead, divided by the weeks it was
   estimated from.

statsmodels is imported only when a model is fitted.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

YEAR_WEEKS = 52.18
SEASONAL_MIN_WEEKS = 104  # two yearly cycles before a yearly pattern is estimated
TREND_MIN_WEEKS = 26
SHARE_WEEKS = 13
SCATTER_WEEKS = 26


@dataclass(frozen=True)
class NewCourseForecast:
    """Weekly new courses for the weeks starting at `week_starts` (Mondays)."""

    week_starts: tuple[dt.date, ...]
    mean: np.ndarray
    lower: np.ndarray  # the interval of one week's count
    upper: np.ndarray
    interval: float
    method: str
    history_weeks: int
    # The interval of the expected count (the level): what sessions inherit, since one week's chance
    # ups and downs of new patients average out over the weeks a course lasts. Defaults to lower/upper.
    level_lower: np.ndarray | None = None
    level_upper: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.level_lower is None:
            object.__setattr__(self, "level_lower", self.lower)
        if self.level_upper is None:
            object.__setattr__(self, "level_upper", self.upper)

    def scaled(self, factor: float) -> "NewCourseForecast":
        return NewCourseForecast(self.week_starts, self.mean * factor, self.lower * factor, self.upper * factor,
                                 self.interval, f"{self.method} x {factor:g}", self.history_weeks,
                                 self.level_lower * factor, self.level_upper * factor)

    @classmethod
    def flat(cls, week_starts: tuple[dt.date, ...], per_week: float) -> "NewCourseForecast":
        """A given number of new patients every week (a scenario, not a forecast): no interval."""
        values = np.full(len(week_starts), float(per_week))
        return cls(week_starts, values, values.copy(), values.copy(), 0.0, "scenario: fixed new patients per week", 0)


@dataclass(frozen=True)
class NetworkForecast:
    mean: np.ndarray
    log_se: np.ndarray  # standard error on the log scale, per week
    method: str


def normal_quantile(interval: float) -> float:
    """z of a two-sided normal `interval` (1.28 at 0.8; 0 at 0, no interval)."""
    return NormalDist().inv_cdf(0.5 + interval / 2)


def new_week_interval(recent: np.ndarray, interval: float) -> tuple[float, float]:
    """(quantile, standard deviation) of the textbook prediction interval for one new week from the
    `recent` weeks (n of them, at least 2): Student's t with n - 1 degrees of freedom, and s x sqrt(1 + 1/n)
    with s their standard deviation around their mean. Both widen the naive z x s: s is estimated from
    few weeks, and the new week varies around a mean that is itself estimated (10% wider at 13 weeks and
    80%). tests/pipelines/test_plan_interval.py checks the coverage on weeks of a known distribution."""
    from scipy.stats import t  # on first use, like statsmodels below: scipy.stats takes 0.6 s to import

    values = np.asarray(recent, dtype=float)
    n = len(values)
    return float(t.ppf(0.5 + interval / 2, n - 1)), float(np.std(values, ddof=1) * np.sqrt(1 + 1 / n))


def forecast_new_courses(
    clinic_history: np.ndarray,
    network_history: np.ndarray,
    first_week: dt.date,
    horizon_weeks: int,
    interval: float = 0.8,
    share_weeks: int = SHARE_WEEKS,
    network_forecast: "NetworkForecast | None" = None,
) -> NewCourseForecast:
    """Forecast `horizon_weeks` weeks from `first_week` (the week after the last complete history week).

    Both histories are weekly counts ending with the last complete week before the forecast, aligned
    to the same weeks (the network's may be longer at its start; only the common tail is used for the
    share). Needs at least one week of history. `network_forecast` (from `forecast_network` on the same
    network history and horizon) saves refitting the network model for every clinic."""
    clinic = np.asarray(clinic_history, dtype=float)
    network = np.asarray(network_history, dtype=float)
    if len(clinic) == 0 or len(network) == 0:
        raise ValueError("no complete week of history to forecast from")
    weeks = tuple(first_week + dt.timedelta(weeks=i) for i in range(horizon_weeks))
    net = network_forecast if network_forecast is not None else forecast_network(network, horizon_weeks)
    if len(net.mean) < horizon_weeks:
        raise ValueError("the network forecast is shorter than the horizon")
    k = min(share_weeks, len(clinic), len(network))
    network_recent = network[-k:].sum()
    share = clinic[-k:].sum() / network_recent if network_recent > 0 else 0.0
    mean = share * net.mean[:horizon_weeks]

    # Clinic scatter: how far its weekly counts stray from share x network (Poisson noise, local events).
    m = min(SCATTER_WEEKS, len(clinic), len(network))
    residuals = clinic[-m:] - share * network[-m:]
    scatter = float(np.var(residuals, ddof=1)) if m >= 3 else float(max(mean.mean(), 1.0))
    z = normal_quantile(interval)
    network_sd = share * net.mean[:horizon_weeks] * net.log_se[:horizon_weeks]  # delta method
    if k >= 3:
        # One week's count: its spread around the recent mean carries the level's own miss, as the
        # sessions interval does (projection.weekly_noise). The scatter around share x network alone,
        # with a normal quantile, held 74.5% of 6,500 held-out clinic-weeks for a nominal 80%.
        quantile, week_sd = new_week_interval(clinic[-k:], interval)
        half_width = quantile * np.sqrt(network_sd ** 2 + week_sd ** 2)
    else:
        half_width = z * np.sqrt(network_sd ** 2 + scatter)
    # the level: the network's uncertainty plus that of the share, estimated from k weeks
    level_half_width = z * np.sqrt(network_sd ** 2 + scatter / k)
    return NewCourseForecast(
        week_starts=weeks,
        mean=mean,
        lower=np.maximum(mean - half_width, 0.0),
        upper=mean + half_width,
        interval=interval,
        method=f"{net.method}, times the clinic's share of the last {k} weeks",
        history_weeks=len(clinic),
        level_lower=np.maximum(mean - level_half_width, 0.0),
        level_upper=mean + level_half_width,
    )


def forecast_network(history: np.ndarray, horizon: int) -> NetworkForecast:
    n = len(history)
    if n >= TREND_MIN_WEEKS:
        seasonal = n >= SEASONAL_MIN_WEEKS
        try:
            return _unobserved_components(history, horizon, seasonal)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:  # pragma: no cover - rare
            warnings.warn(f"network model failed ({exc}); using the recent mean", RuntimeWarning, stacklevel=2)
    return _recent_mean(history, horizon)


def _unobserved_components(history: np.ndarray, horizon: int, seasonal: bool) -> NetworkForecast:
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    y = np.log(history + 0.5)  # counts can be 0 in a tiny network
    if seasonal:
        model = UnobservedComponents(y, level="smooth trend",
                                     freq_seasonal=[{"period": YEAR_WEEKS, "harmonics": 2}])
    else:
        model = UnobservedComponents(y, level="local level")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a bad fit shows in the back-test
        result = model.fit(disp=False, maxiter=200)
    forecast = result.get_forecast(horizon)
    log_mean = np.asarray(forecast.predicted_mean, dtype=float)
    log_se = np.sqrt(np.asarray(forecast.var_pred_mean, dtype=float))
    if not (np.all(np.isfinite(log_mean)) and np.all(np.isfinite(log_se))):
        raise ValueError("non-finite forecast")
    # words for a footnote a board reads (the model is statsmodels' UnobservedComponents, docs/planning.md)
    method = ("network new patients as a smooth trend with a yearly cycle" if seasonal
              else "network new patients as a slowly moving local level")
    return NetworkForecast(np.maximum(np.exp(log_mean) - 0.5, 0.0), log_se, method)


def _recent_mean(history: np.ndarray, horizon: int) -> NetworkForecast:
    recent = history[-SHARE_WEEKS:]
    level = float(recent.mean())
    sd = float(recent.std(ddof=1)) if len(recent) >= 3 else math.sqrt(max(level, 1.0))
    # uncertainty of the level plus a new week's scatter, on the log scale
    log_se = math.sqrt(sd ** 2 / len(recent) + sd ** 2) / max(level, 0.5)
    return NetworkForecast(np.full(horizon, level), np.full(horizon, log_se),
                            f"network mean of the last {len(recent)} weeks (short history)")

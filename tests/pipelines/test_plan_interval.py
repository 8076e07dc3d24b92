"""The plan's prediction intervals of one week: its new courses (demand.forecast_new_courses) and its
sessions (projection.weekly_noise, session_interval), both built on demand.new_week_interval.

The interval claims a coverage (80% by default); these tests check the claim where it can be checked
exactly: weeks drawn from a known distribution, the interval built from the 13 recent ones, and how
often it holds the next one."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pipelines.plan.demand import forecast_new_courses, new_week_interval
from pipelines.plan.projection import session_interval, weekly_noise


def _coverage(interval: float, n: int, draws: int = 40_000, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    weeks = rng.normal(100.0, 12.0, size=(draws, n + 1))
    held = 0
    for row in weeks:
        recent, new = row[:n], row[n]
        half = weekly_noise(recent, interval)
        held += abs(new - recent.mean()) <= half
    return held / draws


@pytest.mark.parametrize("interval", [0.8, 0.95])
def test_the_interval_holds_a_new_week_as_often_as_it_claims(interval):
    # 40,000 draws: the binomial standard error is 0.2 points at 80%, so 1 point is a wide margin.
    assert _coverage(interval, n=13) == pytest.approx(interval, abs=0.01)


def test_a_normal_quantile_of_the_spread_alone_would_be_too_narrow():
    """What the interval used before: z x s. With 13 weeks it holds clearly less than 80%."""
    rng = np.random.default_rng(3)
    weeks = rng.normal(100.0, 12.0, size=(20_000, 14))
    s = weeks[:, :13].std(axis=1, ddof=1)
    held = np.abs(weeks[:, 13] - weeks[:, :13].mean(axis=1)) <= 1.2816 * s
    assert held.mean() < 0.77
    widened = np.array([weekly_noise(row[:13], 0.8) for row in weeks[:2000]])
    assert np.all(widened > 1.2816 * s[:2000] * 1.09)  # t(12) and sqrt(1 + 1/13): about 10% wider


def test_fewer_than_four_weeks_leave_the_scatter_unknown():
    assert weekly_noise(np.array([10.0, 12.0, 9.0]), 0.8) is None
    assert weekly_noise(np.array([10.0, 12.0, 9.0, 11.0]), 0.8) > 0


def test_no_interval_means_no_noise():
    assert weekly_noise(np.array([10.0, 12.0, 9.0, 11.0, 14.0]), 0.0) == 0.0


def test_session_interval_combines_the_level_and_the_week_and_falls_back_to_poisson():
    low, high = session_interval(100.0, 90.0, 112.0, 5.0, 1.2816)
    assert low == pytest.approx(100.0 - np.hypot(10.0, 5.0))
    assert high == pytest.approx(100.0 + np.hypot(12.0, 5.0))
    low, high = session_interval(100.0, 100.0, 100.0, None, 1.2816)
    assert (low, high) == pytest.approx((100.0 - 12.816, 100.0 + 12.816))
    assert session_interval(1.0, 0.0, 3.0, 10.0, 1.2816)[0] == 0.0  # never below zero


def test_new_week_interval_is_students_t_and_the_spread_of_a_new_observation():
    recent = np.array([28.0, 31, 35, 30, 26, 33, 29, 32, 27, 34, 30, 31, 29])
    quantile, sd = new_week_interval(recent, 0.8)
    assert quantile == pytest.approx(1.3562, abs=1e-4)  # t(0.90; 12 degrees of freedom), from tables
    assert sd == pytest.approx(np.std(recent, ddof=1) * np.sqrt(14 / 13))


def test_the_new_course_interval_of_a_week_holds_it_as_often_as_it_claims():
    """A clinic with a steady 30 new patients a week (Poisson) in a network of 300: 3,000 draws of 20
    weeks of history and the week after. The old interval (the scatter around the clinic's share, normal
    quantile) held 77.0% of them; this one holds 81.0% (the network's own uncertainty adds a little)."""
    rng = np.random.default_rng(1)
    held = 0
    for _ in range(3000):
        clinic = rng.poisson(30, 21).astype(float)
        network = clinic + rng.poisson(270, 21)
        f = forecast_new_courses(clinic[:20], network[:20], dt.date(2026, 3, 2), 1)
        held += f.lower[0] <= clinic[20] <= f.upper[0]
    assert 0.785 <= held / 3000 <= 0.84

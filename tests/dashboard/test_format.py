import datetime as dt
import math

from dashboard import format as fmt


def test_rate_with_interval_and_n():
    assert fmt.pct_ci(0.58, 0.54, 0.62, 412) == "58% (54–62%, n=412)"


def test_small_rates_keep_a_decimal():
    assert fmt.pct_ci(0.011, 0.0099, 0.0121, 34736) == "1.1% (1.0–1.2%, n=34,736)"


def test_no_rate_says_so_with_its_n():
    assert fmt.pct_ci(None, None, None, 0) == "— (n=0)"
    assert fmt.pct_ci(math.nan, math.nan, math.nan, 0) == "— (n=0)"


def test_rate_without_interval():
    assert fmt.pct_ci(0.5, None, None, 2) == "50% (n=2)"


def test_counts_and_days():
    assert fmt.count(1234567) == "1,234,567"
    assert fmt.count(None) == "—"
    assert fmt.days(39.0) == "39 days"
    assert fmt.days(38.5) == "38.5 days"


def test_periods_read_as_words():
    assert fmt.period(dt.date(2026, 4, 1), dt.date(2026, 6, 30)) == "1 Apr – 30 Jun 2026"
    assert fmt.period(dt.date(2026, 6, 1), dt.date(2026, 6, 30)) == "June 2026"
    assert fmt.period(dt.date(2025, 12, 15), dt.date(2026, 1, 14)) == "15 Dec 2025 – 14 Jan 2026"
    assert fmt.period(None, None) == "all data"


def test_signed_points():
    assert fmt.signed_points(0.031) == "+3.1 pts"
    assert fmt.signed_points(-0.031) == "−3.1 pts"


def test_rate_with_interval_only():
    assert fmt.pct_interval(0.41, 0.39, 0.44) == "41% (39–44%)"
    assert fmt.pct_interval(None, None, None) == "—"


def test_with_interval_gives_the_value_and_its_interval_or_the_value_alone():
    assert fmt.with_interval(2.1, 1.9, 2.32, 2) == "2.10 (95% CI 1.90–2.32)"
    assert fmt.with_interval(2.1, None, 2.32, 2) == "2.10"
    assert fmt.with_interval(2.1, float("nan"), float("nan")) == "2.1"


def test_a_share_keeps_a_decimal_under_ten_percent_and_none_for_nothing():
    """"0%" beside a clinic whose chairs were all in use for 20 minutes of a quarter said it never was."""
    assert fmt.share(0.4213) == "42%"
    assert fmt.share(0.004) == "0.4%"
    assert fmt.share(0.0) == "0%"
    assert fmt.share(None) == "—"

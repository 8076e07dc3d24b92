"""The statistics in SQL, cross-checked against reference libraries (tests only): Wilson intervals
against statsmodels, Student's t against scipy, exact binomial funnel limits against scipy.stats.binom;
and the clinic comparison built on the same definitions as the rates."""

import random

import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from sql_fixture import ketamine_course, shift


@pytest.fixture(scope="module")
def con():
    from sql_fixture import Warehouse

    w = Warehouse().build()
    yield w.con
    w.con.close()


WILSON_CASES = [(0, 1), (1, 1), (0, 10), (10, 10), (3, 7), (62, 100), (31, 100), (1, 1000), (999, 1000),
                (5000, 12345), (17, 18)]


@pytest.mark.parametrize("x, n", WILSON_CASES)
def test_wilson_matches_statsmodels(con, x, n):
    low, high = con.execute("SELECT metrics.wilson_low(?, ?), metrics.wilson_high(?, ?)", [x, n, x, n]).fetchone()
    ref_low, ref_high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert low == pytest.approx(max(ref_low, 0.0), abs=1e-12)
    assert high == pytest.approx(min(ref_high, 1.0), abs=1e-12)


def test_wilson_and_rate_are_null_without_a_denominator(con):
    assert con.execute("SELECT metrics.wilson_low(0, 0), metrics.wilson_high(0, 0), metrics.rate(0, 0)").fetchone() \
        == (None, None, None)


@pytest.mark.parametrize("df", [1, 2, 5, 29, 30, 31, 40, 100, 1000, 100000])
def test_t975_matches_scipy(con, df):
    assert con.execute("SELECT metrics.t975(?)", [df]).fetchone()[0] == pytest.approx(stats.t.ppf(0.975, df), abs=1e-6)


def _exact_poisson(x):
    low = 0.0 if x == 0 else stats.chi2.ppf(0.025, 2 * x) / 2
    return low, stats.chi2.ppf(0.975, 2 * x + 2) / 2


@pytest.mark.parametrize("x", [0, 1, 2, 5, 29, 30, 31, 32, 100, 1000, 100000])
def test_poisson_interval_matches_the_exact_one(con, x):
    """Exact up to 30 events, Byar's approximation above: within 0.02% of the chi-square interval."""
    low, high = con.execute("SELECT metrics.poisson_low(?), metrics.poisson_high(?)", [x, x]).fetchone()
    ref_low, ref_high = _exact_poisson(x)
    tolerance = 1e-9 if x <= 30 else 2e-4
    assert high == pytest.approx(ref_high, rel=tolerance)
    assert low == pytest.approx(ref_low, rel=tolerance, abs=1e-12)
    assert low <= x <= high


def test_poisson_interval_is_null_for_no_or_a_negative_count(con):
    assert con.execute("SELECT metrics.poisson_low(NULL), metrics.poisson_high(NULL), "
                       "metrics.poisson_low(-1), metrics.poisson_high(-1)").fetchone() == (None, None, None, None)


def test_t975_is_null_without_degrees_of_freedom(con):
    assert con.execute("SELECT metrics.t975(0)").fetchone()[0] is None


def limits(con, p, ns):
    return {r[0]: r[1:] for r in con.execute(
        "SELECT n, lower_95, upper_95, lower_998, upper_998 FROM metrics.binomial_limits(?, ?)", [p, ns]).fetchall()}


QUANTILES = (0.025, 0.975, 0.001, 0.999)


def reference_limits(p, n):
    """scipy's binom.ppf / n; where P(X <= k - 1) equals q exactly (a tie, e.g. 0.1**3 = 0.001), the
    q-quantile is k - 1 by its definition (smallest k with P(X <= k) >= q), which floating point
    may put either side: both are accepted."""
    out = []
    for q in QUANTILES:
        k = stats.binom.ppf(q, n, p)
        tie = k > 0 and abs(stats.binom.cdf(k - 1, n, p) - q) < 1e-12
        out.append({k / n, (k - 1) / n} if tie else {k / n})
    return out


def assert_limits(got, p, n):
    for value, allowed in zip(got, reference_limits(p, n)):
        assert any(value == pytest.approx(a, abs=1e-12) for a in allowed), (p, n, got)


@pytest.mark.parametrize("p", [0.0123, 0.05, 0.2, 0.5, 0.55, 0.9, 0.999])
def test_binomial_limits_match_scipy(con, p):
    ns = [1, 2, 3, 5, 8, 13, 20, 37, 50, 99, 100, 250, 1000, 4321, 20000]
    got = limits(con, p, ns)
    assert set(got) == set(ns)
    for n in ns:
        assert_limits(got[n], p, n)


def test_a_tie_takes_the_smallest_k_whose_cdf_reaches_q(con):
    # P(X <= 0) = 0.1 ** 3 = 0.001 exactly for n = 3, p = 0.9: the 0.001-quantile is 0
    assert limits(con, 0.9, [3])[3][2] == 0.0


def test_binomial_limits_on_random_rates_match_scipy(con):
    rng = random.Random(7)
    for _ in range(30):
        p = rng.uniform(0.001, 0.999)
        n = rng.randint(1, 5000)
        assert_limits(limits(con, p, [n])[n], p, n)


def test_binomial_limits_for_a_rate_of_0_or_1(con):
    assert limits(con, 0.0, [10])[10] == (0, 0, 0, 0)
    assert limits(con, 1.0, [10])[10] == (1, 1, 1, 1)


def test_funnel_limits_cover_small_n_one_by_one_and_reach_n_max(con):
    ns = [r[0] for r in con.execute("SELECT n FROM metrics.funnel_limits(0.3, 5000, points := 40) ORDER BY n").fetchall()]
    assert ns[:50] == list(range(1, 51))
    assert ns[-1] == 5000 and len(ns) == len(set(ns))


def test_clinic_comparison_uses_the_network_rate_and_each_clinics_n(wh):
    wh.clinic("OKC").clinic("TUL").clinic("NYC", tz="America/New_York")
    plan = {"OKC": [True] * 6 + [False] * 2, "TUL": [True] * 1 + [False] * 5, "NYC": []}
    i = 0
    for clinic, outcomes in plan.items():
        for responder in outcomes:
            p = f"P{i}"
            i += 1
            wh.patient(p, clinic=clinic)
            ketamine_course(wh, "2025-01-06 09:00", patient=p, clinic=clinic)
            wh.assessment(shift("2025-01-06 09:00", days=-1), 20, patient=p)
            wh.assessment(shift("2025-01-21 09:00", days=1), 8 if responder else 15, patient=p)
    wh.build()
    rows = {r["clinic_id"]: r for r in wh.rows("FROM metrics.clinic_comparison('response', for_instrument := 'PHQ9')")}
    assert set(rows) == {"OKC", "TUL", "NYC"}
    network = 7 / 14
    for clinic, outcomes in plan.items():
        row = rows[clinic]
        assert row["network_rate"] == network and row["network_n"] == 14
        n = len(outcomes)
        assert row["n"] == n
        if n:
            assert row["rate"] == sum(outcomes) / n
            assert row["lower_95"] == stats.binom.ppf(0.025, n, network) / n
            assert row["upper_998"] == stats.binom.ppf(0.999, n, network) / n
        else:
            assert row["rate"] is None and row["lower_95"] is None
    assert rows["NYC"]["n"] == 0 and rows["NYC"]["events"] == 0
    # TUL: 1 of 6 against a network rate of 1/2: below the 95% limit (1/6), inside the 99.8% one (0)
    assert rows["TUL"]["lower_95"] == 1 / 6 and rows["TUL"]["rate"] == 1 / 6 and rows["TUL"]["outside_95"] is False
    # the same figures as the rate macro gives per clinic
    okc = wh.one("FROM metrics.outcome_rates(breakdown := 'clinic') WHERE instrument = 'PHQ9' AND group_value = 'OKC'")
    assert (okc["responders"], okc["evaluable"]) == (rows["OKC"]["events"], rows["OKC"]["n"])


def test_clinic_comparison_rejects_an_unknown_measure(wh):
    wh.clinic().build()
    with pytest.raises(Exception, match="unknown measure"):
        wh.rows("FROM metrics.clinic_comparison('nonsense')")

"""dashboard.suppression on hand-made and random tables: primary and complementary suppression,
rates and derived figures, masking only, the threshold setting; checked by an independent exact
solver (tests/dashboard/disclosure.py)."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import suppression as sup
from dashboard.suppression import (
    Derived, GroupSum, Rate, RowsOf, RowSum, Steps, Suppression, TableRule, TotalRef,
)
from disclosure import determined

TH = 11


def hidden(df: pd.DataFrame, column: str) -> list[bool]:
    return df[column].isna().tolist()


def test_primary_hides_1_to_10_and_keeps_zero_and_11():
    df = pd.DataFrame({"g": list("abcd"), "n": [0, 1, 10, 11]})
    out = sup.apply(df, Suppression.table(counts=("n",)), TH)
    assert hidden(out.data, "n") == [False, True, True, False]
    assert out.primary == 2 and out.hidden == 2
    assert "1 to 10" in out.note


def test_threshold_one_shows_everything_and_input_is_not_modified():
    df = pd.DataFrame({"n": [1, 2, 3]})
    assert sup.apply(df, Suppression.table(counts=("n",)), 1).data["n"].tolist() == [1, 2, 3]
    out = sup.apply(df, Suppression.table(counts=("n",)), TH)
    assert out.data["n"].isna().all() and df["n"].tolist() == [1, 2, 3]


def test_complementary_in_a_row_sum():
    # total shown: hiding 4 alone would leave it as 100 - 60 - 36
    df = pd.DataFrame({"total": [100], "a": [60], "b": [36], "c": [4]})
    out = sup.apply(df, Suppression.table(counts=("total", "a", "b", "c"), row_sums=(RowSum("total", ("a", "b", "c")),)), TH)
    row = out.data.iloc[0]
    assert math.isnan(row["c"]) and math.isnan(row["b"])  # the next smallest goes too
    assert row["total"] == 100 and row["a"] == 60


def test_complementary_when_hidden_cells_add_up_to_a_small_count():
    df = pd.DataFrame({"total": [107], "a": [100], "b": [4], "c": [3]})
    out = sup.apply(df, Suppression.table(counts=("total", "a", "b", "c"), row_sums=(RowSum("total", ("a", "b", "c")),)), TH)
    assert out.data[["a", "b", "c"]].isna().all(axis=None)  # 4 + 3 = 7 would be worked out


def test_group_total_published_elsewhere():
    df = pd.DataFrame({"group": ["x", "y", "z"], "n": [500, 200, 7]})
    out = sup.apply(df, Suppression.table(counts=("n",), group_sums=(GroupSum("n"),)), TH)
    assert hidden(out.data, "n") == [False, True, True]


def test_rate_hidden_with_its_counts_and_for_a_small_complement():
    df = pd.DataFrame({"events": [5, 400, 820], "n": [300, 800, 828], "rate": [5 / 300, 0.5, 820 / 828],
                       "ci": [0.01, 0.45, 0.98]})
    rule = Suppression.table(counts=("events", "n"), rates=(Rate(("rate", "ci"), "events", "n"),))
    out = sup.apply(df, rule, TH).data
    assert out["rate"].isna().tolist() == [True, False, True]
    assert out["ci"].isna().tolist() == [True, False, True]
    assert out["events"].isna().tolist() == [True, False, True]  # 828 - 820 = 8 would be worked out
    assert out["n"].tolist() == [300, 800, 828]


def test_derived_hidden_with_its_basis():
    df = pd.DataFrame({"courses": [2, 40], "mean": [5.0, 9.1]})
    out = sup.apply(df, Suppression.table(counts=("courses",), derived=(Derived(("mean",), ("courses",)),)), TH).data
    assert out["mean"].isna().tolist() == [True, False]


def test_total_in_another_part():
    data = {"hist": pd.DataFrame({"bin": [0, 5, 10], "n": [300, 200, 3]}), "summary": pd.DataFrame({"n": [503]})}
    rule = Suppression.parts(hist=TableRule(counts=("n",), group_sums=(GroupSum("n", total_ref=TotalRef("summary", "n")),)),
                             summary=TableRule(counts=("n",)))
    out = sup.apply(data, rule, TH).data
    assert out["hist"]["n"].isna().tolist() == [False, True, True]
    assert out["summary"]["n"].tolist() == [503]


def test_two_way_table_needs_the_fourth_corner():
    # rows add up to row totals; columns (groups) add up to totals published elsewhere
    df = pd.DataFrame({"grp": ["a", "b", "c"], "t": [120, 130, 140], "x": [5, 60, 70], "y": [115, 70, 70]})
    rule = Suppression.table(counts=("t", "x", "y"), row_sums=(RowSum("t", ("x", "y")),),
                             group_sums=(GroupSum("x"), GroupSum("y")))
    out = sup.apply(df, rule, TH).data
    assert out.isna().sum().sum() >= 4
    check_no_small_determined(df, out, rule)


def test_steps_mask_days_between_big_enough_changes():
    km = pd.DataFrame({"days": [0, 1, 2, 3, 4], "at_risk": [100, 100, 95, 75, 60], "events": [0, 5, 20, 15, 0],
                       "censored": [0, 0, 0, 0, 60], "p": [0.0, 0.05, 0.25, 0.4, 0.4]})
    rule = Suppression.table(counts=("at_risk", "events", "censored"),
                             steps=Steps("days", "at_risk", "events", "censored", ("p",)))
    out = sup.apply(km, rule, TH).data
    shown = out[out["p"].notna()]
    assert shown["days"].tolist()[0] == 0
    assert 1 not in shown["days"].tolist()  # 5 boosters since day 0: not a day of its own
    assert 2 not in shown["days"].tolist()  # its 20 with day 1's 5 would give day 1's 5 (at risk 100 and 95)
    assert shown["days"].tolist()[1:] == [3, 4]
    for col in ("events", "censored"):
        assert not out[col].between(1, 10).any()


def test_steps_show_a_day_s_curve_without_the_counts_that_would_give_its_own_boosters_away():
    """The audit's arithmetic on a table shaped like all clinics, March 2026: 195 at risk on day 0, 11 boosters
    over days 28-30 and 4 on day 31, nobody censored. Day 31's curve (15 boosters since day 0) may be shown,
    but not beside its at-risk 184: 195 x (1 - S) - (195 - 184) = 4."""
    days = [0, 28, 29, 30, 31, 32, 33]
    events = [0, 1, 4, 6, 4, 12, 0]
    censored = [0, 0, 0, 0, 0, 0, 168]
    at_risk = [195 - sum(events[:i]) - sum(censored[:i]) for i in range(len(days))]
    survival = np.cumprod([1 - e / r for e, r in zip(events, at_risk)])
    km = pd.DataFrame({"days": days, "at_risk": at_risk, "events": events, "censored": censored, "survival": survival})
    rule = Suppression.table(counts=("at_risk", "events", "censored"),
                             steps=Steps("days", "at_risk", "events", "censored", ("survival",)))
    out = sup.apply(km, rule, TH).data.set_index("days")
    assert out.loc[31, "survival"] == pytest.approx(survival[4])  # the curve: 15 boosters by day 31
    assert pd.isna(out.loc[31, "at_risk"]) and pd.isna(out.loc[31, "events"])
    assert out.loc[[28, 29, 30]].isna().all(axis=None)  # 1, 4 and 6 boosters: no day of their own
    shown = out[out["at_risk"].notna()]
    assert not shown["events"].between(1, 10).any() and not shown["censored"].between(1, 10).any()


def test_min_cell_setting(monkeypatch):
    monkeypatch.delenv(sup.ENV_MIN_CELL, raising=False)
    assert sup.min_cell() == 11
    monkeypatch.setenv(sup.ENV_MIN_CELL, "5")
    assert sup.min_cell() == 5
    assert sup.note(5).startswith("Counts from 1 to 4")
    for bad in ("0", "-3", "eleven", "1.5"):
        monkeypatch.setenv(sup.ENV_MIN_CELL, bad)
        with pytest.raises(sup.SuppressionConfigError):
            sup.min_cell()


def test_verify_finds_a_wrong_description():
    df = pd.DataFrame({"total": [10, 20], "a": [3, 5], "b": [7, 14]})
    assert sup.verify(df, Suppression.table(counts=("total", "a", "b"), row_sums=(RowSum("total", ("a", "b")),)))
    ok = pd.DataFrame({"total": [10, 20], "a": [3, 6], "b": [7, 14]})
    assert not sup.verify(ok, Suppression.table(counts=("total", "a", "b"), row_sums=(RowSum("total", ("a", "b")),)))


# ------------------------------------------------------------------------- the independent check


def check_no_small_determined(original: pd.DataFrame, out: pd.DataFrame, rule: Suppression, th: int = TH) -> None:
    """From the shown cells and the table's sums (rows add to the total column, each column's groups to
    a total published elsewhere, rate = part0 / total), no count from 1 to th-1 can be worked out."""
    t = rule.tables[""]
    counts = [c for c in t.counts if c in original]
    unknowns = [(i, c) for i in range(len(out)) for c in counts if pd.isna(out[c].iloc[i])]
    equations: list[dict] = []
    for rs in t.row_sums:
        for i in range(len(out)):
            eq = {(i, rs.total): 1}
            for p in rs.parts:
                eq[(i, p)] = eq.get((i, p), 0) - 1
            equations.append(eq)
    for gs in t.group_sums:
        groups = original.groupby(list(gs.by)).indices.values() if gs.by else [range(len(original))]
        for rows in groups:
            total = original[gs.column].iloc[list(rows)].sum()
            if not (1 <= total < th):  # the total is shown where it is published (a small one is not)
                equations.append({(int(i), gs.column): 1 for i in rows})
    small_complements = []
    for rate in t.rates:
        for i in range(len(out)):
            comp = ("rest", i, rate.numerator)
            unknowns.append(comp)
            equations.append({(i, rate.denominator): 1, (i, rate.numerator): -1, comp: -1})
            rest = original[rate.denominator].iloc[i] - original[rate.numerator].iloc[i]
            if 1 <= rest < th:
                small_complements.append(comp)
            if pd.notna(out[rate.columns[0]].iloc[i]):  # a shown rate fixes the numerator given the denominator
                assert pd.notna(out[rate.numerator].iloc[i]) and pd.notna(out[rate.denominator].iloc[i])
    fixed = determined(equations, unknowns)
    for u in fixed:
        if u[0] == "rest":
            assert u not in small_complements, f"complement {u} can be worked out"
            continue
        i, c = u
        v = original[c].iloc[i]
        assert not (1 <= v < th), f"hidden count {c}[{i}] = {v} can be worked out"
    # shown cells: never 1..th-1, never changed
    for c in counts:
        shown = out[c].notna()
        assert not out.loc[shown, c].between(1, th - 1).any()
        assert (out.loc[shown, c].to_numpy() == original.loc[shown, c].to_numpy()).all()
    # a known total minus shown parts: the hidden parts together are 0 or >= th
    for gs in t.group_sums:
        groups = original.groupby(list(gs.by)).indices.values() if gs.by else [range(len(original))]
        for rows in groups:
            rows = list(rows)
            if 1 <= original[gs.column].iloc[rows].sum() < th:
                continue
            gone = original[gs.column].iloc[rows][out[gs.column].iloc[rows].isna().to_numpy()].sum()
            assert not (1 <= gone < th)


@st.composite
def tables(draw):
    n = draw(st.integers(1, 7))
    parts = draw(st.integers(1, 4))
    cell = st.one_of(st.integers(0, 14), st.integers(0, 400))
    values = {f"p{k}": draw(st.lists(cell, min_size=n, max_size=n)) for k in range(parts)}
    df = pd.DataFrame(values)
    df.insert(0, "grp", draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n)))
    df["total"] = df[[f"p{k}" for k in range(parts)]].sum(axis=1)
    df["rate"] = np.where(df["total"] > 0, df["p0"] / df["total"].where(df["total"] > 0, 1), np.nan)
    names = tuple(f"p{k}" for k in range(parts))
    rule = Suppression.table(
        counts=("total", *names),
        row_sums=(RowSum("total", names),),
        group_sums=tuple(GroupSum(c, ("grp",)) for c in names),
        rates=(Rate(("rate",), "p0", "total"),),
    )
    return df, rule


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([2, 5, 11, 30]))
def test_random_tables_reveal_no_small_count(case, th):
    df, rule = case
    out = sup.apply(df, rule, th)
    check_no_small_determined(df, out.data, rule, th)
    # masking only: every shown value is the original one; hidden count = what the result says
    shown = out.data.notna()
    assert (out.data[shown].fillna(0).drop(columns="grp").to_numpy() ==
            df[shown].fillna(0).drop(columns="grp").to_numpy()).all()
    # idempotent: suppressing the suppressed table hides nothing more
    again = sup.apply(out.data, rule, th)
    assert again.data.isna().sum().sum() == out.data.isna().sum().sum()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_random_histograms_against_their_total(bins):
    data = {"hist": pd.DataFrame({"b": range(len(bins)), "n": bins}), "summary": pd.DataFrame({"n": [sum(bins)]})}
    rule = Suppression.parts(hist=TableRule(counts=("n",), group_sums=(GroupSum("n", total_ref=TotalRef("summary", "n")),)),
                             summary=TableRule(counts=("n",)))
    out = sup.apply(data, rule, TH).data
    hist, total = out["hist"]["n"], out["summary"]["n"].iloc[0]
    assert not hist.between(1, 10).any()
    if pd.notna(total):
        gone = sum(b for b, h in zip(bins, hist.isna(), strict=True) if h)
        assert not (1 <= gone < TH)
        assert list(hist.isna()).count(True) != 1 or gone == 0 or not any(1 <= b < TH for b in bins)


def test_the_checker_finds_what_suppression_prevents():
    """The attacker's check of the board-pack tests is not vacuous: on unsuppressed data, and on data with
    one small cell hidden alone, it finds the count."""
    from disclosure import csv_leaks

    class Spec:
        id = "synthetic"
        suppression = Suppression.table(counts=("total", "a", "b", "c"), row_sums=(RowSum("total", ("a", "b", "c")),))

    raw = pd.DataFrame({"total": [100, 50], "a": [60, 20], "b": [36, 25], "c": [4, 5]})
    assert csv_leaks({"": raw}, {"": raw}, Spec)  # shown as they are
    lone = raw.astype(float).copy()
    lone.loc[0, "c"] = np.nan
    lone.loc[1, "c"] = np.nan
    problems = csv_leaks({"": lone}, {"": raw}, Spec)
    assert any("can be worked out" in p for p in problems)
    done = sup.apply(raw, Spec.suppression, TH).data
    assert not csv_leaks({"": done}, {"": raw}, Spec)


def test_a_complement_is_taken_from_the_totals_before_the_figures_the_chart_is_for():
    """Item 9, Q2 2026 (review): flagged at follow-up 197 = emerged 24 + persisted 164 + 9 flagged without a
    baseline answer. To protect the 9, 'emerged' (new self-harm thoughts, the figure a clinician reads first)
    was hidden beside the shown 197. The rule keeps the changes and hides the total instead: no less safe."""
    from dashboard.charts.suppression_rules import ITEM9
    from disclosure import csv_leaks

    row = {"courses_with_baseline_item9": 700, "flagged_at_baseline": 334, "courses_with_follow_up_item9": 650,
           "flagged_at_follow_up": 197, "courses_with_both": 600, "resolved": 130, "emerged": 24, "persisted": 164,
           "baseline_flag_rate": 334 / 700, "follow_up_flag_rate": 197 / 650}
    raw = pd.DataFrame([row])
    done = sup.apply(raw, ITEM9, TH).data
    assert done.loc[0, "emerged"] == 24 and done.loc[0, "persisted"] == 164 and done.loc[0, "resolved"] == 130
    assert pd.isna(done.loc[0, "flagged_at_follow_up"]) and pd.isna(done.loc[0, "follow_up_flag_rate"])

    class Spec:
        id = "outcomes.item9"
        suppression = ITEM9

    assert not csv_leaks({"": done}, {"": raw}, Spec)
    without = Suppression({"": TableRule(**{**ITEM9.tables[""].__dict__, "keep": ()})})
    assert pd.isna(sup.apply(raw, without, TH).data.loc[0, "emerged"])  # what the rule had picked before


def test_a_chart_repeating_another_chart_s_figure_hides_it_where_that_chart_does():
    """A score trajectory's n at the baseline is the outcome table's courses with a baseline, under another
    name. The table hides it (220 courses - 212 with a baseline = 2 + 6 hidden, a small 8), so the trajectory
    hides it at session 0, and only there; the table itself is never output."""
    rates = pd.DataFrame({"instrument": ["PHQ9", "GAD7"], "courses": [220, 220], "with_baseline": [212, 193],
                          "not_assessed": [2, 21], "no_baseline": [6, 6]})
    trajectory = pd.DataFrame({"instrument": ["PHQ9"] * 3, "session_number": [0, 2, 6], "n": [212, 140, 212],
                               "mean": [17.4, 10.2, 8.0]})
    rule = TableRule(counts=("n",), derived=(Derived(("mean",), ("n",)),),
                     rows_of=RowsOf("rates", ("instrument",), columns=(("n", "with_baseline"),),
                                    when=(("session_number", 0),)))
    spec = Suppression({"": rule, "rates": TableRule(
        counts=("courses", "with_baseline", "not_assessed", "no_baseline"),
        row_sums=(RowSum("courses", ("not_assessed", "no_baseline", "with_baseline")),))})
    out = sup.apply({"": trajectory, "rates": rates}, spec, TH).data
    assert isinstance(out, pd.DataFrame)  # the deciding table is not part of what is shown
    assert pd.isna(out.loc[0, "n"]) and pd.isna(out.loc[0, "mean"])
    assert out.loc[1, "n"] == 140 and out.loc[2, "n"] == 212  # session 6's 212 is not the baseline's figure
    gad = sup.apply({"": trajectory.assign(instrument="GAD7", n=[193, 130, 120]), "rates": rates}, spec, TH).data
    assert gad.loc[0, "n"] == 193  # 21 + 6 hidden add up to 27: the table shows 193, and so may the trajectory


# ------------------------------------------------------------------ the sample warehouse's real charts

FUNNELS = ("outcomes.clinic_funnel", "outcomes.remission_funnel", "outcomes.completion_funnel",
           "safety.severe_funnel", "safety.bp_funnel")


def _periods():
    import datetime as dt

    months = [(dt.date(2026, m, 1), dt.date(2026, m + 1, 1) - dt.timedelta(days=1)) for m in range(1, 6)]
    months.append((dt.date(2026, 6, 1), dt.date(2026, 6, 30)))
    quarters = [(dt.date(2025, 7, 1), dt.date(2025, 9, 30)), (dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
                (dt.date(2026, 1, 1), dt.date(2026, 3, 31)), (dt.date(2026, 4, 1), dt.date(2026, 6, 30))]
    return months + quarters


@pytest.fixture
def sample(sample_db, use_db):
    use_db(sample_db)
    return sample_db


def _selections(clinics):
    import itertools

    return [tuple(c) for k in range(1, len(clinics) + 1) for c in itertools.combinations(sorted(clinics), k)]


@pytest.mark.parametrize("chart_id", FUNNELS)
def test_funnel_exports_protect_the_clinics_left_out_of_the_selection(chart_id, sample):
    """The network totals pool every clinic the viewer may see, selected or not: January 2026, BP elevation,
    NYC + OKC showed network 30, OKC 11, NYC 13, so DEN's hidden 6. Whatever the clinics selected, and with
    every selection of a period compared (each clinic alone, each pair, all), no clinic's hidden count and
    no hidden total of the clinics left out can be worked out."""
    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope
    from disclosure import csv_leaks, funnel_leaks

    spec = catalog.get(chart_id)
    checked = 0
    for start, end in _periods():
        for indications in ((), ("mdd",), ("bipolar_depression",)):
            f = Filters(start=start, end=end, indications=indications)
            every = spec.data(Scope.everything(), f)["clinics"]
            if every.empty or not every["n"].gt(0).any():
                continue
            exports = []
            for chosen in _selections(every["clinic_id"]):
                raw = spec.data(Scope.everything(), Filters(clinics=chosen, start=start, end=end, indications=indications))
                shown = spec.suppressed(raw).data
                assert set(shown) == {"clinics", "limits"}  # the network's rows decide, and are never exported
                assert not funnel_leaks([shown["clinics"]], every), (chosen, start, indications)
                assert not csv_leaks(shown, raw, spec), (chosen, start, indications)
                exports.append(shown["clinics"])
            assert not funnel_leaks(exports, every), (start, indications)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("chart_id", FUNNELS)
def test_funnel_network_figures_do_not_depend_on_the_clinics_selected(chart_id, sample):
    """The network rate is one figure, the same beside any selection: it is hidden for one clinic's funnel only
    when the whole network's funnel hides it too (DEN alone, June 2026, hid the network remission rate, 27 of
    218, though nothing small followed from it)."""
    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope

    spec = catalog.get(chart_id)
    for start, end in _periods():
        f = Filters(start=start, end=end)
        whole = spec.suppressed(spec.data(Scope.everything(), f)).data["clinics"]
        if whole.empty:
            continue
        for chosen in _selections(whole["clinic_id"]):
            shown = spec.suppressed(spec.data(Scope.everything(), Filters(clinics=chosen, start=start, end=end))).data
            for column in ("network_events", "network_n", "network_rate"):
                assert shown["clinics"][column].isna().all() == whole[column].isna().all(), (chosen, start, column)


def _limit_candidates(shown: dict, network_n: int) -> list[int]:
    """The network counts k (of network_n) whose binomial limits match every limit the export shows: the
    audit's scan of k / network_n against the funnel's limits."""
    from scipy.stats import binom

    columns = ["n", "lower_95", "upper_95", "lower_998", "upper_998"]
    rows = [df[columns] for df in (shown["limits"], shown["clinics"]) if all(c in df for c in columns)]
    table = pd.concat(rows, ignore_index=True).dropna()
    table = table[table["n"] > 0]
    ks = np.arange(network_n + 1)
    p = ks / network_n
    ok = np.ones(len(ks), dtype=bool)
    for q, column in ((0.025, "lower_95"), (0.975, "upper_95"), (0.001, "lower_998"), (0.999, "upper_998")):
        for n, value in zip(table["n"].to_numpy(), table[column].to_numpy(), strict=True):
            with np.errstate(all="ignore"):
                limit = np.where(p <= 0, 0.0, np.where(p >= 1, 1.0, binom.ppf(q * (1 - 1e-12), int(n), p) / n))
            ok &= np.abs(limit - value) < 1e-9
    return [int(k) for k in ks[ok]]


@pytest.mark.parametrize("chart_id", FUNNELS)
def test_funnel_limits_never_give_a_hidden_network_count_away(chart_id, sample):
    """The limits are binomial quantiles of the network rate: BP elevation, DEN, Q3 2025, bipolar depression
    hid the network's 4 of 432 but kept 62 limit rows, and only k = 4 fitted them. Wherever the network rate
    is hidden, every limit goes with it, and no scan of k / network_n against what is shown narrows the
    network count down to 1..10."""
    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope

    spec = catalog.get(chart_id)
    hidden_networks = 0
    for start, end in _periods():
        for indications in ((), ("bipolar_depression",), ("ptsd",), ("postpartum_depression",)):
            every = spec.data(Scope.everything(), Filters(start=start, end=end, indications=indications))["clinics"]
            if every.empty or not every["n"].gt(0).any():
                continue
            for chosen in _selections(every["clinic_id"]):
                shown = spec.suppressed(spec.data(Scope.everything(), Filters(clinics=chosen, start=start, end=end,
                                                                             indications=indications))).data
                clinics = shown["clinics"]
                if not clinics["network_rate"].isna().all() or clinics["network_n"].isna().all():
                    continue
                hidden_networks += 1
                assert shown["limits"].drop(columns="n", errors="ignore").isna().all(axis=None)  # the grid alone
                assert clinics[["lower_95", "upper_95", "lower_998", "upper_998"]].isna().all(axis=None)
                candidates = _limit_candidates(shown, int(clinics["network_n"].iloc[0]))
                assert not all(1 <= k < TH for k in candidates), (chosen, start, indications, candidates)
    assert hidden_networks or chart_id != "safety.bp_funnel"


def test_kaplan_meier_exports_give_no_hidden_booster_count_away(sample):
    """All clinics, March 2026: day 0 at risk 195, day 31 at risk 184 and S = 0.923077 with its boosters
    hidden, nobody censored before: boosters on day 31 = 195 x (1 - S) - (195 - 184) = 4. Over all clinics
    and each clinic, months and quarters, a reader of the CSV (at-risk counts, boosters, censorings,
    survival and its interval) works out no count from 1 to 10: not a day's, not a sum over the days
    between those shown (disclosure.km_leaks: the audit's arithmetic, the at-risk sums, survival and
    Greenwood read back into courses at risk and boosters, a search over splits); and the curve is still
    drawn (some day after the start is shown) where it was."""
    import datetime as dt

    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope
    from disclosure import km_leaks

    spec = catalog.get("boosters.km")
    periods = _periods() + [(dt.date(2025, 4, 1), dt.date(2025, 6, 30))]
    checked = drawn = 0
    for clinics in ((), ("DEN",), ("NYC",), ("OKC",)):
        for start, end in periods:
            raw = spec.data(Scope.everything(), Filters(clinics=clinics, start=start, end=end))
            if raw.empty:
                continue
            shown = spec.suppressed(raw).data
            assert not km_leaks(shown, raw), (clinics, start)
            # a day's curve is never shown beside its at-risk count when its own boosters are hidden
            both = shown["survival"].notna() & shown["at_risk"].notna()
            assert not (both & shown["events"].isna() & raw["events"].notna()).any(), (clinics, start)
            checked += 1
            drawn += int(shown.loc[shown["days"] > 0, "survival"].notna().any())
    assert checked >= 30 and drawn >= checked // 2


_ITT = ("itt_courses", "itt_response_rate", "itt_response_ci_low", "itt_response_ci_high", "itt_remission_rate",
        "itt_remission_ci_low", "itt_remission_ci_high", "missed_follow_up")
_PER_PROTOCOL = ("evaluable", "settled", "provisional", "responders", "remitters", "response_rate", "response_ci_low",
                 "response_ci_high", "remission_rate", "remission_ci_low", "remission_ci_high")


@pytest.mark.parametrize("chart_id", ["outcomes.rates_by_instrument", "outcomes.evaluability"])
def test_outcome_rates_give_way_to_the_intention_to_treat_figures_first(chart_id, sample):
    """2026 Q1, all clinics: the only small number of PHQ-9 was 5 courses with no follow-up and a baseline under the
    minimum (no follow-up 314 - missed 309). itt_courses (1,191) was taken for shown while the solve ran and hidden
    only after it, so evaluable (882) went in its place, and with it the response and remission rates the board
    reads (while the funnel page of the same pack said 503 of 882). Over all clinics and each clinic, every quarter:
    no export leaks (the exact checker), and no row hides its evaluable courses and rates where showing them, with
    the intention-to-treat figures hidden instead, would leak nothing."""
    import datetime as dt

    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope
    from disclosure import csv_leaks

    spec = catalog.get(chart_id)
    quarters = [(dt.date(y, m, 1), (dt.date(y + (m == 10), (m + 3) % 12 or 12, 1) - dt.timedelta(days=1)))
                for y, m in ((2025, 1), (2025, 4), (2025, 7), (2025, 10), (2026, 1), (2026, 4))]
    rows = 0
    for clinics in ((), ("DEN",), ("NYC",), ("OKC",)):
        for start, end in quarters:
            raw = spec.data(Scope.everything(), Filters(clinics=clinics, start=start, end=end))
            shown = spec.suppressed(raw).data
            assert not csv_leaks({"": shown}, {"": raw}, spec), (clinics, start)
            for i in range(len(raw)):
                if not pd.isna(shown["response_rate"].iloc[i]) or raw["evaluable"].iloc[i] < TH:
                    continue
                rows += 1
                other = shown.copy()
                for column in _PER_PROTOCOL:
                    if column in other:
                        other[column] = other[column].astype("float64") if other[column].dtype != object else other[column]
                        other.loc[other.index[i], column] = raw[column].iloc[i]
                for column in _ITT:
                    if column in other:
                        other[column] = other[column].astype("float64")
                        other.loc[other.index[i], column] = np.nan
                assert csv_leaks({"": other}, {"": raw}, spec), (
                    f"{clinics} {start} {raw['instrument'].iloc[i]}: evaluable and the rates hidden, though showing "
                    "them with the intention-to-treat figures hidden leaks nothing")


def test_the_trajectory_never_shows_the_courses_with_a_baseline_the_outcome_table_hides(sample):
    """A board pack's outcome pages, one clinic, Q1 2026: PHQ-9 220 courses, the table hid the 212 with a baseline
    (2 not assessed + 6 without a baseline), and the trajectory said n = 212 at session 0: 220 - 212 = 8. An
    audit recovered a count from 1 to 10 that way in 49 of 60 one-clinic packs. Every clinic alone and all
    of them, every month and quarter, every instrument: the trajectory's n at the baseline is hidden wherever
    the table hides the courses with a baseline, is the table's figure where shown, and the courses minus it
    never give a hidden count from 1 to 10."""
    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope

    rates_spec, trajectory_spec = catalog.get("outcomes.rates_by_instrument"), catalog.get("outcomes.trajectory")
    compared = followed = 0
    for clinics in ((), ("DEN",), ("NYC",), ("OKC",)):
        for start, end in _periods():
            f = Filters(clinics=clinics, start=start, end=end)
            rates = rates_spec.suppressed(rates_spec.data(Scope.everything(), f)).data.set_index("instrument")
            for instrument in catalog.INSTRUMENTS:
                raw = trajectory_spec.data(Scope.everything(), f, instrument=instrument)
                shown = trajectory_spec.suppressed(raw).data
                baseline = shown[shown["session_number"] == 0]
                if baseline.empty or instrument not in rates.index:
                    continue
                compared += 1
                n, row = baseline["courses"].iloc[0], rates.loc[instrument]
                if pd.isna(row["courses_with_baseline"]):
                    assert pd.isna(n), (clinics, start, instrument)
                    followed += 1
                    continue
                assert pd.isna(n) or n == row["courses_with_baseline"], (clinics, start, instrument)
                if not pd.isna(n) and not pd.isna(row["courses"]):
                    without = row["courses"] - n  # not assessed + no baseline: both shown, or not small
                    parts_shown = not pd.isna(row["not_assessed"]) and not pd.isna(row["no_baseline"])
                    assert parts_shown or without == 0 or without >= TH, (clinics, start, instrument, without)
    assert compared >= 100 and followed >= 10  # the case the audit found is common, and covered


def test_the_audit_s_candidate_filter_picks_what_trying_every_candidate_picks(sample, monkeypatch):
    """The exact audit frees a pinned-down hidden cell by hiding the first shown cell (smallest first) that
    leaves it undetermined. It used to factorise the equations once per candidate (480 SVDs, 9 s for the
    board's "by group" outcomes of Q2 2026); a left-null-space test now skips candidates that cannot free
    it. Skipping must change nothing: the same cells hidden as when every candidate is tried, on the
    tables where the audit gets stuck, and some candidates really are skipped there."""
    import datetime as dt

    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope

    real = sup._Problem._may_free
    tested = {"candidates": 0, "skipped": 0}

    def counting(self, *args):
        test = real(self, *args)

        def wrapped(x):
            tested["candidates"] += 1
            ok = test(x)
            tested["skipped"] += not ok
            return ok
        return wrapped

    compared = 0
    quarter = (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    for chart_id, clinics, (start, end) in (("outcomes.rates_by_group", (), quarter),
                                            ("outcomes.rates_by_group", ("OKC",), quarter),
                                            ("outcomes.rates_by_instrument", (), quarter)):
        spec = catalog.get(chart_id)
        raw = spec.data(Scope.everything(), Filters(clinics=clinics, start=start, end=end))
        monkeypatch.setattr(sup._Problem, "_may_free", counting)
        filtered = sup.apply(raw, spec.suppression)
        monkeypatch.setattr(sup._Problem, "_may_free", lambda self, *a: (lambda x: True))
        exhaustive = sup.apply(raw, spec.suppression)
        monkeypatch.setattr(sup._Problem, "_may_free", real)
        pd.testing.assert_frame_equal(filtered.data, exhaustive.data)
        assert (filtered.hidden, filtered.primary) == (exhaustive.hidden, exhaustive.primary)
        compared += 1
    assert compared == 3
    assert tested["skipped"] > 0 and tested["candidates"] > tested["skipped"]


def _check_svd(a: np.ndarray) -> None:
    u, sv, vt = sup._svd(a)
    m, n = a.shape
    assert u.shape == (m, m) and vt.shape == (n, n) and len(sv) == min(m, n)
    assert np.allclose((u[:, :len(sv)] * sv) @ vt[:len(sv)], a)
    assert int((sv > 1e-9).sum()) == np.linalg.matrix_rank(a)


def test_a_relation_matrix_numpy_s_svd_does_not_converge_on_is_still_factorised():
    """The audit of the sample's May 2026 "by group" outcomes (all clinics, every candidate tried) built this
    303 x 429 matrix of -1/0/1. With OpenBLAS started on one thread (OPENBLAS_NUM_THREADS=1, as a server may
    set it), NumPy's SVD raises "SVD did not converge" on it, and the board's Outcomes page failed. The audit's
    SVD falls back to LAPACK's gesvd driver. Run in a fresh process: OpenBLAS reads that setting as it loads."""
    import subprocess
    import sys
    from pathlib import Path

    script = f"""
import numpy as np
from dashboard import suppression as sup
saved = np.load({str(Path(__file__).with_name("svd_nonconvergence.npz"))!r})
a = np.zeros(tuple(saved["shape"]))
a[saved["rows"], saved["cols"]] = saved["values"]
u, sv, vt = sup._svd(a)
assert np.allclose((u[:, :len(sv)] * sv) @ vt[:len(sv)], a)
print(int((sv > 1e-9).sum()), np.linalg.matrix_rank(a))
"""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    rank, expected = done.stdout.split()
    assert rank == expected == "291"


def test_the_audit_s_svd_falls_back_when_numpy_s_fails(monkeypatch):
    """Wherever NumPy's driver gives up (its failure depends on the BLAS build and threads), the fallback gives
    the same factorisation: shapes, product and rank."""
    rng = np.random.default_rng(7)
    a = rng.integers(-1, 2, size=(12, 20)).astype(float)
    a[5] = a[3] - a[4]  # rank below the number of rows, as relation matrices are

    def refuse(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(np.linalg, "svd", refuse)
    _check_svd(a)

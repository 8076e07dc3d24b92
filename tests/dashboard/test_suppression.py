"""dashboard.suppression on hand-made and random tables: primary and complementary suppression,
rates and derived figures, masking only, the threshold setting; checked by an independent exact
solver (tests/dashboard/disclosure.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import suppression as sup
from dashboard.suppression import Derived, GroupSum, Rate, RowSum, Steps, Suppression, TableRule, TotalRef
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
    km = pd.DataFrame({"days": [0, 1, 2, 3, 4], "at_risk": [100, 97, 90, 70, 55], "events": [0, 5, 20, 15, 0],
                       "censored": [3, 2, 0, 0, 55], "p": [0.0, 0.05, 0.25, 0.4, 0.4]})
    rule = Suppression.table(counts=("at_risk", "events", "censored"),
                             steps=Steps("days", "at_risk", "events", "censored", ("p",)))
    out = sup.apply(km, rule, TH).data
    shown = out[out["p"].notna()]
    assert shown["days"].tolist()[0] == 0
    assert 1 not in shown["days"].tolist()  # 5 boosters and 2 censored since day 0: not a day of its own
    for col in ("events", "censored"):
        assert not out[col].between(1, 10).any()


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

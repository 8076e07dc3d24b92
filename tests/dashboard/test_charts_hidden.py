"""Figures hidden by small-cell suppression (exports, aggregates-only viewers) are never drawn or summed as
real values: a hidden count is not a zero, a hidden bar is not an absence. Audit of capacity.lost,
capacity.by_clinic and boosters.per_patient_year."""

from __future__ import annotations

import datetime as dt
import math
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from dashboard.charts import catalog
from dashboard.charts.base import NOT_SHOWN, SPLIT_NOT_SHOWN, ChartContext
from dashboard.filters import Filters
from dashboard.scope import Scope

CTX = ChartContext(period="1 Apr – 30 Jun 2026", selection="all 3 clinics")
ONE = ChartContext(period="January 2025", selection="Denver Interventional Psychiatry")


def _row_texts(fig) -> dict[str, str]:
    """Every word written on each row of a horizontal chart (bar text, text-only traces, row annotations), joined."""
    rows: dict[str, list[str]] = {}
    for trace in fig.data:
        if trace.text is None or isinstance(trace.text, str) or trace.y is None:
            continue
        for y, text in zip(trace.y, trace.text, strict=True):
            if text:
                rows.setdefault(str(y), []).append(str(text).strip())
    for note in fig.layout.annotations:  # rows marked "not shown" (charts.base.mark_not_shown)
        if note.yref == "y" and note.y is not None and note.text:
            rows.setdefault(str(note.y), []).append(str(note.text).strip())
    return {y: " | ".join(t) for y, t in rows.items()}


def _bar_lengths(fig) -> dict[str, float]:
    """What each row's stacked bar reads as: the sum of its segments shown."""
    lengths: dict[str, float] = {}
    for trace in fig.data:
        if trace.type == "bar":
            for y, x in zip(trace.y, trace.x, strict=True):
                lengths[str(y)] = lengths.get(str(y), 0.0) + (0.0 if x is None or pd.isna(x) else float(x))
    return lengths


def _finite_range(axis) -> bool:
    return axis.range is not None and all(v is not None and math.isfinite(float(v)) for v in axis.range)


# ------------------------------------------------------------------------------------- capacity.lost

def _lost_row(clinic_id, name, available, no_show, cancelled, no_show_hours, cancelled_hours, hide_cancelled=False,
              hide_no_show=False):
    lost = no_show_hours + cancelled_hours
    row = {"clinic_id": clinic_id, "clinic_name": name, "available_chair_hours": available,
           "lost_chair_hours": lost, "lost_share": lost / available,
           "no_show_chair_hours": no_show_hours, "no_show_share": no_show_hours / available,
           "cancelled_chair_hours": cancelled_hours, "cancelled_share": cancelled_hours / available,
           "no_show_sessions": no_show, "cancelled_sessions": cancelled}
    hidden = []
    if hide_cancelled:
        hidden += ["cancelled_sessions", "cancelled_chair_hours", "cancelled_share"]
    if hide_no_show:
        hidden += ["no_show_sessions", "no_show_chair_hours", "no_show_share"]
    if hidden:  # the total would give the hidden part away
        hidden += ["lost_chair_hours", "lost_share"]
    return {**row, **{c: np.nan for c in hidden}}


def test_lost_capacity_of_one_clinic_whose_cancellations_are_hidden_does_not_read_as_none():
    """DEN, Jan 2025: 9 cancellations hidden. The subtitle read "n = 0 chair-hours lost · 18 no-shows,
    0 cancellations" and the axis range was (0, NaN)."""
    from dashboard.charts.capacity import lost_capacity

    df = pd.DataFrame([_lost_row("DEN", "Denver", 920.0, 18, 9, 27.9, 13.1, hide_cancelled=True)])
    fig = lost_capacity(df, ONE)
    sub = fig.layout.meta["subtitle"]
    assert "0 cancellations" not in sub and "n = 0" not in sub, sub
    assert "cancellations " + NOT_SHOWN in sub and "18 no-shows" in sub, sub
    assert "chair-hours lost " + NOT_SHOWN in sub, sub
    assert _finite_range(fig.layout.xaxis), fig.layout.xaxis.range
    assert fig.layout.xaxis.range[1] > 27.9 / 920
    row = _row_texts(fig)["Denver"]
    assert "not shown (small counts)" in row and "cancellations" in row, row
    assert _bar_lengths(fig)["Denver"] == pytest.approx(27.9 / 920)  # the no-shows only, nothing invented
    hover = next(t for t in fig.data if t.name == "Cancellations").customdata[0]
    assert NOT_SHOWN in hover and "—" not in hover, hover


def test_lost_capacity_of_clinics_with_hidden_cancellations_marks_their_rows_and_sums_the_clinics_shown():
    """All clinics, Jan 2025: "37 cancellations" (really 64); Denver and Oklahoma City had no cancellation
    segment, no 'split not shown' segment and no total label, read as no cancellations."""
    from dashboard.charts.capacity import lost_capacity

    df = pd.DataFrame([
        _lost_row("DEN", "Denver", 920.0, 18, 9, 27.9, 13.1, hide_cancelled=True),
        _lost_row("NYC", "New York", 1944.0, 36, 37, 55.8, 46.9),
        _lost_row("OKC", "Oklahoma City", 1656.0, 28, 18, 43.4, 20.0, hide_cancelled=True),
    ])
    fig = lost_capacity(df, CTX)
    sub = fig.layout.meta["subtitle"]
    assert "37 cancellations in the clinics shown" in sub, sub
    assert "82 no-shows" in sub and "no-shows in the clinics shown" not in sub, sub  # every no-show is shown
    assert "n = 103 chair-hours lost in the clinics shown" in sub, sub
    rows = _row_texts(fig)
    for clinic in ("Denver", "Oklahoma City"):
        assert NOT_SHOWN in rows[clinic] and "cancellations" in rows[clinic], rows
    assert NOT_SHOWN not in rows["New York"] and "5.3%" in rows["New York"], rows
    assert _finite_range(fig.layout.xaxis)


def test_lost_capacity_row_hidden_whole_is_marked_and_draws_nothing():
    """A clinic-day whose no-shows and cancellations are both hidden: no 0% bars, the row says so; a chart
    whose every row is hidden draws no value (figure_of then explains the hidden chart)."""
    from dashboard.charts.base import draws_a_value
    from dashboard.charts.capacity import lost_capacity

    df = pd.DataFrame([_lost_row("DEN", "Denver", 40.0, 2, 1, 3.0, 1.5, hide_cancelled=True, hide_no_show=True),
                       _lost_row("OKC", "Oklahoma City", 72.0, 12, 11, 10.0, 8.0)])
    fig = lost_capacity(df, CTX)
    assert _row_texts(fig)["Denver"] == NOT_SHOWN
    assert "no-shows " + NOT_SHOWN not in fig.layout.meta["subtitle"]
    assert "· 12 no-shows in the clinics shown, 11 cancellations in the clinics shown" in fig.layout.meta["subtitle"]
    whole = lost_capacity(df.head(1), CTX)
    assert not draws_a_value(whole)
    assert _finite_range(whole.layout.xaxis)


def test_lost_capacity_with_the_total_shown_keeps_its_split_not_shown_segment():
    """Unchanged: a total shown with one part hidden still reads as its total, with a hatched segment."""
    from dashboard.charts.capacity import lost_capacity

    row = _lost_row("DEN", "Denver", 2600.0, 30, 5, 40.0, 10.0)
    row.update(cancelled_sessions=np.nan, cancelled_chair_hours=np.nan, cancelled_share=np.nan)
    fig = lost_capacity(pd.DataFrame([row]), CTX)
    assert _bar_lengths(fig)["Denver"] == pytest.approx(50 / 2600)
    assert SPLIT_NOT_SHOWN in {t.name for t in fig.data}
    assert "1.9%" in _row_texts(fig)["Denver"]


@pytest.fixture(scope="module")
def _lost_jan_2025(sample_db):
    """capacity.lost of January 2025 as an export draws it: suppressed, then figure_of."""
    import os

    from dashboard import queries
    from pipelines import config

    old = os.environ.get(config.ENV_DB)
    os.environ[config.ENV_DB] = str(sample_db)
    try:
        spec = catalog.get("capacity.lost")
        options = queries.filter_options(Scope.everything())
        out = {}
        for key, clinics in (("DEN", ("DEN",)), ("all", ())):
            filters = Filters(clinics=clinics, start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31))
            raw = spec.data(Scope.everything(), filters, **spec.defaults)
            result = spec.suppressed(raw)
            fig = spec.figure_of(result, catalog.context(filters, options), **spec.defaults)
            out[key] = (raw, result, fig)
        yield out
    finally:
        if old is None:
            os.environ.pop(config.ENV_DB, None)
        else:
            os.environ[config.ENV_DB] = old


def test_exported_lost_capacity_of_denver_in_january_2025_says_its_cancellations_are_not_shown(_lost_jan_2025):
    raw, result, fig = _lost_jan_2025["DEN"]
    assert result.data["cancelled_sessions"].isna().all() and raw["cancelled_sessions"].sum() > 0  # the case
    sub = fig.layout.meta["subtitle"]
    assert "0 cancellations" not in sub and "n = 0" not in sub, sub
    assert f"{int(raw['no_show_sessions'].sum())} no-shows" in sub and "cancellations " + NOT_SHOWN in sub, sub
    assert _finite_range(fig.layout.xaxis), fig.layout.xaxis.range
    (name,) = raw["clinic_name"]
    assert NOT_SHOWN in _row_texts(fig)[name]


def test_exported_lost_capacity_of_all_clinics_in_january_2025_marks_every_hidden_row(_lost_jan_2025):
    raw, result, fig = _lost_jan_2025["all"]
    data = result.data
    shown = int(data["cancelled_sessions"].sum())
    assert shown < int(raw["cancelled_sessions"].sum())  # some cancellations hidden
    sub = fig.layout.meta["subtitle"]
    assert f"{shown} cancellations in the clinics shown" in sub, sub
    rows = _row_texts(fig)
    hidden = data.loc[data["lost_share"].isna(), "clinic_name"]
    assert len(hidden) >= 2
    for clinic in hidden:
        assert NOT_SHOWN in rows[clinic], rows
    for clinic in data.loc[data["lost_share"].notna(), "clinic_name"]:
        assert NOT_SHOWN not in rows[clinic], rows
    assert _finite_range(fig.layout.xaxis)


# -------------------------------------------------------------------------------- capacity.by_clinic

def test_utilization_by_clinic_counts_only_the_clinics_shown_against_the_band():
    """All clinics, 25 Apr 2025: "0 below, 3 within, 0 above the band" while two of three bars were hidden."""
    from dashboard.charts.capacity import utilization_by_clinic

    df = pd.DataFrame({"clinic_id": ["DEN", "NYC", "OKC"], "clinic_name": ["Denver", "New York", "Oklahoma City"],
                       "available_chair_hours": [40.0, 72.0, 72.0], "occupied_chair_hours": [np.nan, np.nan, 54.5],
                       "utilization": [np.nan, np.nan, 54.5 / 72], "treated_sessions": [np.nan, np.nan, 32.0]})
    fig = utilization_by_clinic(df, CTX)
    sub = fig.layout.meta["subtitle"]
    assert "3 within" not in sub, sub
    assert "0 below, 1 within, 0 above the band, 2 not shown" in sub, sub
    rows = _row_texts(fig)
    assert NOT_SHOWN in rows["Denver"] and NOT_SHOWN in rows["New York"], rows
    assert NOT_SHOWN not in rows["Oklahoma City"], rows
    assert _finite_range(fig.layout.xaxis)
    whole = utilization_by_clinic(df.assign(utilization=[0.5, 0.75, 0.9], occupied_chair_hours=[20, 54, 65]), CTX)
    assert "1 below, 1 within, 1 above the band" in whole.layout.meta["subtitle"]
    assert "not shown" not in whole.layout.meta["subtitle"]


def test_exported_utilization_by_clinic_of_a_single_day(sample_db, use_db):
    from dashboard import queries

    use_db(sample_db)
    spec = catalog.get("capacity.by_clinic")
    # a day of the sample when one clinic treated a handful of patients (its utilization is a small count)
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        day = con.execute(
            """select session_date from (
                   select session_date, clinic_id, count(*) filter (where is_treated) as treated
                   from marts.sessions group by all)
               group by session_date having count(*) = 3 and min(treated) between 1 and 10
                   and max(treated) >= 20
               order by session_date limit 1""").fetchone()[0]
    finally:
        con.close()
    filters = Filters(start=day, end=day)
    result = spec.suppressed(spec.data(Scope.everything(), filters, **spec.defaults))
    hidden = int(result.data["utilization"].isna().sum())
    assert hidden >= 1
    fig = spec.figure_of(result, catalog.context(filters, queries.filter_options(Scope.everything())), **spec.defaults)
    sub = fig.layout.meta["subtitle"]
    counts = re.search(r"(\d+) below, (\d+) within, (\d+) above the band, (\d+) not shown", sub)
    assert counts, sub
    assert [int(c) for c in counts.groups()][3] == hidden
    assert sum(int(c) for c in counts.groups()[:3]) == len(result.data) - hidden


# ------------------------------------------------------------------------- boosters.per_patient_year

def test_a_hidden_booster_rate_says_not_shown_instead_of_an_empty_bar():
    """A clinic of 7 patient-years whose boosters (and so its rate) are hidden drew an empty bar beside
    "(7 patient-years)", read as no boosters."""
    from dashboard.charts.boosters import per_patient_year

    clinics = pd.DataFrame({"group_value": ["DEN", "NYC", "OKC"],
                            "clinic_name": ["Denver", "New York", "Oklahoma City"],
                            "boosters": [np.nan, 53, 39], "patient_years": [7.2, 23.7, 17.9],
                            "boosters_per_patient_year": [np.nan, 53 / 23.7, 39 / 17.9],
                            "ci_low": [np.nan, 1.67, 1.55], "ci_high": [np.nan, 2.92, 2.97]})
    network = pd.DataFrame({"group_value": ["all"], "boosters": [np.nan], "patient_years": [48.8],
                            "boosters_per_patient_year": [np.nan], "ci_low": [np.nan], "ci_high": [np.nan]})
    fig = per_patient_year({"clinics": clinics, "network": network}, CTX)
    rows = _row_texts(fig)
    assert NOT_SHOWN in rows.get("Denver", ""), rows
    assert NOT_SHOWN not in rows.get("New York", "") and NOT_SHOWN not in rows.get("Oklahoma City", ""), rows
    bar = next(t for t in fig.data if t.type == "bar")
    hover = dict(zip(bar.y, bar.customdata, strict=True))
    assert NOT_SHOWN in hover["Denver"] and "—" not in hover["Denver"], hover
    assert _finite_range(fig.layout.xaxis) or fig.layout.xaxis.rangemode == "tozero"
    whole = per_patient_year({"clinics": clinics.assign(boosters=[20, 53, 39],
                                                        boosters_per_patient_year=[20 / 7.2, 53 / 23.7, 39 / 17.9]),
                              "network": network}, CTX)
    assert NOT_SHOWN not in " ".join(_row_texts(whole).values())


# --------------------------------------------------------------------------------- quality.quarantine_reasons

def _reasons(counts: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({"kind": ["vitals"] * len(counts), "reason": [f"rule {k}" for k in range(len(counts))],
                         "rows": pd.array(counts, dtype="Float64").astype("float64")})


def test_quarantine_reasons_with_hidden_counts_say_whose_sum_the_n_is_and_mark_their_rows():
    """An export of the quarantine reasons hides the reasons with 1-10 rows: the subtitle's "n = 298 row-reasons"
    was the sum of those shown, said as if it were all, and the hidden reasons were blank rows."""
    from dashboard.charts import quality

    fig = quality.quarantine_reasons(_reasons([250, None, 48, None]), CTX)
    sub = fig.layout.meta["subtitle"]
    assert sub.startswith("n = 298 row-reasons in the reasons shown ·")
    rows = _row_texts(fig)
    assert [y for y, t in rows.items() if NOT_SHOWN in t] == ["vitals: rule 1", "vitals: rule 3"]
    assert list(fig.data[0].y)[-2:] == ["vitals: rule 1", "vitals: rule 3"]  # hidden reasons last
    whole = quality.quarantine_reasons(_reasons([250, 48]), CTX)
    assert "n = 298 row-reasons" in whole.layout.meta["subtitle"] and "shown" not in whole.layout.meta["subtitle"]
    gone = quality.quarantine_reasons(_reasons([None, None]), CTX)
    assert gone.layout.meta["subtitle"].startswith("row-reasons not shown (small counts)")

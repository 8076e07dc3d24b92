"""Chart builders: pure functions that return complete, titled figures, on data and on nothing."""

from __future__ import annotations

import ast
import json
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import theme
from dashboard.charts import catalog
from dashboard.charts.base import NOT_SHOWN, ChartContext, is_empty
from dashboard.filters import FilterOptions, Filters
from dashboard.scope import Scope

CHARTS_DIR = Path(catalog.__file__).parent
ALL = Scope.everything()
QUARTER = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
CTX = ChartContext(period="1 Apr – 30 Jun 2026", selection="all 3 clinics")
HEX_KEY = re.compile(r"\b[0-9a-f]{32,}\b")


def _check_frame(fig: go.Figure, spec) -> None:
    meta = fig.layout.meta
    assert isinstance(meta, dict), spec.id
    assert meta["title"] and fig.layout.title.text == meta["title"]
    if spec.page == "Planning":  # a plan: titled by its own weeks and clinic (tests/dashboard/test_planning_page.py)
        assert "docs/planning.md" in meta["footnote"], spec.id
    else:
        if spec.page != "Data quality":
            assert "1 Apr – 30 Jun 2026" in meta["title"], spec.id  # what and when
        assert "n = " in meta["subtitle"], spec.id  # n in the subtitle
        assert "Definition:" in meta["footnote"] or "docs/loading.md" in meta["footnote"], spec.id
    assert fig.layout.template.layout.colorway == tuple(theme.PALETTE), spec.id
    assert not HEX_KEY.search(fig.to_json()), spec.id  # no pseudonymous key anywhere in the figure


@pytest.fixture(scope="module")
def sample_data(sample_db):
    import os

    from pipelines import config

    old = os.environ.get(config.ENV_DB)
    os.environ[config.ENV_DB] = str(sample_db)
    try:
        yield {spec.id: spec.data(ALL, QUARTER) for spec in catalog.CATALOG}
    finally:
        if old is None:
            os.environ.pop(config.ENV_DB, None)
        else:
            os.environ[config.ENV_DB] = old


@pytest.mark.parametrize("spec", catalog.CATALOG, ids=lambda s: s.id)
def test_builder_on_sample_data(spec, sample_data):
    fig = spec.figure(sample_data[spec.id], CTX)
    _check_frame(fig, spec)
    assert not is_empty(fig), spec.id
    assert len(fig.data) >= 1


def _emptied(data):
    if isinstance(data, dict):
        return {k: v.iloc[0:0] for k, v in data.items()}
    return data.iloc[0:0]


@pytest.mark.parametrize("spec", [s for s in catalog.CATALOG if s.page != "Planning"], ids=lambda s: s.id)
def test_builder_explains_an_empty_selection(spec, sample_data):  # planning: test_planning_page.py
    for data in (_emptied(sample_data[spec.id]), pd.DataFrame() if not isinstance(sample_data[spec.id], dict) else {}):
        fig = spec.figure(data, CTX)
        _check_frame(fig, spec)
        assert is_empty(fig)
        assert fig.layout.meta["message"]


@pytest.mark.parametrize("spec", [s for s in catalog.CATALOG if s.options], ids=lambda s: s.id)
def test_every_option_draws(spec, sample_db, use_db):
    use_db(sample_db)
    for option, values in spec.options.items():
        for value in values:
            fig = spec.render(ALL, QUARTER, CTX, **{option: value})
            _check_frame(fig, spec)


def test_catalog_ids_are_unique_and_cover_every_page():
    ids = [spec.id for spec in catalog.CATALOG]
    assert len(ids) == len(set(ids))
    for page in catalog.PAGES:
        assert catalog.for_page(page), page
    assert catalog.get("outcomes.clinic_funnel").page == "Outcomes"


def test_chart_builders_are_pure():
    """No Streamlit, no DuckDB, no query layer in the builders (only the catalog wires queries in)."""
    for path in CHARTS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
                imported |= {f"{node.module}.{a.name}" for a in node.names}
        assert not any(m.startswith("streamlit") for m in imported), path.name
        assert "duckdb" not in imported, path.name
        if path.name != "catalog.py":
            assert "dashboard.queries" not in imported, path.name


def test_pages_never_open_duckdb():
    for path in (CHARTS_DIR.parent / "app_pages").glob("*.py"):
        source = path.read_text()
        assert "duckdb" not in source and "execute(" not in source, path.name


def test_selection_text():
    options = FilterOptions(clinics={"OKC": "Oklahoma City", "NYC": "New York"})
    assert catalog.selection_text(Filters(), options) == "all 2 clinics"
    assert catalog.selection_text(Filters(clinics=("OKC",), modalities=("iv_ketamine",)), options) == "Oklahoma City · IV ketamine"


def test_clinic_names_on_the_funnel_stay_inside_the_plot():
    """A clinic's name is written away from the nearer edge of the x axis: the largest clinic's name,
    written to the right of its dot, ran past the plot and was cut off ("Oklahoma City Moo")."""
    from dashboard.charts.outcomes import clinic_funnel

    names = ["Small Clinic", "Middle Clinic", "Oklahoma City Mood & Wellness"]
    clinics = pd.DataFrame({
        "clinic_name": names, "n": [100, 300, 360], "events": [52, 172, 214], "rate": [0.52, 0.573, 0.594],
        "network_rate": [0.5725] * 3, "outside_95": [False] * 3, "outside_998": [False] * 3,
    })
    grid = pd.Series(range(50, 400, 10), dtype=float)
    limits = pd.DataFrame({"n": grid, "upper_998": 0.57 + 1 / grid ** 0.5, "lower_998": 0.57 - 1 / grid ** 0.5,
                           "upper_95": 0.57 + 0.6 / grid ** 0.5, "lower_95": 0.57 - 0.6 / grid ** 0.5})
    fig = clinic_funnel({"clinics": clinics, "limits": limits}, CTX)
    labels = {a.text: a for a in fig.layout.annotations if a.text in names}
    assert set(labels) == set(names)
    x_lo, x_hi = fig.layout.xaxis.range
    for name, a in labels.items():
        assert x_lo <= a.x <= x_hi
        towards_right = a.xanchor == "left"
        assert towards_right == (a.x <= (x_lo + x_hi) / 2), name
        assert (a.xshift > 0) == towards_right, name
    assert labels["Oklahoma City Mood & Wellness"].xanchor == "right"
    assert labels["Small Clinic"].xanchor == "left"
    # The two large clinics sit close together, either way up: their names do not overlap (they did
    # when sides alternated by rank). Boxes estimated from the annotations as drawn (label_layout).
    from dashboard.charts.label_layout import Placement, overlapping_pairs

    for rates in ([0.52, 0.573, 0.594], [0.52, 0.60, 0.55]):
        fig = clinic_funnel({"clinics": clinics.assign(rate=rates), "limits": limits}, CTX)
        drawn = [a for a in fig.layout.annotations if a.text in names]
        points = [(a.x, a.y, a.text) for a in drawn]
        placed = [Placement(a.xanchor, a.yanchor, a.ax if a.showarrow else a.xshift,
                            -a.ay if a.showarrow else a.yshift) for a in drawn]
        assert overlapping_pairs(points, placed, tuple(fig.layout.xaxis.range), tuple(fig.layout.yaxis.range)) == []


@pytest.mark.parametrize("chart_id, n_column", [("safety.bp_by_dose", "sessions_with_vitals"),
                                                ("safety.side_effects_by_dose", "treated_sessions"),
                                                ("safety.rems_by_clinic", "esketamine_sessions")])
def test_rates_by_group_name_each_groups_n_on_the_axis(chart_id, n_column, sample_data):
    """Rates by dose band or clinic show each group's n under its name, so a small group's wide
    interval is not read as a finding (the 28 mg band had a 7% bar over a handful of sessions)."""
    spec = catalog.get(chart_id)
    fig = spec.figure(sample_data[chart_id], CTX)
    axis = fig.layout.xaxis
    assert axis.ticktext and len(axis.ticktext) == len(axis.tickvals) == len(fig.data[0].x)
    data = sample_data[chart_id]
    if "effect" in data.columns:
        data = data[data["effect"] == "any"]
    shown = {}
    for value, text in zip(axis.tickvals, axis.ticktext, strict=True):
        name, n_text = text.split("<br>n=")
        shown[name] = int(n_text.replace(",", ""))
        assert value in text
    groups = data["clinic_name"] if "clinic_name" in data.columns else data["group_value"]  # by clinic: names
    expected = {str(g): int(m) for g, m in zip(groups, data[n_column], strict=True) if m and m > 0}
    assert shown == {k: v for k, v in expected.items() if k in shown} and len(shown) >= 2


def test_boosters_per_patient_year_shows_each_clinics_interval_and_exposure(sample_data):
    """Clinics compared on boosters per patient-year carry a Poisson 95% interval and their
    patient-years beside their names; a warehouse built before the interval existed still draws."""
    spec = catalog.get("boosters.per_patient_year")
    data = sample_data["boosters.per_patient_year"]
    fig = spec.figure(data, CTX)
    bars = fig.data[0]
    clinics = data["clinics"].sort_values("clinic_name", key=lambda s: s.str.lower())
    assert list(bars.y) == list(clinics["clinic_name"])
    assert list(bars.error_x.array) == pytest.approx(list(clinics["ci_high"] - clinics["boosters_per_patient_year"]))
    assert list(bars.error_x.arrayminus) == pytest.approx(list(clinics["boosters_per_patient_year"] - clinics["ci_low"]))
    assert all(lo < r < hi for lo, r, hi in zip(clinics["ci_low"], clinics["boosters_per_patient_year"], clinics["ci_high"]))
    assert all("patient-years" in t for t in fig.layout.yaxis.ticktext)
    old = {k: v.drop(columns=["ci_low", "ci_high"]) for k, v in data.items()}
    fig = spec.figure(old, CTX)
    assert fig.data[0].error_x.array is None and list(fig.data[0].x) == list(clinics["boosters_per_patient_year"])


def test_boosters_per_patient_year_keeps_eight_long_clinic_names_apart():
    """Eight clinics with names of 25-39 characters ran into each other side by side under the bars
    (the 8-clinic network's Boosters page): one row per clinic, like the other by-clinic charts, and the
    network's label above the plot where no bar covers it."""
    from dashboard.charts.boosters import per_patient_year

    names = ["Boston Ketamine Institute", "Denver Ketamine Institute", "Interventional Psychiatry, Tulsa",
             "Ketamine Institute, New York", "Los Angeles Mood & Wellness", "Oklahoma City Interventional Psychiatry",
             "Phoenix Ketamine Center", "Salt Lake City Mood & Wellness"]
    clinics = pd.DataFrame({"clinic_id": [n[:3].upper() for n in names], "clinic_name": names,
                            "boosters": [400, 180, 480, 370, 440, 370, 260, 210],
                            "patient_years": [161.0, 76, 178, 153, 191, 176, 111, 86]})
    clinics["boosters_per_patient_year"] = clinics["boosters"] / clinics["patient_years"]
    clinics["ci_low"] = clinics["boosters_per_patient_year"] * 0.9
    clinics["ci_high"] = clinics["boosters_per_patient_year"] * 1.1
    network = pd.DataFrame({"boosters": [2730], "patient_years": [1132.0], "boosters_per_patient_year": [2730 / 1132]})
    fig = per_patient_year({"clinics": clinics, "network": network}, CTX)
    bar = fig.data[0]
    assert bar.orientation == "h" and list(bar.y) == names  # a row per clinic, alphabetical from the top
    assert fig.layout.yaxis.autorange == "reversed"
    assert [t.split(" (")[0] for t in fig.layout.yaxis.ticktext] == names
    assert fig.layout.height >= 8 * 30  # room for every row
    label = next(a for a in fig.layout.annotations if str(a.text).startswith("network"))
    assert label.yref in ("paper", "y domain") and label.y >= 1 and label.yanchor == "bottom"  # above the bars


def test_early_signal_draws_a_single_course_pale_and_says_it_has_no_interval():
    """A mean change over one course has no interval: its bar is pale and its label says why, so a
    long bar over one patient (MADRS, n=1, -75% in the sample) is not read like the others."""
    from dashboard.charts.outcomes import early_signal

    df = pd.DataFrame({
        "instrument": ["PHQ9", "MADRS"], "courses": [789, 1], "mean_change": [-7.4, -27.0],
        "ci_low": [-7.8, None], "ci_high": [-7.1, None], "median_change": [-8.0, -27.0],
        "mean_change_fraction": [-0.42, -0.73],
    })
    fig = early_signal(df, CTX)
    colours = dict(zip(fig.data[0].y, fig.data[0].marker.color, strict=True))
    labels = {a.y: a.text for a in fig.layout.annotations if a.y in colours}
    phq, madrs = (next(k for k in colours if k.startswith(name)) for name in ("PHQ-9", "MADRS"))
    assert colours[phq] == theme.OKABE_ITO["sky"] and colours[madrs] == theme.translucent(theme.OKABE_ITO["sky"], 0.3)
    assert "95% CI" in labels[phq] and "no interval" in labels[madrs]
    assert "Pale bars" in fig.layout.meta["footnote"]


def test_translucent_keeps_the_colour_and_sets_the_opacity():
    assert theme.translucent("#56B4E9", 0.3) == "rgba(86, 180, 233, 0.3)"


def test_the_benchmark_band_label_of_utilization_by_clinic_sits_above_the_bars():
    """Inside the plot the first bar, drawn over the band, covered the label ("mark 70–80%")."""
    from dashboard.charts.capacity import utilization_by_clinic

    data = pd.DataFrame({"clinic_name": ["Denver", "New York"], "utilization": [0.74, 0.75],
                         "occupied_chair_hours": [740.0, 750.0], "available_chair_hours": [1000.0, 1000.0]})
    fig = utilization_by_clinic(data, CTX)
    label = next(a for a in fig.layout.annotations if a.text == "benchmark 70–80%")
    assert label.yref in ("paper", "y domain") and label.y >= 1 and label.yanchor == "bottom"
    assert label.x == pytest.approx(0.75)  # over the middle of the band


def test_side_effects_by_session_draws_points_over_few_sessions_open():
    """Late session numbers hold a handful of sessions: their 100% must not look like the solid points
    over hundreds of sessions before them."""
    from dashboard.charts.safety import FEW_SESSIONS, side_effects_by_session

    n = [900, 400, FEW_SESSIONS, FEW_SESSIONS - 1, 2]
    data = pd.DataFrame({"effect": ["any"] * 5, "group_value": ["1", "2", "3", "17", "18"],
                         "rate": [0.8, 0.78, 0.8, 0.9, 1.0], "ci_low": [0.77, 0.74, 0.62, 0.74, 0.34],
                         "ci_high": [0.82, 0.82, 0.9, 0.96, 1.0], "treated_sessions": n,
                         "sessions": [720, 312, 24, 26, 2]})
    fig = side_effects_by_session(data, CTX)
    line, few = fig.data
    # solid points joined by the line; the few-session ones open and off it (8 clinics, Q3 2026: the line ran
    # from 87% over 14 sessions' hundreds up to 100% over one session and down again)
    assert list(line.x) == [1, 2, 3] and line.mode == "lines+markers" and line.marker.symbol == "circle"
    assert list(few.x) == [17, 18] and few.mode == "markers" and few.marker.symbol == "circle-open"
    assert list(few.error_y.array) == pytest.approx([0.06, 0.0]) and list(few.error_y.arrayminus) == pytest.approx([0.16, 0.66])
    assert line.cliponaxis is False and few.cliponaxis is False  # points at 100% are drawn whole
    assert f"Open points, off the line: fewer than {FEW_SESSIONS} sessions" in json.dumps(fig.to_plotly_json()["layout"])


def _marker_traces(fig: go.Figure) -> list:
    return [t for t in fig.data if t.type == "scatter" and "markers" in (t.mode or "")]


def test_rates_at_0_and_100_percent_are_drawn_whole():
    """A response rate of 1 of 1 sits on the 100% edge of the axis, a remission of 0 of 1 on the 0%
    edge: Plotly cut both markers in half. Points on a share axis are drawn unclipped."""
    from dashboard.charts.outcomes import clinic_funnel, rates_by_instrument

    rates = pd.DataFrame({"instrument": ["PHQ9"], "evaluable": [1], "response_rate": [1.0], "response_ci_low": [0.21],
                          "response_ci_high": [1.0], "remission_rate": [0.0], "remission_ci_low": [0.0],
                          "remission_ci_high": [0.79]})
    fig = rates_by_instrument(rates, CTX)
    points = _marker_traces(fig)
    assert len(points) == 2 and {float(t.x[0]) for t in points} == {0.0, 1.0}
    assert list(fig.layout.xaxis.range) == [0, 1]
    assert all(t.cliponaxis is False for t in points)

    clinics = pd.DataFrame({"clinic_name": ["Small", "Large"], "n": [40, 300], "events": [40, 150], "rate": [1.0, 0.5],
                            "network_rate": [0.5] * 2, "outside_95": [False] * 2, "outside_998": [False] * 2})
    grid = pd.Series(range(2, 320, 2), dtype=float)
    limits = pd.DataFrame({"n": grid, "upper_998": (0.5 + 1.5 / grid ** 0.5).clip(upper=1.0),
                           "lower_998": (0.5 - 1.5 / grid ** 0.5).clip(lower=0.0),
                           "upper_95": (0.5 + 1 / grid ** 0.5).clip(upper=1.0), "lower_95": (0.5 - 1 / grid ** 0.5).clip(lower=0.0)})
    fig = clinic_funnel({"clinics": clinics, "limits": limits}, CTX)
    assert fig.layout.yaxis.range[1] == 1.0  # the axis ends at the small clinic's 100%
    (dots,) = _marker_traces(fig)
    assert dots.cliponaxis is False
    # The control limits are lines: they stay clipped to the plot.
    assert all(t.cliponaxis is not False for t in fig.data if t.mode == "lines")


def test_rems_completeness_at_100_percent_is_drawn_whole(sample_data):
    """A clinic where every esketamine session had complete REMS monitoring sits at the top of the
    axis (it ends at 101%, a sliver above the point, less than half a marker)."""
    spec = catalog.get("safety.rems_by_clinic")
    data = sample_data["safety.rems_by_clinic"].copy()
    data.loc[data.index[0], ["complete_rate", "complete_ci_high"]] = 1.0
    fig = spec.figure(data, CTX)
    (points,) = _marker_traces(fig)
    assert max(points.y) == 1.0 and fig.layout.yaxis.range[1] - 1.0 < 0.02
    assert points.cliponaxis is False


def _funnel_inputs(names, n, events, network):
    clinics = pd.DataFrame({"clinic_name": names, "n": n, "events": events,
                            "rate": [e / m for e, m in zip(events, n, strict=True)], "network_rate": [network] * len(names),
                            "network_n": [sum(n)] * len(names),
                            "outside_95": [False] * len(names), "outside_998": [False] * len(names)})
    grid = pd.Series(range(1, max(n) * 2 + 2), dtype=float)
    spread = (network * (1 - network) / grid) ** 0.5  # normal limits: none around a network rate of 100%
    limits = pd.DataFrame({f"{side}_{level}": (network + sign * z * spread).clip(0.0, 1.0)
                           for side, sign in (("upper", 1), ("lower", -1)) for level, z in (("998", 3.09), ("95", 1.96))})
    return {"clinics": clinics, "limits": limits.assign(n=grid)}


def test_a_funnel_of_one_clinic_says_there_is_nothing_to_compare():
    """One clinic in a small subgroup drew a single dot on its own network line, with a 97-100% axis
    reading 100%, 100%, 99%, 99%. It now says why there is no comparison, and gives the clinic's rate."""
    from dashboard.charts.outcomes import clinic_funnel

    fig = clinic_funnel(_funnel_inputs(["Infusion Clinic, New York"], [1], [1], 1.0), CTX)
    assert is_empty(fig)
    text = " ".join(a.text for a in fig.layout.annotations)
    assert "Only Infusion Clinic, New York has evaluable courses" in text and "100.0% (1 of 1)" in text
    assert "compares clinics" in text
    assert "n = 1" in fig.layout.meta["subtitle"]


def test_one_clinic_chosen_is_drawn_against_the_rest_of_the_network():
    """With the network pooled over every clinic the viewer sees, one clinic chosen on its own (Phoenix, 271
    courses, the network 851) is a comparison: drawn, not "too few clinics to compare". A clinic that is the
    whole network, or beside fewer than 30 cases elsewhere, still compares nothing."""
    from dashboard.charts.outcomes import clinic_funnel

    data = _funnel_inputs(["Phoenix"], [271], [141], 491 / 851)
    data["clinics"] = data["clinics"].assign(network_n=851, network_events=491)
    assert not is_empty(clinic_funnel(data, CTX))
    alone = _funnel_inputs(["Phoenix"], [271], [141], 141 / 271)
    alone["clinics"] = alone["clinics"].assign(network_n=271, network_events=141)
    assert is_empty(clinic_funnel(alone, CTX))
    near = _funnel_inputs(["Phoenix"], [271], [141], 150 / 290)
    near["clinics"] = near["clinics"].assign(network_n=290, network_events=150)
    assert is_empty(clinic_funnel(near, CTX))


def test_a_funnel_of_clinics_all_at_100_percent_has_distinct_ticks():
    """Two clinics at 100%: the rate axis spans at least 10 points, so its whole-percent ticks do not repeat."""
    from dashboard.charts.outcomes import FUNNEL_MIN_N, FUNNEL_MIN_SPAN, clinic_funnel

    fig = clinic_funnel(_funnel_inputs(["A", "B"], [FUNNEL_MIN_N, FUNNEL_MIN_N + 10], [FUNNEL_MIN_N, FUNNEL_MIN_N + 10], 1.0), CTX)
    assert not is_empty(fig)
    lo, hi = fig.layout.yaxis.range
    assert hi == 1.0 and hi - lo == pytest.approx(FUNNEL_MIN_SPAN)
    wide = clinic_funnel(_funnel_inputs(["A", "B"], [40, 300], [20, 150], 0.5), CTX)
    assert wide.layout.xaxis.dtick is None  # Plotly's own ticks on a long axis
    assert wide.layout.yaxis.range[1] - wide.layout.yaxis.range[0] > FUNNEL_MIN_SPAN


def test_a_funnel_of_few_cases_says_it_compares_nothing_and_names_clinics_without_any():
    """IM ketamine + PTSD, 8 clinics, Q3 2026: a funnel of 12 evaluable courses, clinics at n = 1-4 (two of
    them on one spot at 100%), and Denver and Salt Lake City missing without a word ('6 clinics' of 8).
    Fewer than two clinics with FUNNEL_MIN_N or more: a sentence instead of the plot; clinics with no case
    are named."""
    from dashboard.charts.outcomes import FUNNEL_MIN_N, clinic_funnel

    names = ["Los Angeles", "Phoenix", "Tulsa", "Boston", "New York", "Oklahoma City", "Denver", "Salt Lake City"]
    inputs = _funnel_inputs(names[:6], [4, 3, 2, 1, 1, 1], [1, 2, 1, 0, 1, 1], 0.5)
    nobody = pd.DataFrame({"clinic_name": names[6:], "n": [0, 0], "events": [0, 0], "rate": [float("nan")] * 2,
                           "network_rate": [0.5] * 2, "network_n": [12] * 2, "outside_95": [pd.NA] * 2,
                           "outside_998": [pd.NA] * 2})
    inputs["clinics"] = pd.concat([inputs["clinics"], nobody], ignore_index=True)
    fig = clinic_funnel(inputs, CTX)
    meta = fig.layout.meta
    assert is_empty(fig) and not _marker_traces(fig)
    assert meta["message"].startswith("Too few evaluable courses to compare clinics: 12 in all and no clinic has "
                                      f"{FUNNEL_MIN_N} or more")
    assert "n = 12 evaluable courses" in meta["subtitle"] and "2 more with no evaluable course" in meta["subtitle"]
    assert "Not shown, with no evaluable course in this selection: Denver, Salt Lake City." in meta["footnote"]

    # one clinic of FUNNEL_MIN_N or more is still nothing to compare it with; the same rule for sessions (BP)
    one_large = clinic_funnel(_funnel_inputs(["Large", "Small"], [300, 20], [3, 1], 4 / 320), CTX, measure="bp_elevation")
    assert is_empty(one_large)
    assert "320 in all but only Large has" in one_large.layout.meta["message"]
    assert one_large.layout.meta["message"].startswith("Too few sessions with vitals")
    # two clinics of FUNNEL_MIN_N: drawn, the small ones too, and the clinic without a case named
    inputs = _funnel_inputs(["A", "B", "C"], [FUNNEL_MIN_N, 80, 3], [15, 40, 1], 56 / (FUNNEL_MIN_N + 83))
    inputs["clinics"] = pd.concat([inputs["clinics"], nobody.iloc[:1]], ignore_index=True)
    drawn = clinic_funnel(inputs, ChartContext(CTX.period, "all 4 clinics"))  # the selection counts all four
    assert not is_empty(drawn)
    assert sorted(x for t in _marker_traces(drawn) for x in t.x) == [3, FUNNEL_MIN_N, 80]
    assert "3 clinics, 0 outside the 99.8% limits; 1 more with no evaluable course" in drawn.layout.meta["subtitle"]
    assert "in this selection: Denver." in drawn.layout.meta["footnote"]


def test_a_funnel_with_figures_hidden_by_suppression():
    """In an export, small counts and those that would reveal them are hidden (dashboard.suppression, the
    real rules). Two clinics left with their figures: drawn against the network, which pools the hidden
    one. One left: nothing to compare, and the sentence says the others are hidden, without their counts."""
    from dashboard.charts.outcomes import FUNNEL_MIN_N

    spec = catalog.get("outcomes.clinic_funnel")
    result = spec.suppressed(_funnel_inputs(["Large", "Middle", "Small", "Tiny"], [300, 200, 100, 8],
                                            [150, 90, 60, 2], 302 / 608), 11)
    fig = spec.figure_of(result, CTX)
    assert not is_empty(fig)
    (dots,) = _marker_traces(fig)
    assert sorted(dots.x) == [200, 300]
    assert fig.layout.shapes[0].y0 == pytest.approx(302 / 608)  # the network line pools every clinic
    result = spec.suppressed(_funnel_inputs(["Large", "Middle", "Small"], [300, 120, 8], [150, 70, 2], 222 / 428), 11)
    fig = spec.figure_of(result, CTX)
    message = fig.layout.meta["message"]
    assert is_empty(fig) and f"only Large has {FUNNEL_MIN_N} or more" in message and "hidden (cell-size rule)" in message
    assert not re.search(r"\b(120|8|70|2)\b", message.replace("<br>", " ")), message


def test_quarantine_reasons_do_not_claim_the_sidebar_selection():
    """Quarantined rows are counted over the whole warehouse: with one clinic and one modality chosen in
    the sidebar, the chart said 'Denver Interventional Psychiatry · Esketamine nasal spray' over the
    network's counts."""
    from dashboard.charts.quality import quarantine_reasons

    data = pd.DataFrame({"kind": ["vitals", "sessions"], "reason": ["session_id must name a known session",
                                                                   "dose_mg must be positive"], "rows": [251, 4]})
    one = ChartContext(period="1 Apr – 30 Jun 2026", selection="Denver Interventional Psychiatry · Esketamine nasal spray")
    for fig in (quarantine_reasons(data, one), quarantine_reasons(data.iloc[0:0], one)):
        subtitle = fig.layout.meta["subtitle"]
        assert "Denver" not in subtitle and "Esketamine" not in subtitle, subtitle
        assert "filters do not apply" in subtitle
    assert quarantine_reasons(data, one).layout.meta["subtitle"].startswith("n = 255 row-reasons")


def test_interventions_do_not_read_as_exclusive_categories(sample_data):
    """'None needed 76.4% (4,991 sessions)' beside 'Ondansetron 7.8% (507)' read as: three quarters of sessions
    needed nothing. The 'none' bar counts sessions with any side effect left without an intervention, also
    sessions whose other side effect got ondansetron, so the bars overlap (sessions under 'none' plus those
    under the others exceed the sessions with a side effect)."""
    data = sample_data["safety.interventions"]
    any_effect = sample_data["safety.side_effects"]["overall"].set_index("effect").loc["any", "sessions"]
    assert data["sessions"].sum() > any_effect  # the overlap is real on the sample
    fig = catalog.get("safety.interventions").figure(data, CTX)
    names = list(fig.data[0].y)
    assert not any("needed" in name.lower() for name in names), names
    assert "No intervention given (for a side effect)" in names
    assert "overlap" in fig.layout.meta["footnote"]


def test_rates_by_dose_band_draw_groups_over_few_sessions_pale():
    """BP elevation by dose band, sample Q2 2026: 28 mg (n=15, 1 elevated session) was the tallest solid bar
    of the chart beside bands of thousands of sessions. A band under FEW_SESSIONS is drawn pale and the
    footnote says so; the others keep the full colour."""
    from dashboard.charts.safety import FEW_SESSIONS, bp_by

    data = pd.DataFrame({"group_value": ["0.50-0.74 mg/kg", "28 mg", "56 mg"], "rate": [0.009, 1 / 15, 0.008],
                         "ci_low": [0.006, 0.012, 0.003], "ci_high": [0.013, 0.298, 0.02],
                         "sessions_with_vitals": [3395, FEW_SESSIONS - 15, 596], "elevated_sessions": [31, 1, 5]})
    fig = bp_by(data, CTX)
    (bars,) = fig.data
    solid, pale, solid2 = bars.marker.color
    assert solid == solid2 and pale != solid and pale.startswith("rgba(") and pale.endswith(", 0.3)")
    assert f"Pale bars: fewer than {FEW_SESSIONS} sessions with vitals" in fig.layout.meta["footnote"]
    big = bp_by(data.assign(sessions_with_vitals=[3395, 400, 596]), CTX)
    assert len(set(big.data[0].marker.color)) == 1 and "Pale bars" not in big.layout.meta["footnote"]


def test_booster_intervals_past_the_axis_are_counted_not_dropped():
    """The histogram's axis stops near six months so the usual 4-8 week intervals stay legible; a patient
    coming back after a year is still a booster interval (and in n). Intervals past the axis were
    silently off the chart; the subtitle now says how many, and none when all fit."""
    from dashboard.charts.boosters import interval_histogram

    hist = pd.DataFrame({"bin_start": [28, 35, 42, 175, 182, 189, 364], "intervals": [300, 500, 200, 9, 7, 4, 3]})
    summary = pd.DataFrame({"intervals": [1023], "median_days": [38.0], "p25_days": [34.0], "p75_days": [44.0]})
    fig = interval_histogram({"histogram": hist, "summary": summary}, CTX)
    lo, hi = fig.layout.xaxis.range
    assert hi == 189  # whole 7-day bins: the last one drawn ends at the axis
    beyond = int(hist.loc[hist["bin_start"] >= hi, "intervals"].sum())
    assert beyond == 7
    assert "n = 1,023 booster intervals" in fig.layout.meta["subtitle"]
    assert "7 over 188 days, past the axis" in fig.layout.meta["subtitle"]
    short = interval_histogram({"histogram": hist[hist["bin_start"] < 189], "summary": summary}, CTX)
    assert "past the axis" not in short.layout.meta["subtitle"] and short.layout.xaxis.range[1] == 189


def test_trajectory_draws_means_over_few_courses_open():
    """8 clinics, Q3 2026: PHQ-9 mean 16 at session 9 (2 courses) and 14 at session 10 (1 course) were solid
    points on the line after 6.3 at session 8 (231 courses), read as scores rising again. A mean over
    fewer than FEW_COURSES courses is drawn open and the footnote says so."""
    from dashboard.charts.outcomes import FEW_COURSES, trajectory

    data = pd.DataFrame({"session_number": [0, 2, 8, 9, 10], "courses": [3264, 2283, 231, FEW_COURSES - 28, 1],
                         "mean_score": [17.6, 10.5, 6.3, 16.0, 14.0], "ci_low": [17.4, 10.3, 5.6, 3.3, None],
                         "ci_high": [17.7, 10.7, 7.1, 28.7, None]})
    fig = trajectory(data, CTX, "PHQ9")
    (line,) = [t for t in fig.data if t.name == "Mean score"]
    (few,) = [t for t in fig.data if t.name == f"Mean of fewer than {FEW_COURSES} courses"]
    # the line joins the means of enough courses only; the others are open points off it (8 clinics, Q3 2026:
    # one course at session 1 drew the line from 17 down to 5 and back up to 10)
    assert list(line.x) == [0, 2, 8] and line.mode == "lines+markers"
    assert list(few.x) == [9, 10] and few.mode == "markers" and few.marker.symbol == "circle-open"
    # the band follows the line; a few courses' interval is a bar on its open point (none for one course)
    (band_low,) = [t for t in fig.data if t.name == "95% interval"]
    assert list(band_low.x) == [0, 2, 8]
    assert list(few.error_y.array)[0] == pytest.approx(28.7 - 16.0) and pd.isna(list(few.error_y.array)[1])
    assert f"Open points, off the line: fewer than {FEW_COURSES} courses" in fig.layout.meta["footnote"]
    solid = trajectory(data.iloc[:3], CTX, "PHQ9")
    assert "Open points" not in solid.layout.meta["footnote"]
    assert [t.name for t in solid.data if t.mode and "markers" in t.mode] == ["Mean score"]
    only_few = trajectory(data.iloc[3:], CTX, "PHQ9")
    assert not [t for t in only_few.data if t.name == "Mean score"]


def test_trajectory_draws_the_remission_line_and_scale_the_data_carries():
    """The remission line and the axis top come from score_trajectory's columns (the outcome rules in SQL),
    not from a table of thresholds in the chart: a rule changed in SQL moves the line with it."""
    from dashboard.charts.outcomes import trajectory

    data = pd.DataFrame({"session_number": [0, 2], "courses": [40, 35], "mean_score": [50.0, 40.0],
                         "ci_low": [48.0, 38.0], "ci_high": [52.0, 42.0], "score_max": [80, 80],
                         "remission_line": [32.5, 32.5]})
    fig = trajectory(data, CTX, "PCL5")
    (line,) = [s for s in fig.layout.shapes if s.type == "line"]
    assert line.y0 == line.y1 == 32.5
    assert fig.layout.yaxis.range[1] == pytest.approx(52.0 * 1.08)
    capped = trajectory(data.assign(ci_high=[79.0, 42.0]), CTX, "PCL5")
    assert capped.layout.yaxis.range[1] == 80
    moved = trajectory(data.assign(remission_line=[30.0, 30.0]), CTX, "PCL5")
    assert [s.y0 for s in moved.layout.shapes if s.type == "line"] == [30.0]
    bare = trajectory(data.drop(columns=["remission_line", "score_max"]), CTX, "PCL5")
    assert not [s for s in bare.layout.shapes if s.type == "line"]


def test_a_trajectory_whose_baseline_is_hidden_says_so_and_claims_no_other_n():
    """An export may hide the baseline's n (the outcome table's hidden courses with a baseline) and with it the
    mean there. The line then started at session 2 without a word, and the subtitle gave session 2's n (140) as
    the 'courses with a baseline'. Now the axis keeps session 0, marked, and the note names the sessions hidden."""
    from dashboard.charts.outcomes import trajectory

    nan = float("nan")
    data = pd.DataFrame({"session_number": [0, 2, 3, 6], "courses": [nan, 140.0, nan, 82.0],
                         "mean_score": [nan, 10.2, nan, 5.7], "ci_low": [nan, 9.4, nan, 4.6],
                         "ci_high": [nan, 11.1, nan, 6.9]})
    fig = trajectory(data, CTX, "PHQ9")
    assert "140" not in fig.layout.meta["subtitle"] and "courses with a baseline not shown" in fig.layout.meta["subtitle"]
    assert "Not shown (small counts): sessions 0 (the baseline), 3." in fig.layout.meta["footnote"]
    assert fig.layout.xaxis.range[0] < 0 and any("Baseline" in a.text for a in fig.layout.annotations)
    shown = trajectory(data.assign(courses=[212.0, 140.0, 5.0, 82.0], mean_score=[17.4, 10.2, 11.8, 5.7]), CTX, "PHQ9")
    assert "n = 212 courses with a baseline" in shown.layout.meta["subtitle"]
    assert "Not shown" not in shown.layout.meta["footnote"]
    gone = trajectory(data.assign(courses=nan, mean_score=nan), CTX, "PHQ9")
    assert "every figure here is a small count" in str(gone.layout.annotations[0].text)


def test_utilization_by_week_of_a_single_week_has_a_readable_date_axis():
    """A period inside one week (a day, or Mon-Sun) gave each clinic one point on an axis of milliseconds
    ('23:59:59.9995'). The axis spans a fortnight around the week, its date the only tick."""
    from dashboard.charts.capacity import utilization_by_week

    week = pd.Timestamp("2026-06-29")
    data = pd.DataFrame({"clinic_id": ["DEN", "NYC"], "clinic_name": ["Denver", "New York"], "week_start": [week, week],
                         "available_chair_hours": [40.0, 72.0], "occupied_chair_hours": [30.0, 50.0],
                         "utilization": [0.75, 50 / 72]})
    fig = utilization_by_week(data, CTX)
    lo, hi = (pd.Timestamp(v) for v in fig.layout.xaxis.range)
    assert lo < week < hi and (hi - lo).days >= 7
    assert [pd.Timestamp(v) for v in fig.layout.xaxis.tickvals] == [week]


def test_a_funnel_of_a_rare_event_is_drawn_on_the_scale_of_its_limits():
    """BP elevation, 8 clinics, Q3 2026: network 1.2% with limits about 0.4-2.2% over 1,000-3,000 sessions.
    Three points of margin and a 10-point axis drew the funnel in the bottom fifth of the plot (0-10%).
    Below RARE_RATE the axis follows the limits; a common rate keeps its 10-point floor."""
    from dashboard.charts.outcomes import FUNNEL_MIN_SPAN, RARE_MIN_SPAN, RARE_RATE, clinic_funnel

    n = [1180, 1650, 1670, 2150, 2360, 2650, 2750, 3090]
    events = [12, 16, 21, 25, 27, 33, 31, 37]
    inputs = _funnel_inputs([f"Clinic {i}" for i in range(8)], n, events, sum(events) / sum(n))
    assert inputs["clinics"]["network_rate"].iloc[0] < RARE_RATE
    fig = clinic_funnel(inputs, CTX)
    lo, hi = fig.layout.yaxis.range
    limits = inputs["limits"][inputs["limits"]["n"] >= min(n)]
    band = float(limits["upper_998"].max()) - float(limits["lower_998"].min())
    assert band / (hi - lo) > 0.6, (lo, hi, band)  # the funnel fills the plot
    assert hi - lo >= RARE_MIN_SPAN
    rates = inputs["clinics"]["rate"]
    assert lo <= rates.min() and hi >= rates.max()
    common = clinic_funnel(_funnel_inputs(["A", "B", "C"], [900, 1000, 1100], [520, 560, 640], 0.57), CTX)
    assert common.layout.yaxis.range[1] - common.layout.yaxis.range[0] >= FUNNEL_MIN_SPAN


def test_rems_by_clinic_slanted_names_stay_clear_of_the_footnote(tmp_path):
    """8 clinics, Q3 2026: the slanted clinic names under REMS completeness by clinic ran through the
    footnote ('Oklahoma City Interventional Psychiatry' across 'Wilson 95% intervals'). Measured in
    Chromium: every tick label ends above the footnote's first line."""
    from browser import chromium

    from dashboard.charts.safety import rems_by_clinic

    names = ["Boston Ketamine Institute", "Denver Ketamine Institute", "Los Angeles Mood & Wellness",
             "Ketamine Institute, New York", "Oklahoma City Interventional Psychiatry", "Phoenix Ketamine Center",
             "Salt Lake City Mood & Wellness", "Interventional Psychiatry, Tulsa"]
    n = [426, 159, 507, 428, 453, 276, 278, 612]
    data = pd.DataFrame({"clinic_id": [f"C{i}" for i in range(8)], "clinic_name": names, "esketamine_sessions": n,
                         "complete": n, "complete_rate": [1.0] * 8, "complete_ci_low": [0.98] * 8,
                         "complete_ci_high": [1.0] * 8})
    fig = rems_by_clinic(data, CTX)
    page_file = tmp_path / "rems.html"
    fig.write_html(page_file, include_plotlyjs=True, full_html=True, default_width="1100px")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(page_file.as_uri())
        page.wait_for_selector(".main-svg .xtick text")
        ticks_bottom = page.evaluate(
            "() => Math.max(...Array.from(document.querySelectorAll('.xtick text'), t => t.getBoundingClientRect().bottom))")
        foot_top = page.evaluate(
            "() => Array.from(document.querySelectorAll('.annotation-text')).find(t => t.textContent.includes('Complete REMS'))"
            ".getBoundingClientRect().top")
    assert ticks_bottom <= foot_top, (ticks_bottom, foot_top)


def test_weekday_hour_of_a_clinic_without_open_hours_names_that_clinic():
    """The Capacity page's clinic box lists every clinic; one closed or without data in the period (a Sunday,
    a clinic not yet open) drew 'When chairs are busy: clinic' over 'all 3 clinics'. It names the clinic."""
    from dashboard.charts.capacity import weekday_hour

    others = pd.DataFrame({"clinic_id": ["NYC"], "clinic_name": ["New York"], "weekday": [7], "hour": [9],
                           "open_days": [1], "available_minutes": [480.0], "occupied_minutes": [300.0],
                           "utilization": [0.625]})
    fig = weekday_hour(others, CTX, clinic_id="DEN")
    assert is_empty(fig)
    assert "When chairs are busy: DEN" in fig.layout.meta["title"]
    assert "DEN" in fig.layout.meta["subtitle"] and "all 3 clinics" not in fig.layout.meta["subtitle"]
    assert "When chairs are busy: New York" in weekday_hour(others, CTX, clinic_id="NYC").layout.meta["title"]


def test_empty_rates_of_sessions_with_vitals_are_worded_in_the_singular():
    """One clinic, OCD, 1-3 Jan 2025 (8 clinics): 'No sessions with vital for this selection.' under BP elevation
    by dose band and on the BP funnel; the last 's' of the noun was cut, not the plural."""
    from dashboard.charts.outcomes import clinic_funnel
    from dashboard.charts.safety import bp_by

    empty_rates = pd.DataFrame(columns=["group_value", "rate", "ci_low", "ci_high", "sessions_with_vitals",
                                        "elevated_sessions"])
    empty_funnel = {"clinics": pd.DataFrame(columns=["clinic_name", "n", "events", "rate", "network_rate",
                                                     "outside_95", "outside_998"]),
                    "limits": pd.DataFrame(columns=["n", "upper_998", "lower_998", "upper_95", "lower_95"])}
    figures = (bp_by(empty_rates, CTX), clinic_funnel(empty_funnel, CTX, measure="bp_elevation"))
    for fig in figures:
        assert is_empty(fig)
        assert fig.layout.meta["message"].startswith("No session with vitals for this selection"), fig.layout.meta["message"]


def test_item9_persisted_flags_are_drawn_as_a_risk_not_in_neutral_grey():
    """Persisted (flagged at baseline and at follow-up) was grey beside a green 'Resolved' and a red
    'Emerged': the group a clinician follows up first looked like the least important one."""
    from dashboard.charts.outcomes import item9_flags

    row = {"courses_with_baseline_item9": 400, "courses_with_follow_up_item9": 380, "baseline_flag_rate": 0.4,
           "follow_up_flag_rate": 0.2, "flagged_at_baseline": 160, "flagged_at_follow_up": 76,
           "courses_with_both": 370, "resolved": 90, "emerged": 10, "persisted": 64}
    fig = item9_flags(pd.DataFrame([row]), CTX)
    transitions = next(t for t in fig.data if list(t.x) == ["Resolved", "Emerged", "Persisted"])
    colours = dict(zip(transitions.x, transitions.marker.color, strict=True))
    assert colours["Persisted"] not in (theme.OKABE_ITO["grey"], theme.MUTED, colours["Resolved"])
    assert colours["Persisted"] == theme.SEVERITY_COLOURS["severe"]


@pytest.mark.parametrize(("n", "noun", "expected"), [
    (1, "open days", "n = 1 open day"),
    (1.0, "booster intervals", "n = 1 booster interval"),
    (1, "courses with a baseline item 9", "n = 1 course with a baseline item 9"),
    (2, "open days", "n = 2 open days"),
    (0, "treated sessions", "n = 0 treated sessions"),
    (None, "courses", "n = — courses"),
])
def test_n_label_speaks_of_one_thing_in_the_singular(n, noun, expected):
    """A weekday x hour chart of one open day said 'n = 1 open days'."""
    from dashboard.charts.base import n_label

    assert n_label(n, noun) == expected


# -- courses still running when the data ends (docs/metrics.md, Interpretations 18) -------------------
def _spec(chart_id):
    return next(s for s in catalog.CATALOG if s.id == chart_id)


def test_evaluability_shows_an_open_follow_up_window_as_its_own_reason(sample_data):
    """The quarter ends on the data's last day: courses whose follow-up window is still open were 'No follow-up'."""
    data = sample_data["outcomes.evaluability"]
    fig = _spec("outcomes.evaluability").figure(data, CTX)
    bars = {t.name: t for t in fig.data}
    assert "Follow-up window still open" in bars and "No follow-up" in bars
    assert data["follow_up_open"].sum() > 0
    assert list(bars["Follow-up window still open"].x) == list(_instrument_sorted(data)["follow_up_open"])
    assert "still open" in fig.layout.meta["footnote"]


def _instrument_sorted(data):
    from dashboard.charts.outcomes import _instrument_order
    return _instrument_order(data)


def test_new_courses_by_month_tell_courses_still_in_induction_from_those_that_stopped(sample_data):
    data = sample_data["overview.courses_by_month"].sort_values("group_value")
    fig = _spec("overview.courses_by_month").figure(data, CTX)
    bars = {t.name: t for t in fig.data}
    assert set(bars) == {"Completed induction", "Stopped before completing", "Still in induction"}
    assert sum(bars["Still in induction"].y) == data["still_in_induction"].sum() > 0
    assert list(bars["Stopped before completing"].y) == list(data["induction_ended"] - data["completed_induction"])
    assert any("still in induction" in t for t in bars["Still in induction"].customdata)


def test_the_induction_funnel_counts_courses_still_in_induction_apart(sample_data):
    data = sample_data["outcomes.induction_funnel"]
    fig = _spec("outcomes.induction_funnel").figure(data, CTX)
    waiting = int(data.groupby("modality_family")["still_in_induction"].max().sum())
    assert waiting > 0
    assert f"{waiting:,} still in induction, left out" in fig.layout.meta["subtitle"]
    assert "courses past induction" in fig.layout.meta["subtitle"]
    assert any("still in induction)" in t.name for t in fig.data)


@pytest.mark.parametrize("builder", ["utilization_by_clinic", "utilization_by_week", "peak_chairs", "lost_capacity"])
def test_empty_chair_charts_suggest_only_the_filter_that_can_help(builder):
    """Chairs are shared by every modality and indication, so an empty chair chart that said 'choose more
    clinics, modalities or indications' sent the reader to filters that change nothing."""
    from dashboard.charts import capacity

    columns = ["clinic_id", "clinic_name", "week_start", "available_chair_hours", "occupied_chair_hours",
               "utilization", "peak_concurrent", "chairs", "lost_chair_hours"]
    fig = getattr(capacity, builder)(pd.DataFrame(columns=columns), CTX)
    assert is_empty(fig)
    texts = " ".join(str(a.text) for a in fig.layout.annotations)
    assert "choose more clinics." in texts and "modalities" not in texts and "indications" not in texts


def test_outcome_charts_still_draw_from_a_warehouse_built_before_courses_still_running_were_counted(sample_data):
    """Macros live in the warehouse: one built before this change has no still_in_induction, induction_ended
    or follow_up_open columns until its next load. The Overview and Outcomes charts drew a KeyError."""
    old = {"overview.courses_by_month": ["still_in_induction", "induction_ended"],
           "outcomes.evaluability": ["follow_up_open"], "outcomes.induction_funnel": ["still_in_induction"]}
    for chart_id, columns in old.items():
        fig = _spec(chart_id).figure(sample_data[chart_id].drop(columns=columns), CTX)
        assert not is_empty(fig), chart_id
        assert not any("still" in (t.name or "") for t in fig.data), chart_id


EIGHT_CLINICS = ["Boston Ketamine Institute", "Denver Ketamine Institute", "Los Angeles Mood & Wellness",
                 "Ketamine Institute, New York", "Oklahoma City Interventional Psychiatry", "Phoenix Ketamine Center",
                 "Salt Lake City Mood & Wellness", "Interventional Psychiatry, Tulsa"]


@pytest.mark.parametrize(("n", "events"), [
    ([2360, 1180, 2750, 1670, 2180, 1640, 1670, 3090], [25, 12, 29, 21, 27, 16, 21, 38]),  # BP elevation, Q3 2026
    ([320, 160, 372, 297, 370, 225, 233, 412], [192, 86, 220, 170, 230, 135, 146, 235]),  # PHQ-9 response
])
def test_funnel_clinic_names_do_not_run_into_each_other(tmp_path, n, events):
    """8 clinics, Q3 2026: names of clinics of similar size were written over each other ('Salt Lake City
    Mood & WellnessKetamine Institute, New York'). Measured in Chromium at a board pack's narrow width and a
    screen's: no two names overlap, and every name stays inside the figure."""
    from browser import chromium

    from dashboard.charts.outcomes import clinic_funnel

    fig = clinic_funnel(_funnel_inputs(EIGHT_CLINICS, n, events, sum(events) / sum(n)), CTX)
    names = [a for a in fig.layout.annotations if a.text in EIGHT_CLINICS]
    assert sorted(a.text for a in names) == sorted(EIGHT_CLINICS)
    assert all(a.showarrow for a in names if abs(a.ay or 0) > 3)  # a name moved away points at its dot
    boxes_js = ("() => Array.from(document.querySelectorAll('.annotation-text'), t => {"
                " const b = t.getBoundingClientRect(); return [t.textContent, b.left, b.top, b.right, b.bottom]; })")
    with chromium() as browser:
        for width in (700, 1100):
            page_file = tmp_path / f"funnel_{width}.html"
            fig.write_html(page_file, include_plotlyjs=True, full_html=True, default_width=f"{width}px")
            page = browser.new_page(viewport={"width": width + 100, "height": 800})
            page.goto(page_file.as_uri())
            page.wait_for_selector(".main-svg .annotation")
            boxes = [b for b in page.evaluate(boxes_js) if b[0] in EIGHT_CLINICS]
            svg = page.evaluate("() => document.querySelector('.main-svg').getBoundingClientRect().right")
            page.close()
            assert len(boxes) == 8
            clashes = [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                       if min(a[3], b[3]) - max(a[1], b[1]) > 0.5 and min(a[4], b[4]) - max(a[2], b[2]) > 0.5]
            assert not clashes, (width, clashes)
            assert all(b[1] >= 0 and b[3] <= svg for b in boxes), width


def test_label_layout_keeps_names_of_one_spot_apart():
    """Two clinics on the same spot and a crowd around them: the estimated boxes overlap nowhere, and a
    name placed a line or more from its dot is drawn with a leader line."""
    from dashboard.charts.label_layout import overlapping_pairs, place_labels

    points = [(1670.0, 0.0126, "Salt Lake City Mood & Wellness"), (1670.0, 0.0126, "Ketamine Institute, New York"),
              (1640.0, 0.0098, "Phoenix Ketamine Center"), (2180.0, 0.0124, "Oklahoma City Interventional Psychiatry"),
              (1180.0, 0.0102, "Denver Ketamine Institute")]
    x_range, y_range = (708.0, 3276.0), (0.0, 0.024)
    placements = place_labels(points, x_range, y_range)
    assert overlapping_pairs(points, placements, x_range, y_range) == []
    assert {p.xanchor for p in placements[:2]} == {"left", "right"} or placements[0].yshift != placements[1].yshift
    for p in placements:
        kwargs = p.as_kwargs()
        assert kwargs["showarrow"] is p.away
        if p.away:
            assert kwargs["ay"] == -p.yshift and kwargs["arrowhead"] == 0


def test_booster_histogram_n_is_every_interval_even_when_small_bins_are_hidden():
    """An export hides bins under the cell-size rule: its subtitle summed the bars drawn (n = 991) while the
    key figure beside it said n = 1,010. n is every interval; the hidden ones are counted in words."""
    from dashboard.charts.boosters import interval_histogram

    hist = pd.DataFrame({"bin_start": [28, 35, 42, 49, 154], "intervals": [300.0, 500.0, 191.0, None, None]})
    summary = pd.DataFrame({"intervals": [1010], "median_days": [38.0], "p25_days": [34.0], "p75_days": [44.0]})
    fig = interval_histogram({"histogram": hist, "summary": summary}, CTX)
    assert "n = 1,010 booster intervals" in fig.layout.meta["subtitle"]
    assert "19 in bins too small to show" in fig.layout.meta["subtitle"]
    whole = interval_histogram({"histogram": hist.fillna({"intervals": 9.5}), "summary": summary}, CTX)
    assert "too small" not in whole.layout.meta["subtitle"] and "n = 1,010" in whole.layout.meta["subtitle"]


@pytest.mark.parametrize("clinics", [4, 5, 8])
def test_weekly_utilization_of_more_than_four_clinics_is_a_heatmap_not_tangled_lines(clinics):
    """Eight clinics' weekly lines, all between 60% and 90%, crossed every week: no clinic could be followed.
    Up to four clinics are lines; five or more a clinic x week heatmap, one named row per clinic."""
    from dashboard.charts.capacity import WEEK_LINES, utilization_by_week

    weeks = pd.date_range("2026-06-29", periods=13, freq="7D")
    data = pd.DataFrame([{"clinic_id": f"C{i}", "clinic_name": f"Clinic {i}", "week_start": w,
                          "utilization": 0.6 + 0.03 * ((i + k) % 9), "occupied_chair_hours": 300.0,
                          "available_chair_hours": 480.0}
                         for i in range(clinics) for k, w in enumerate(weeks)])
    fig = utilization_by_week(data, CTX)
    if clinics <= WEEK_LINES:
        assert [t.type for t in fig.data].count("scatter") == clinics
        assert not any(t.type == "heatmap" for t in fig.data)
        assert "Shaded: the 70–80% benchmark band" in fig.layout.meta["footnote"]
    else:
        (heatmap,) = [t for t in fig.data if t.type == "heatmap"]
        assert list(heatmap.y) == [f"Clinic {i}" for i in range(clinics)]
        assert not any(t.type == "scatter" and t.name and t.name.startswith("Clinic") for t in fig.data)
        # every row named, and tall enough to read (8 clinics had 324 px and every other name)
        assert list(fig.layout.yaxis.ticktext) == [f"Clinic {i}" for i in range(clinics)]
        assert fig.layout.height >= 380 and (fig.layout.height - 170) / clinics >= 26
        # one colour-bar label for the band (70% and 80% ran together), and the footnote names the colours
        assert "70–80%" in heatmap.colorbar.ticktext and "Green: within the 70–80%" in fig.layout.meta["footnote"]


def test_peak_chairs_chart_says_beside_each_bar_for_how_long_every_chair_was_in_use():
    """A quarter's peak is every clinic's chairs, and nearly every clinic fills them on nearly every open day (full
    on 59-64 of 64 days across 8 clinics): neither told clinics apart. Beside each bar and its chairs marker, the
    share of open hours with every chair in use (15-42% there), then the full days; a hidden figure says the
    rule hid it; the subtitle gives the range over the clinics drawn."""
    from dashboard.charts.capacity import peak_chairs

    data = pd.DataFrame({"clinic_id": ["A", "B", "C"], "clinic_name": ["Austin", "Boston", "Chicago"],
                         "chairs": [4, 8, 6], "peak_concurrent_chairs": [4, 6, 6],
                         "treated_sessions": [900, 40, 700], "open_days": [65, 1, 64],
                         "full_days": [63, None, 12], "full_time_share": [0.4213, None, 0.004]})
    fig = peak_chairs(data, CTX)
    (words,) = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert list(words.text) == ["all chairs in use 42% of open hours", "full time not shown (cell-size rule)",
                                "all chairs in use 0.4% of open hours"]
    # the days on which every chair was in use at some moment: in the hover (a pack page cut them mid-word)
    bars = fig.data[0]
    assert list(bars.customdata)[0] == "all chairs in use 42% of open hours; full at times on 63 of 65 open days"
    assert all(x > end for x, end in zip(words.x, [4, 8, 6], strict=True))
    assert fig.layout.xaxis.range[1] > max(words.x)
    assert "every chair in use 0.4–42% of open hours" in fig.layout.meta["subtitle"]
    assert "full time" in fig.layout.meta["footnote"]


@pytest.mark.parametrize("clinics", [2, 6])
def test_weekly_utilization_marks_the_week_a_clinic_changed_its_chairs(clinics):
    """An audit read a dip from 75% to 59% as falling demand: the clinic had gone from 6 to 8 chairs (occupied
    chair-hours rose). The week its chairs change is marked, on lines and on the heatmap, and the footnote says
    which clinic and week (a board pack's picture has no hover); a clinic whose chairs stay the same has no mark."""
    from dashboard.charts.capacity import utilization_by_week

    weeks = pd.date_range("2025-07-07", periods=8, freq="7D")
    data = pd.DataFrame([{"clinic_id": f"C{i}", "clinic_name": f"Clinic {i}", "week_start": w, "utilization": 0.7,
                          "occupied_chair_hours": 300.0, "available_chair_hours": 430.0,
                          "chairs": 8 if (i == 0 and k >= 3) else 6}
                         for i in range(clinics) for k, w in enumerate(weeks)])
    fig = utilization_by_week(data, CTX)
    marks = [t for t in fig.data if t.type == "scatter" and t.marker.symbol == "diamond"]
    assert len(marks) == 1 and [pd.Timestamp(x) for x in marks[0].x] == [weeks[3]]
    assert "6→8 chairs" in list(marks[0].text)[0]
    assert "Chairs changed: Clinic 0 6→8 (week of 28 Jul 2025)" in fig.layout.meta["footnote"]
    unchanged = utilization_by_week(data.assign(chairs=6), CTX)
    assert not [t for t in unchanged.data if t.type == "scatter" and t.marker.symbol == "diamond"]
    assert "Chairs changed" not in unchanged.layout.meta["footnote"]


@pytest.mark.parametrize("clinics", [2, 6])
def test_weekly_utilization_marks_the_weeks_a_clinic_closed_on_a_public_holiday(clinics):
    """Thanksgiving week read 58% at Denver against 70-76% around it, and nothing said why: the clinic closed that
    Thursday, a day utilization still counts as available. Such a week gets a ring, on lines and on the heatmap,
    the line's hover says so, and the footnote names the holiday, its week and who closed ("every clinic" when
    all of them did). Without any closure there is no ring and no such note."""
    from dashboard.charts.capacity import utilization_by_week

    weeks = pd.date_range("2025-11-10", periods=8, freq="7D")  # Thanksgiving week: 24 Nov; Christmas: 22 Dec
    holiday = {pd.Timestamp("2025-11-24"): "Thanksgiving", pd.Timestamp("2025-12-22"): "Christmas Day"}
    data = pd.DataFrame([{"clinic_id": f"C{i}", "clinic_name": f"Clinic {i}", "week_start": w, "chairs": 6,
                          "utilization": 0.58 if w in holiday else 0.72, "occupied_chair_hours": 300.0,
                          "available_chair_hours": 430.0,
                          # every clinic closed on Thanksgiving; Clinic 0 alone on Christmas Day
                          "closed_holidays": holiday.get(w) if (w == weeks[2] or i == 0) else None}
                         for i in range(clinics) for k, w in enumerate(weeks)])
    fig = utilization_by_week(data, CTX)
    (rings,) = [t for t in fig.data if t.type == "scatter" and t.marker.symbol == "circle-open"]
    marked = sorted((pd.Timestamp(x), c[0], c[1]) for x, c in zip(rings.x, rings.customdata, strict=True))
    assert marked == sorted([(weeks[2], f"Clinic {i}", "Thanksgiving") for i in range(clinics)]
                            + [(weeks[6], "Clinic 0", "Christmas Day")])
    assert "closed on %{customdata[1]}" in rings.hovertemplate
    foot = fig.layout.meta["footnote"]
    assert "Closed on a public holiday, a day that still counts as available chair time" in foot
    assert "Thanksgiving, week of 24 Nov 2025 (every clinic); Christmas Day, week of 22 Dec 2025 (Clinic 0)" in foot
    if clinics <= 4:  # lines: the ring is in the legend, and the week's own hover says it too
        assert rings.showlegend and rings.name == "Closed on a public holiday"
        line = next(t for t in fig.data if t.name == "Clinic 0")
        assert [t for x, t in zip(line.x, line.customdata, strict=True) if "closed on" in t] == [
            "58% (300 of 430 chair-hours); closed on Thanksgiving",
            "58% (300 of 430 chair-hours); closed on Christmas Day"]
    for without in (data.assign(closed_holidays=None), data.drop(columns="closed_holidays")):
        plain = utilization_by_week(without, CTX)
        assert not [t for t in plain.data if t.type == "scatter" and t.marker.symbol == "circle-open"]
        assert "public holiday" not in plain.layout.meta["footnote"]


def test_completion_by_group_says_who_stops_before_completing_induction():
    """'Who drops out': induction completion per group with its Wilson interval, groups listed by name (never
    ranked), n the courses whose induction ended, a group under 30 drawn open, a group an export hides kept on
    its row and marked, and the courses still in induction said to be left out (not shown when hidden)."""
    from dashboard.charts.outcomes import completion_by_group

    data = pd.DataFrame({
        "group_value": ["yes", "no", "not_recorded"], "courses": [300, 900, 12.0],
        "completed_induction": [120, 450, float("nan")], "still_in_induction": [20, 60, float("nan")],
        "induction_ended": [280, 840, float("nan")], "induction_completion_rate": [120 / 280, 450 / 840, float("nan")],
        "induction_completion_ci_low": [0.37, 0.50, float("nan")], "induction_completion_ci_high": [0.49, 0.57, float("nan")],
    })
    fig = completion_by_group(data, CTX, breakdown="benzodiazepine")
    assert fig.layout.meta["title"].startswith("Induction completion by benzodiazepine use")
    assert list(fig.layout.yaxis.ticktext) == ["Benzodiazepine not recorded  (n not shown)",
                                               "Not on benzodiazepine  (n=840)", "On benzodiazepine  (n=280)"]
    (dots,) = [t for t in fig.data if t.mode == "markers"]
    assert list(dots.y) == [0, 1, 2]
    assert list(dots.x[1:]) == pytest.approx([450 / 840, 120 / 280]) and pd.isna(dots.x[0])
    assert list(dots.error_x.arrayminus[1:]) == pytest.approx([450 / 840 - 0.50, 120 / 280 - 0.37])
    assert "On benzodiazepine  (n=280)<br>Completed induction: 43% (37–49%, n=280)" in list(dots.customdata)
    (marks,) = [t for t in fig.data if t.mode == "text"]
    assert list(marks.text) == ["not shown (small counts)"] and list(marks.y) == [0]
    sub = fig.layout.meta["subtitle"]
    assert sub.startswith("n = 1,120 courses whose induction ended in the groups shown")
    assert "80 still in induction in the groups shown, left out" in sub
    # a group under 30 courses is an open point, and the footnote says so
    small = completion_by_group(data.assign(induction_ended=[25, 840, float("nan")]), CTX, breakdown="benzodiazepine")
    assert [t.marker.symbol for t in small.data if t.mode == "markers"] == ["circle", "circle-open"]
    assert "Open points: fewer than 30 courses whose induction ended" in small.layout.meta["footnote"]
    assert "Open points" not in fig.layout.meta["footnote"]


def test_utilization_by_clinic_names_the_public_holidays_each_clinic_closed_on():
    """A clinic that closed on more public holidays reads lower beside the others: the closed days still count as
    available chair time. The hover and the footnote say which holidays, clinics with the same ones together."""
    from dashboard.charts.capacity import utilization_by_clinic

    data = pd.DataFrame({"clinic_id": ["A", "B", "C"], "clinic_name": ["Alpha", "Beta", "Gamma"],
                         "utilization": [0.70, 0.66, 0.74], "occupied_chair_hours": [700.0, 660.0, 740.0],
                         "available_chair_hours": [1000.0] * 3,
                         "closed_holidays": ["Thanksgiving, Christmas Day", "Thanksgiving, Christmas Day", None]})
    fig = utilization_by_clinic(data, CTX)
    assert list(fig.data[0].customdata) == ["70% (700 of 1,000 chair-hours); closed on Thanksgiving, Christmas Day",
                                            "66% (660 of 1,000 chair-hours); closed on Thanksgiving, Christmas Day",
                                            "74% (740 of 1,000 chair-hours)"]
    foot = fig.layout.meta["footnote"]
    assert ("Public holidays closed on in the period, days that still count as available chair time: Alpha, Beta "
            "(Thanksgiving, Christmas Day).") in foot
    every = utilization_by_clinic(data.assign(closed_holidays="Thanksgiving"), CTX).layout.meta["footnote"]
    assert "available chair time: every clinic (Thanksgiving)." in every
    for without in (data.assign(closed_holidays=None), data.drop(columns="closed_holidays")):
        assert "Public holidays" not in utilization_by_clinic(without, CTX).layout.meta["footnote"]


def test_weekly_axes_put_their_ticks_on_mondays():
    """Weeks start on Monday, but Plotly's own weekly ticks fell on Sundays ("Jun 29, Jul 6")."""
    from dashboard.charts.base import week_axis

    for count in (5, 13, 60):
        weeks = pd.date_range("2025-06-30", periods=count, freq="7D")  # Mondays
        fig = go.Figure(go.Scatter(x=weeks, y=[1] * count))
        week_axis(fig, weeks)
        assert pd.Timestamp(fig.layout.xaxis.tick0).weekday() == 0
        step_weeks = fig.layout.xaxis.dtick / (7 * 86_400_000)
        assert step_weeks == int(step_weeks) and count / step_weeks <= 13


def test_lost_capacity_shows_no_shows_and_cancellations_apart():
    """A no-show held its chair to the end; a cancellation freed it, perhaps in time to rebook. One red bar
    hid which; the planner treats them differently. The two are stacked, with the total at the bar's end."""
    from dashboard.charts.capacity import lost_capacity

    data = pd.DataFrame([{"clinic_id": "DEN", "clinic_name": "Denver", "available_chair_hours": 2600.0,
                          "lost_chair_hours": 176.35, "lost_share": 176.35 / 2600, "no_show_chair_hours": 122.45,
                          "no_show_share": 122.45 / 2600, "cancelled_chair_hours": 53.9,
                          "cancelled_share": 53.9 / 2600, "no_show_sessions": 79, "cancelled_sessions": 35}])
    fig = lost_capacity(data, CTX)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["No-shows", "Cancellations"] and fig.layout.barmode == "stack"
    assert [round(t.x[0], 4) for t in bars] == [round(122.45 / 2600, 4), round(53.9 / 2600, 4)]
    (total,) = [t for t in fig.data if t.type == "scatter"]
    assert total.text[0].strip() == "6.8%"
    assert "79 sessions" in bars[0].customdata[0] and "35 sessions" in bars[1].customdata[0]


# -- medical-director audit, 28 Nov 2026 (/tmp/audit/director.md) -------------------------------------
def test_a_clinic_outside_the_95_percent_limits_is_explained_as_possibly_chance():
    """8 clinics, Q3 2026: Phoenix (141/271) was drawn orange, below the 95% limit, with only a blue 'Clinic'
    in the legend, a subtitle counting 99.8% outliers only and a footnote about 99.8% only: the meaning of
    orange was on hover alone, and a clinic expected outside 95% by chance read as 'the problem clinic'."""
    from dashboard.charts.outcomes import clinic_funnel

    inputs = _funnel_inputs(EIGHT_CLINICS[:4], [271, 320, 352, 300], [141, 192, 206, 228], 767 / 1243)
    inputs["clinics"]["outside_95"] = [True, False, False, True]
    inputs["clinics"]["outside_998"] = [False, False, False, True]
    fig = clinic_funnel(inputs, CTX)
    dots = {t.name: t for t in _marker_traces(fig)}
    assert set(dots) == {"Clinic", "Outside 95%: may be chance", "Outside 99.8%: unlikely to be chance"}
    assert all(t.showlegend is not False for t in dots.values())
    assert list(dots["Outside 95%: may be chance"].x) == [271]
    assert dots["Outside 95%: may be chance"].marker.color == theme.OKABE_ITO["orange"]
    assert list(dots["Outside 99.8%: unlikely to be chance"].x) == [300]
    meta = fig.layout.meta
    assert "1 outside the 99.8% limits, 1 outside 95% only (may be chance)" in meta["subtitle"]
    assert "Outside the 95% limits (orange): may be chance" in meta["footnote"]
    assert "Outside the 99.8% limits (red): unlikely to be chance" in meta["footnote"]
    # five legend entries take two rows at a board pack's width: a row's room above the plot, not over the subtitle
    from dashboard.charts.outcomes import LEGEND_ROW

    assert fig.layout.margin.t == theme.TOP_MARGIN + LEGEND_ROW
    inputs["clinics"]["outside_998"] = False
    assert clinic_funnel(inputs, CTX).layout.margin.t in (None, theme.TOP_MARGIN)  # four entries: one row


@pytest.mark.parametrize("builder", ["rates_by_instrument", "rates_by_group"])
def test_response_and_remission_of_few_courses_are_drawn_open(builder):
    """IM ketamine + PTSD, 8 clinics, Q3 2026: 'MADRS (n=1)' at 0% (interval 0-79%) was drawn like PHQ-9 over 828,
    and 'Fibromyalgia (n=15)' like 'Major depression (n=477)'. Under FEW_COURSES evaluable courses the dots are
    open with a thin bar and the footnote says so, as on the trajectory and the Safety charts."""
    from dashboard.charts import outcomes
    from dashboard.charts.outcomes import FEW_COURSES

    n = [828, FEW_COURSES, FEW_COURSES - 1, 1]
    df = pd.DataFrame({"instrument": ["PHQ9", "GAD7", "MADRS", "PCL5"], "group_value": ["a", "b", "c", "d"],
                       "evaluable": n, "response_rate": [0.57, 0.5, 0.4, 0.0], "response_ci_low": [0.54, 0.33, 0.24, 0.0],
                       "response_ci_high": [0.6, 0.67, 0.58, 0.79], "remission_rate": [0.28, 0.2, 0.1, 0.0],
                       "remission_ci_low": [0.25, 0.1, 0.04, 0.0], "remission_ci_high": [0.31, 0.37, 0.26, 0.79]})
    if builder == "rates_by_group":
        df = df.assign(instrument="PHQ9")
    fig = getattr(outcomes, builder)(df, CTX)
    traces = {t.name: t for t in _marker_traces(fig)}
    assert set(traces) == {"Response", "Remission", f"Response, n < {FEW_COURSES}", f"Remission, n < {FEW_COURSES}"}
    for kind, symbol in (("Response", "circle"), ("Remission", "diamond")):
        solid, few = traces[kind], traces[f"{kind}, n < {FEW_COURSES}"]
        assert solid.marker.symbol == symbol and few.marker.symbol == f"{symbol}-open"
        assert len(solid.x) == 2 and len(few.x) == 2  # n = 828 and FEW_COURSES solid; FEW_COURSES - 1 and 1 open
        assert few.error_x.thickness < solid.error_x.thickness
        assert few.legendgroup == solid.legendgroup
        assert few.showlegend is False and solid.showlegend is not False  # one legend row; the footnote explains
    rows = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True))
    open_rows = {rows[round(y + 0.17)] for y in traces[f"Response, n < {FEW_COURSES}"].y}
    assert {r.split("(n=")[1].rstrip(")") for r in open_rows} == {str(FEW_COURSES - 1), "1"}
    assert f"Open points: fewer than {FEW_COURSES} evaluable courses." in fig.layout.meta["footnote"]
    small = getattr(outcomes, builder)(df.iloc[2:], CTX)  # only small groups: the open points have the legend
    assert {t.name for t in _marker_traces(small) if t.showlegend is not False} == {
        f"Response, n < {FEW_COURSES}", f"Remission, n < {FEW_COURSES}"}
    large = getattr(outcomes, builder)(df.iloc[:2], CTX)  # nothing small: no open points, no sentence
    assert {t.name for t in _marker_traces(large)} == {"Response", "Remission"}
    assert "Open points" not in large.layout.meta["footnote"]


def test_the_outcomes_footnote_gives_each_instruments_remission_score_and_explains_pcl5():
    """The footnote said remission is 'follow-up at or below the instrument's remission score': wrong for
    PCL-5 (below 33). PCL-5 is evaluable from 33, so 33 to 32 remits: its remission can exceed its response
    (sample, Q2 2026: 23 of 39 against 16 of 39), which the footnote explains wherever PCL-5 is drawn."""
    from dashboard.charts.outcomes import rates_by_group, rates_by_instrument

    def rates(instruments):
        k = len(instruments)
        return pd.DataFrame({"instrument": instruments, "group_value": ["ptsd"] * k, "evaluable": [39] * k,
                             "response_rate": [16 / 39] * k, "response_ci_low": [0.27] * k, "response_ci_high": [0.57] * k,
                             "remission_rate": [23 / 39] * k, "remission_ci_low": [0.43] * k, "remission_ci_high": [0.73] * k})

    with_pcl5 = rates_by_instrument(rates(["PHQ9", "PCL5"]), CTX).layout.meta["footnote"]
    for figure in ("≤ 4 (PHQ-9, GAD-7)", "≤ 10 (MADRS)", "< 33 (PCL-5)", "≤ 3 (Pain NRS)"):
        assert figure in with_pcl5
    assert "at or below the instrument's" not in with_pcl5
    assert "PCL-5 remission can exceed response" in with_pcl5
    assert "PCL-5 remission can exceed" not in rates_by_instrument(rates(["PHQ9"]), CTX).layout.meta["footnote"]
    by_group = rates_by_group(rates(["PCL5"]), CTX, instrument="PCL5", breakdown="indication").layout.meta["footnote"]
    assert "< 33 (PCL-5)" in by_group and "PCL-5 remission can exceed response" in by_group
    assert "PCL-5 remission can exceed" not in rates_by_group(rates(["PHQ9"]), CTX).layout.meta["footnote"]


def test_induction_funnel_writes_a_percentage_both_families_share_once_and_each_in_its_colour():
    """Sample, Q2 2026: '100%' above and below the joined points at session 1 (and 71% at 3) read as two
    figures for one point, and the two families' labels were the same ink."""
    from dashboard.charts.outcomes import induction_funnel

    rows = [("ketamine", k, 855, r) for k, r in ((1, 855), (2, 675), (3, 607))] + \
           [("esketamine", k, 118, r) for k, r in ((1, 118), (2, 94), (3, 84))]
    df = pd.DataFrame(rows, columns=["modality_family", "session_number", "courses", "courses_reaching"])
    df = df.assign(share_of_courses=df["courses_reaching"] / df["courses"], still_in_induction=0)
    fig = induction_funnel(df, CTX)
    traces = {t.name.split(" (")[0]: t for t in fig.data}
    ket, esk = traces["Ketamine"], traces["Esketamine"]
    labels = {k: (dict(zip(t.x, t.text, strict=True)), dict(zip(t.x, t.textfont.color, strict=True)))
              for k, t in (("ket", ket), ("esk", esk))}
    assert labels["esk"][0][1] == "100%" and labels["ket"][0][1] == ""  # once, above
    assert labels["esk"][1][1] == theme.MUTED  # a figure of both families, in neither's colour
    assert (labels["ket"][0][2], labels["esk"][0][2]) == ("79%", "80%")  # different: each its own
    assert labels["ket"][1][2] == theme.OKABE_ITO["blue"] and labels["esk"][1][2] == theme.OKABE_ITO["vermillion"]
    assert labels["esk"][0][3] == "71%" and labels["ket"][0][3] == ""


def test_early_signal_axis_follows_the_means_with_an_interval():
    """Sample, Q2 2026: the MADRS bar over one course (-73%) stretched the axis to -80% and squeezed the
    bars over hundreds of courses; the axis now follows those, and the footnote says the pale bar is cut."""
    from dashboard.charts.outcomes import early_signal

    df = pd.DataFrame({
        "instrument": ["PHQ9", "MADRS", "PCL5"], "courses": [789, 1, 36], "mean_change": [-7.4, -27.0, -17.6],
        "ci_low": [-7.8, None, -21.6], "ci_high": [-7.1, None, -13.7], "median_change": [-8.0, -27.0, -19.0],
        "mean_change_fraction": [-0.42, -0.73, -0.35],
    })
    fig = early_signal(df, CTX)
    lo, _hi = fig.layout.xaxis.range
    assert -0.5 < lo < -0.42
    assert len(fig.layout.xaxis.tickvals) >= 3 and min(fig.layout.xaxis.tickvals) >= lo
    assert "cut at the axis's edge" in fig.layout.meta["footnote"]
    without = early_signal(df[df["courses"] > 1], CTX)  # nothing cut: no such sentence
    assert without.layout.xaxis.range[0] == pytest.approx(lo) and "cut at" not in without.layout.meta["footnote"]


def _bar_heights(fig: go.Figure) -> list[float]:
    """What each stacked bar of the figure reads as: the sum of its segments at each x."""
    heights: dict = {}
    for trace in fig.data:
        if trace.type == "bar":
            for x, y in zip(trace.x, trace.y, strict=True):
                heights[x] = heights.get(x, 0) + (0 if y is None or pd.isna(y) else y)
    return [heights[x] for x in sorted(heights)]


def test_a_month_whose_split_is_hidden_still_reads_as_its_courses():
    """An 8-clinic Q3 pack hid August's and September's courses still in induction (and with them the
    "stopped" segment): their bars drew as the 365 and 468 that completed, next to July's 1,016, while the
    key figures said 800 and 965. The part of a shown total whose split is hidden is its own segment; a
    month whose courses are hidden says so on the axis."""
    from dashboard.charts.base import SPLIT_NOT_SHOWN

    months = pd.DataFrame({"group_value": ["2026-07", "2026-08", "2026-09", "2026-10"],
                           "courses": [1016, 800, 965, None], "completed_induction": [494, 365, 468, None],
                           "still_in_induction": [0, None, None, None], "induction_ended": [1016, None, None, None],
                           "induction_completion_rate": [494 / 1016, None, None, None],
                           "induction_completion_ci_low": [0.46, None, None, None],
                           "induction_completion_ci_high": [0.52, None, None, None]})
    fig = _spec("overview.courses_by_month").figure(months, CTX)
    assert _bar_heights(fig)[:3] == [1016, 800, 965]
    unsplit = next(t for t in fig.data if t.name == SPLIT_NOT_SHOWN)
    assert [None if pd.isna(v) else v for v in unsplit.y][:3] == [None, 435, 497]
    assert [a.text for a in fig.layout.annotations if a.name == "not_shown"] == ["not shown<br>(small counts)"]
    assert "in the months shown" in fig.layout.meta["subtitle"]
    whole = _spec("overview.courses_by_month").figure(months.head(1), CTX)
    assert SPLIT_NOT_SHOWN not in {t.name for t in whole.data}


def test_the_first_weeks_of_data_are_marked_on_new_courses_by_month():
    """The sample's first month read 538 new courses against 322-451 later: patients already in treatment when
    the data begins. The months holding a clinic's first 4 weeks are marked, with a footnote saying why."""
    months = pd.DataFrame({"group_value": ["2025-01", "2025-02", "2025-03"], "courses": [538, 420, 400],
                           "completed_induction": [250, 200, 190], "still_in_induction": [0, 0, 0],
                           "induction_ended": [538, 420, 400], "induction_completion_rate": [0.46, 0.48, 0.47],
                           "induction_completion_ci_low": [0.42, 0.43, 0.42], "induction_completion_ci_high": [0.5, 0.53, 0.52],
                           "includes_first_weeks": [True, True, False]})
    fig = _spec("overview.courses_by_month").figure(months, CTX)
    marks = [a for a in fig.layout.annotations if a.name == "first_weeks"]
    assert [pd.Timestamp(a.x).strftime("%Y-%m") for a in marks] == ["2025-01", "2025-02"]
    assert [a.y for a in marks] == [538, 420]
    assert "patients already in treatment when the data begins count as new courses" in fig.layout.meta["footnote"]
    later = _spec("overview.courses_by_month").figure(months.assign(includes_first_weeks=False), CTX)
    assert not [a for a in later.layout.annotations if a.name == "first_weeks"]
    assert "already in treatment" not in later.layout.meta["footnote"]


def test_side_effect_bars_read_as_the_effects_rate_when_severities_are_hidden():
    """A one-clinic month hid Dizziness's moderate and severe sessions: its bar drew as its 33% mild
    against the key figure's 44%, and Headache (10%, every severity hidden) had no bar at all."""
    from dashboard.charts.safety import SEVERITY_NOT_SHOWN

    by_sev = pd.DataFrame({"effect": ["any", "dizziness", "dizziness", "dizziness", "headache", "headache"],
                           "group_value": ["mild", "mild", "moderate", "severe", "mild", "moderate"],
                           "sessions": [174, 86, None, None, None, None], "treated_sessions": [264] * 6,
                           "rate": [174 / 264, 86 / 264, None, None, None, None],
                           "ci_low": [0.6, 0.27, None, None, None, None], "ci_high": [0.7, 0.38, None, None, None, None]})
    overall = pd.DataFrame({"effect": ["any", "dizziness", "headache"], "group_value": ["all"] * 3,
                            "sessions": [207, 115, 27], "treated_sessions": [264] * 3,
                            "rate": [207 / 264, 115 / 264, 27 / 264], "ci_low": [0.73, 0.38, 0.07],
                            "ci_high": [0.83, 0.5, 0.14]})
    fig = _spec("safety.side_effects").figure({"by_severity": by_sev, "overall": overall}, CTX)
    bars: dict = {}
    for trace in fig.data:
        for effect, share in zip(trace.y, trace.x, strict=True):
            bars[effect] = bars.get(effect, 0) + (share or 0)
    assert bars == pytest.approx({"Dizziness": 115 / 264, "Headache": 27 / 264})
    assert SEVERITY_NOT_SHOWN in {t.name for t in fig.data}


def test_a_dose_band_whose_rate_is_hidden_says_so_and_the_n_is_of_the_bands_shown():
    """Dose bands of 22 and 27 sessions with their rate hidden were blank columns, read as "none"; the
    subtitle's n summed the bands shown without saying so (245 beside 264 elsewhere on the pack)."""
    df = pd.DataFrame({"group_value": ["0.50-0.74 mg/kg", "0.75-0.99 mg/kg", "56 mg", "84 mg"],
                       "treated_sessions": [153, 43, 27, None], "sessions_with_vitals": [153, 43, 27, None],
                       "elevated_sessions": [None, 0, None, 0], "rate": [None, 0.0, None, None],
                       "ci_low": [None, 0.0, None, None], "ci_high": [None, 0.08, None, None]})
    fig = _spec("safety.bp_by_dose").figure(df, CTX)
    marked = [a.x for a in fig.layout.annotations if a.name == "not_shown"]
    # 84 mg, whose n is hidden too, keeps its column (it was dropped: read as never given), n "not shown"
    assert marked == ["0.50-0.74 mg/kg", "56 mg", "84 mg"]
    assert fig.layout.xaxis.ticktext[-1] == "84 mg<br>n not shown"
    assert fig.data[0].customdata[-1] == NOT_SHOWN
    assert "n = 223 sessions with vitals in the dose bands shown" in fig.layout.meta["subtitle"]
    whole = _spec("safety.bp_by_dose").figure(df.head(2).assign(rate=[0.01, 0.0], ci_low=0.0, ci_high=0.1), CTX)
    assert "shown" not in whole.layout.meta["subtitle"] and not [a for a in whole.layout.annotations if a.name == "not_shown"]


def test_peak_rise_n_is_every_session_with_vitals_even_when_small_bins_are_hidden():
    """A one-clinic month's subtitle summed the bins drawn (n = 241 sessions with vitals) while the key
    figures beside it said n=264: n is the published total; the hidden bins are counted in words."""
    hist = pd.DataFrame({"bin_start": [0, 5, 10, 60], "sessions": [100.0, 141.0, None, None]})
    summary = pd.DataFrame({"sessions_with_vitals": [264], "peak_rise_p25": [13.0], "peak_rise_median": [20.0],
                            "peak_rise_p75": [25.0]})
    fig = _spec("safety.peak_rise").figure({"histogram": hist, "summary": summary}, CTX)
    assert "n = 264 sessions with vitals" in fig.layout.meta["subtitle"]
    assert "23 in bins too small to show" in fig.layout.meta["subtitle"]
    unknown = _spec("safety.peak_rise").figure({"histogram": hist, "summary": summary.assign(sessions_with_vitals=None)}, CTX)
    assert "n = 241 sessions with vitals in the bins shown" in unknown.layout.meta["subtitle"]


def test_subtitle_sums_of_clinics_with_hidden_counts_say_they_are_of_the_clinics_shown():
    df = pd.DataFrame({"clinic_id": ["A", "B"], "clinic_name": ["Austin", "Boston"], "intervals": [120, None],
                       "median_days": [40.0, None], "p25_days": [35.0, None], "p75_days": [50.0, None]})
    fig = _spec("boosters.intervals_by_clinic").figure(df, CTX)
    assert "n = 120 booster intervals in the clinics shown" in fig.layout.meta["subtitle"]
    whole = _spec("boosters.intervals_by_clinic").figure(df.head(1), CTX)
    assert "shown" not in whole.layout.meta["subtitle"]


def test_rems_by_clinic_has_no_tick_past_100_percent():
    """The axis runs to 1.01 so a clinic at 100% is drawn whole; an 8-clinic pack showed a "101%" tick."""
    names = [f"Clinic {i}" for i in range(8)]
    df = pd.DataFrame({"clinic_name": names, "esketamine_sessions": [200] * 8, "complete": [200] * 8,
                       "complete_rate": [1.0] * 8, "complete_ci_low": [0.982] * 8, "complete_ci_high": [1.0] * 8})
    fig = _spec("safety.rems_by_clinic").figure(df, CTX)
    ticks = list(fig.layout.yaxis.tickvals)
    assert ticks and max(ticks) == 1.0 and min(ticks) >= fig.layout.yaxis.range[0]
    assert fig.layout.yaxis.range[1] > 1.0


def test_item9_changes_hidden_by_an_export_say_so_instead_of_an_empty_axis():
    """A one-clinic month's pack drew the resolved / emerged / persisted panel as an empty 0-4 axis titled
    'Courses with both (n=—)'. Hidden changes now say they are not shown; a single hidden bar says so too."""
    import numpy as np

    from dashboard.charts.outcomes import item9_flags

    row = {"courses_with_baseline_item9": 51, "flagged_at_baseline": 22, "baseline_flag_rate": 22 / 51,
           "courses_with_follow_up_item9": 38, "flagged_at_follow_up": 11, "follow_up_flag_rate": 11 / 38,
           "courses_with_both": np.nan, "resolved": np.nan, "emerged": np.nan, "persisted": np.nan}
    fig = item9_flags(pd.DataFrame([row]), CTX)
    assert fig.layout.yaxis2.title.text == "Courses with both"
    notes = [a for a in fig.layout.annotations if a.name == "hidden"]
    assert len(notes) == 1 and "not shown" in notes[0].text
    partly = item9_flags(pd.DataFrame([{**row, "courses_with_both": 40, "resolved": 15, "emerged": np.nan,
                                        "persisted": np.nan}]), CTX)
    (changes,) = [t for t in partly.data if t.xaxis == "x2"]
    assert list(changes.text) == ["15", "not shown", "not shown"]
    assert partly.layout.yaxis2.title.text == "Courses with both (n=40)"
    assert not [a for a in partly.layout.annotations if a.name == "hidden"]


def test_trajectory_as_change_from_each_courses_own_baseline():
    """At 8 clinics the mean PHQ-9 rose from 10.0 at session 3 to 11.1 at session 4 because other patients
    were scored there (medical-director audit). The change view draws each course's change from its own
    baseline, with a baseline line at 0 instead of the remission threshold."""
    from dashboard.charts.outcomes import trajectory

    data = pd.DataFrame({
        "session_number": [0, 2, 3, 4, 6], "courses": [400, 300, 73, 71, 200],
        "mean_score": [17.0, 10.4, 10.0, 11.1, 6.0], "ci_low": [16.5, 10.0, 9.0, 10.0, 5.5],
        "ci_high": [17.5, 10.8, 11.0, 12.2, 6.5], "courses_with_baseline": [400, 290, 70, 69, 195],
        "mean_change": [0.0, -7.0, -8.7, -8.9, -11.4], "change_ci_low": [0.0, -7.3, -10.6, -10.8, -12.0],
        "change_ci_high": [0.0, -6.7, -6.8, -7.0, -10.9], "score_max": [27] * 5, "remission_line": [4.0] * 5})
    score = trajectory(data, CTX)
    change = trajectory(data, CTX, measure="change")
    (line,) = [t for t in change.data if t.name == "Mean change"]
    assert list(line.y) == [0.0, -7.0, -8.7, -8.9, -11.4]
    assert "change from baseline" in change.layout.meta["title"] and "mean score" in score.layout.meta["title"]
    texts = [str(a.text) for a in change.layout.annotations]
    assert "baseline" in texts and "remission threshold" not in texts
    assert "remission threshold" in [str(a.text) for a in score.layout.annotations]
    low, high = change.layout.yaxis.range
    assert low < -12.0 and high >= 0
    with pytest.raises(ValueError):
        trajectory(data, CTX, measure="median")


def test_time_to_first_booster_without_a_booster_yet_says_how_far_courses_were_followed():
    """A one-clinic month: no course followed long enough for a booster, and the subtitle read '0 first
    boosters seen' (as if none were ever given). It says how far the follow-up reaches."""
    from dashboard.charts.boosters import time_to_first_booster

    rows = pd.DataFrame({"days": [0, 9, 18], "at_risk": [12, 12, 11], "events": [0, 0, 0], "censored": [0, 1, 11],
                         "survival": [1.0, 1.0, 1.0], "booster_probability": [0.0, 0.0, 0.0],
                         "survival_ci_low": [None, None, None], "survival_ci_high": [None, None, None]})
    fig = time_to_first_booster(rows, CTX)
    assert "no first booster yet, followed up to day 18" in fig.layout.meta["subtitle"]
    some = rows.assign(events=[0, 1, 0], booster_probability=[0.0, 1 / 12, 1 / 12], survival=[1.0, 11 / 12, 11 / 12])
    assert "1 first booster seen" in time_to_first_booster(some, CTX).layout.meta["subtitle"]


def test_stacked_bars_with_a_hidden_part_still_read_as_their_total():
    """An export hid a middle segment (NaN) of the evaluability bars: Plotly started the next segment from the
    axis, so PCL-5 read as all 'not assessed' beside 39 evaluable in the key figures (review). Hidden parts
    are drawn as 0 and the rest of the shown total as one 'split not shown' segment; likewise lost capacity."""
    import numpy as np

    from dashboard.charts.capacity import lost_capacity
    from dashboard.charts.outcomes import evaluability

    row = {"instrument": "PCL5", "courses": 120, "courses_with_baseline": np.nan, "not_assessed": 70,
           "no_baseline": np.nan, "follow_up_open": 0, "no_follow_up": 0, "baseline_below_minimum": np.nan,
           "evaluable": 39}
    fig = evaluability(pd.DataFrame([row]), CTX)
    bars = [t for t in fig.data if t.type == "bar"]
    assert all(not pd.isna(t.x[0]) for t in bars)
    assert sum(float(t.x[0]) for t in bars) == 120
    assert [t for t in bars if t.name == "Split not shown (small counts)"][0].x[0] == 120 - 70 - 39
    lost = pd.DataFrame([{"clinic_id": "DEN", "clinic_name": "Denver", "available_chair_hours": 2600.0,
                          "lost_chair_hours": 50.0, "lost_share": 50 / 2600, "no_show_chair_hours": 40.0,
                          "no_show_share": 40 / 2600, "cancelled_chair_hours": np.nan, "cancelled_share": np.nan,
                          "no_show_sessions": 30, "cancelled_sessions": np.nan}])
    bars = [t for t in lost_capacity(lost, CTX).data if t.type == "bar"]
    assert all(not pd.isna(t.x[0]) for t in bars) and sum(float(t.x[0]) for t in bars) == pytest.approx(50 / 2600)


def test_a_subtitle_does_not_count_the_clinics_twice():
    """'n = 828 evaluable courses · all 3 clinics · 3 clinics, 0 outside the 99.8% limits' (review)."""
    from dashboard.charts.base import ChartContext, subtitle_text

    everyone = ChartContext("1 Apr – 30 Jun 2026", "all 3 clinics")
    assert subtitle_text("n = 828", everyone, "3 clinics, 0 outside the 99.8% limits") == \
        "n = 828 · all 3 clinics · 0 outside the 99.8% limits"
    assert subtitle_text("n = 54 clinic-weeks", everyone, "3 clinics") == "n = 54 clinic-weeks · all 3 clinics"
    # a different number is news: two of the three clinics drawn
    assert subtitle_text("n = 36 clinic-weeks", everyone, "2 clinics") == "n = 36 clinic-weeks · all 3 clinics · 2 clinics"
    assert subtitle_text("n = 3", ChartContext("Q2", "Denver"), "1 clinic") == "n = 3 · Denver · 1 clinic"


def test_groups_whose_rates_an_export_hides_stay_on_the_axis_marked_not_shown():
    """A Q2 pack's by-indication page dropped Fibromyalgia and Other off the axis, and its n (790) sat beside
    828 on the page before without saying it left them out (review). They stay, marked, and the n says so."""
    import numpy as np

    from dashboard.charts.outcomes import rates_by_group, rates_by_instrument

    def row(group, evaluable, responders):
        hidden = evaluable is None
        r = None if hidden else responders / evaluable
        return {"instrument": "PHQ9", "group_value": group, "evaluable": np.nan if hidden else evaluable,
                "response_rate": np.nan if hidden else r, "response_ci_low": np.nan if hidden else r - 0.05,
                "response_ci_high": np.nan if hidden else r + 0.05, "remission_rate": np.nan if hidden else r / 2,
                "remission_ci_low": np.nan if hidden else r / 2 - 0.05, "remission_ci_high": np.nan if hidden else r / 2 + 0.05}

    data = pd.DataFrame([row("mdd", 477, 280), row("fibromyalgia", None, None), row("ptsd", 313, 170)])
    fig = rates_by_group(data, CTX, instrument="PHQ9", breakdown="indication")
    ticks = list(fig.layout.yaxis.ticktext)
    assert len(ticks) == 3 and any("Fibromyalgia" in t and "(n not shown)" in t for t in ticks)
    (marks,) = [t for t in fig.data if t.mode == "text"]
    assert list(marks.text) == ["not shown (small counts)"] and list(marks.y) == [0]  # alphabetical: first
    assert fig.layout.meta["subtitle"].startswith("n = 790 evaluable courses in the indications shown")
    one_kind = data.copy()
    one_kind.loc[2, ["remission_rate", "remission_ci_low", "remission_ci_high"]] = np.nan
    (marks,) = [t for t in rates_by_group(one_kind, CTX, instrument="PHQ9", breakdown="indication").data
                if t.mode == "text"]
    assert list(marks.text) == ["not shown (small counts)", "remission not shown"] and list(marks.y) == [0, 2]
    whole = rates_by_group(data.iloc[[0, 2]], CTX, instrument="PHQ9", breakdown="indication")
    assert "shown" not in whole.layout.meta["subtitle"] and not [t for t in whole.data if t.mode == "text"]
    by_instrument = rates_by_instrument(pd.DataFrame([row("none", 828, 476), {**row("none", None, None),
                                                                                 "instrument": "MADRS"}]), CTX)
    assert any("MADRS" in t and "n not shown" in t for t in by_instrument.layout.yaxis.ticktext)


def test_rates_by_instrument_say_how_many_courses_are_provisional():
    """In a recent month most evaluable courses are scored while their follow-up window is open (454 of 521 in a
    generated October): the Overview's cards said "provisional", the Outcomes chart never did."""
    from dashboard.charts.outcomes import rates_by_instrument

    data = pd.DataFrame({"instrument": ["PHQ9", "GAD7"], "evaluable": [521, 300], "provisional": [454, 250],
                         "response_rate": [0.51, 0.45], "response_ci_low": [0.47, 0.4], "response_ci_high": [0.55, 0.5],
                         "remission_rate": [0.16, 0.2], "remission_ci_low": [0.13, 0.16], "remission_ci_high": [0.2, 0.25],
                         "responders": [266, 135], "remitters": [83, 60]})
    fig = rates_by_instrument(data, CTX)
    assert "704 provisional (follow-up window still open)" in fig.layout.meta["subtitle"]
    assert "Provisional: evaluable on a score taken while" in fig.layout.meta["footnote"]
    settled = rates_by_instrument(data.assign(provisional=0), CTX)
    assert "provisional" not in settled.layout.meta["subtitle"].lower()
    # an export hid one: no sum of the whole, and no silence either (a hidden count is not a zero: NYC, June 2026,
    # 73 of 83 provisional, hidden beside 10 settled, lost its caveat)
    hidden = rates_by_instrument(data.assign(provisional=[454, None]), CTX)
    assert "454 provisional in the instruments shown, the others' not shown (small counts)" in hidden.layout.meta["subtitle"]
    both = rates_by_instrument(data.assign(provisional=[None, None]), CTX)
    assert "provisional courses (follow-up window still open) not shown (small counts)" in both.layout.meta["subtitle"]
    assert "Provisional: evaluable on a score taken while" in both.layout.meta["footnote"]


def test_medication_groups_are_named_on_the_axis_with_unknown_apart():
    """The MAOI breakdown's groups come from SQL as yes / no / not_recorded; the axis read "yes" and "no"
    (the chart mapped true / false only) and would have called an empty flag "not taking"."""
    from dashboard.charts.outcomes import rates_by_group

    data = pd.DataFrame([
        {"instrument": "PHQ9", "group_value": g, "evaluable": n, "response_rate": 0.5, "response_ci_low": 0.4,
         "response_ci_high": 0.6, "remission_rate": 0.3, "remission_ci_low": 0.2, "remission_ci_high": 0.4}
        for g, n in [("yes", 40), ("no", 400), ("not_recorded", 60)]])
    ticks = rates_by_group(data, CTX, instrument="PHQ9", breakdown="maoi").layout.yaxis.ticktext
    assert [t.split("  (")[0] for t in ticks] == ["MAOI not recorded", "Not on MAOI", "On MAOI"]
    lamotrigine = rates_by_group(data, CTX, instrument="PHQ9", breakdown="lamotrigine").layout.yaxis.ticktext
    assert [t.split("  (")[0] for t in lamotrigine] == ["Lamotrigine not recorded", "Not on lamotrigine", "On lamotrigine"]


def test_interventions_and_early_signal_keep_the_rows_an_export_hides_marked_not_shown():
    """A Denver June export dropped 'Infusion stopped' (8 sessions) and three other interventions without a
    word, and the early signal dropped Pain NRS while its n read as the total (suppression audit): a hidden
    row keeps its place, marked, and the n says it counts what is shown."""
    from dashboard.charts.base import NOT_SHOWN
    from dashboard.charts.outcomes import early_signal
    from dashboard.charts.safety import interventions

    nan = float("nan")
    df = pd.DataFrame({"intervention": ["none", "ondansetron", "infusion_stopped", "benzodiazepine"],
                       "sessions": [300, 40, nan, nan], "treated_sessions": [420, 420, 420, 420],
                       "rate": [300 / 420, 40 / 420, nan, nan]})
    fig = interventions(df, CTX)
    bars = dict(zip(fig.data[0].y, fig.data[0].text, strict=True))
    assert bars["Infusion stopped"] == NOT_SHOWN and bars["Benzodiazepine"] == NOT_SHOWN, bars
    assert list(fig.data[0].y)[:2] == ["No intervention given (for a side effect)", "Ondansetron (antiemetic)"]
    assert [x for x in fig.data[0].x][2:] == [0, 0]

    signal = pd.DataFrame({
        "instrument": ["PHQ9", "PAIN_NRS"], "courses": [71, nan], "mean_change": [-7.0, nan],
        "ci_low": [-8.0, nan], "ci_high": [-6.0, nan], "median_change": [-7.0, nan],
        "mean_change_fraction": [-0.4, nan]})
    fig = early_signal(signal, CTX)
    rows = list(fig.data[0].y)
    assert any(r.startswith("Pain NRS") and "n not shown" in r for r in rows), rows
    notes = {a.y: a.text for a in fig.layout.annotations}
    assert notes[next(r for r in rows if r.startswith("Pain NRS"))] == NOT_SHOWN
    assert fig.layout.meta["subtitle"].startswith("n = 71 course-instrument pairs in the instruments shown")


def test_a_funnel_whose_every_rate_is_masked_says_so_without_blaming_the_denominator():
    """Denver alone, June 2026: 371 sessions with vitals, a handful of them elevated, so the export masks
    the clinic's rate; the chart read "Too few sessions with vitals to show" beside those 371."""
    from dashboard.charts.base import ALL_HIDDEN, is_empty
    from dashboard.charts.outcomes import clinic_funnel

    inputs = _funnel_inputs(["Denver"], [371], [4], 30 / 2000)
    inputs["clinics"] = inputs["clinics"].astype({"events": float, "rate": float}).assign(
        events=float("nan"), rate=float("nan"), outside_95=pd.NA, outside_998=pd.NA)
    fig = clinic_funnel(inputs, CTX, measure="bp_elevation")
    assert is_empty(fig) and fig.layout.meta["message"] == ALL_HIDDEN


def test_a_funnel_whose_network_rate_is_hidden_compares_no_clinic():
    """An export hides the network rate when the network's non-events are few, and with it the limits and each
    clinic's outside-the-limits flags (NaN). NaN read as true: three clinics near 48% were drawn red, "3 outside
    the 99.8% limits", beside no line at all. They are drawn as clinics compared with nothing, and said so."""
    from dashboard.charts.outcomes import FUNNEL_STATUS, clinic_funnel

    inputs = _funnel_inputs(["Denver", "New York", "Oklahoma City"], [220, 482, 561], [109, 220, 276], 0.479)
    clinics = inputs["clinics"].astype({c: float for c in ("network_rate",)} | {"outside_95": object, "outside_998": object})
    inputs["clinics"] = clinics.assign(network_rate=float("nan"), outside_95=pd.NA, outside_998=pd.NA)
    inputs["limits"] = inputs["limits"].astype(float) * float("nan")
    fig = clinic_funnel(inputs, CTX, measure="induction_completion")
    assert not is_empty(fig)
    (dots,) = fig.data
    assert dots.name == FUNNEL_STATUS["unknown"][0] and len(dots.x) == 3
    assert "outside" not in fig.layout.meta["subtitle"]
    assert "the network rate and limits not shown (small counts)" in fig.layout.meta["subtitle"]
    assert not [s for s in fig.layout.shapes if s.type == "line"]  # no network line at an unknown rate
    lo, hi = fig.layout.yaxis.range
    assert lo < 109 / 220 < hi and lo < 220 / 482 < hi


def test_item9_flag_rate_hidden_by_an_export_is_marked_not_an_empty_column():
    """Denver, June 2026: the follow-up flag rate is hidden (a small count of flags) and its column stood empty
    beside "Baseline 31% (21)": self-harm thoughts read as gone at follow-up. It says "not shown" instead."""
    import numpy as np

    from dashboard.charts.base import NOT_SHOWN
    from dashboard.charts.outcomes import item9_flags

    row = {"courses_with_baseline_item9": 68, "flagged_at_baseline": 21, "baseline_flag_rate": 21 / 68,
           "courses_with_follow_up_item9": 40, "flagged_at_follow_up": np.nan, "follow_up_flag_rate": np.nan,
           "courses_with_both": 35, "resolved": 15, "emerged": np.nan, "persisted": np.nan}
    fig = item9_flags(pd.DataFrame([row]), CTX)
    (rates,) = [t for t in fig.data if t.xaxis == "x"]
    assert list(rates.text) == ["31% (21)", NOT_SHOWN]
    assert list(rates.y) == [21 / 68, 0]


def test_side_effects_an_export_hides_keep_their_row_marked_not_shown(sample_db, use_db):
    """Denver, March 2025: blurred vision, tachycardia, vomiting and 'other' (1-10 sessions each) vanished from the
    exported chart, read as none; they keep their row, last, marked "not shown (small counts)"."""
    import datetime as dt

    from dashboard import labels, queries
    from dashboard.charts.base import NOT_SHOWN
    from dashboard.filters import Filters
    from dashboard.scope import Scope

    use_db(sample_db)
    spec = catalog.get("safety.side_effects")
    f = Filters(clinics=("DEN",), start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    raw = spec.data(Scope.everything(), f)
    result = spec.suppressed(raw)
    overall = result.data["overall"].set_index("effect")["rate"]
    hidden = [e for e in overall.index if e != "any" and pd.isna(overall[e])]
    assert hidden  # the case, as found
    fig = spec.figure_of(result, catalog.context(f, queries.filter_options(Scope.everything())))
    rows = list(fig.data[0].y)
    marked = [a.y for a in fig.layout.annotations if a.text == NOT_SHOWN]
    assert sorted(marked) == sorted(labels.effect(e) for e in hidden)
    assert rows[-len(hidden):] == [r for r in rows if r in marked]  # after every effect shown


def test_a_funnel_whose_large_clinics_have_hidden_rates_does_not_call_them_too_few():
    """BP elevation, all clinics, January 2026, exported: Oklahoma City (n = 967) and Denver (358) had their events
    hidden, and the chart said "Too few sessions with vitals to compare clinics ... only New York has 30 or more"."""
    from dashboard.charts.outcomes import clinic_funnel

    inputs = _funnel_inputs(["Denver", "Infusion Clinic, New York", "Oklahoma City"], [358, 482, 967], [4, 9, 6], 19 / 1807)
    inputs["clinics"] = inputs["clinics"].astype({"events": float, "rate": float, "outside_95": object,
                                                  "outside_998": object})
    for i in (0, 2):
        inputs["clinics"].loc[i, ["events", "rate", "outside_95", "outside_998"]] = [float("nan"), float("nan"), None, None]
    fig = clinic_funnel(inputs, CTX, measure="bp_elevation")
    assert is_empty(fig)
    text = fig.layout.meta["message"]
    assert "Too few" not in text and "only" not in text
    assert "the rates of Denver (n = 358), Oklahoma City (n = 967) are not shown" in text


def test_rems_checks_an_export_hides_are_marked_not_blank():
    """Five of 93 esketamine sessions monitored under 2 h: the export hides that check and 'complete', and their
    rows stood empty with no word, with 'complete — (n=93)' above: the rows hid exactly where the failures are."""
    from dashboard.charts.base import NOT_SHOWN
    from dashboard.charts.safety import rems_checks

    nan = float("nan")
    row = {"esketamine_sessions": 93, "monitored_2h": nan, "bp_before_dosing": 93, "bp_minute_40": 93, "bp_at_end": 93,
           "complete": nan, "complete_rate": nan, "complete_ci_low": nan, "complete_ci_high": nan}
    fig = rems_checks(pd.DataFrame([row]), CTX)
    assert sorted(a.y for a in fig.layout.annotations if a.text == NOT_SHOWN) == ["All four (complete)", "Monitored ≥ 2 h"]
    assert f"complete {NOT_SHOWN}" in fig.layout.meta["subtitle"]


def test_induction_funnel_says_courses_still_in_induction_are_not_shown_rather_than_none():
    """Denver, June 2026, exported: '47 still in induction, left out' vanished from the subtitle (the hidden count
    read as none), as if every course of the month had ended its induction."""
    from dashboard.charts.base import NOT_SHOWN
    from dashboard.charts.outcomes import induction_funnel

    nan = float("nan")
    data = pd.DataFrame({"modality_family": ["ketamine"] * 3, "session_number": [1, 2, 3], "courses": [22.0] * 3,
                         "courses_reaching": [22.0, 20.0, 18.0], "share_of_courses": [1.0, 20 / 22, 18 / 22],
                         "still_in_induction": [nan] * 3})
    fig = induction_funnel(data, CTX)
    assert f"still in induction, left out: {NOT_SHOWN}" in fig.layout.meta["subtitle"]
    shown = induction_funnel(data.assign(still_in_induction=47.0), CTX)
    assert "47 still in induction, left out" in shown.layout.meta["subtitle"]


def test_side_effects_by_session_mark_the_session_numbers_whose_rate_is_hidden():
    """A one-clinic month: sessions 7 and 9 had their rate hidden, and the line just broke there, unmarked (read
    as no data, or not seen at all). Each hidden point is a muted cross on the axis, explained in the footnote."""
    df = pd.DataFrame({"effect": ["any"] * 5, "group_value": ["5", "6", "7", "8", "9"],
                       "treated_sessions": [40, 38, None, 35, 12], "sessions": [20, 15, None, 14, None],
                       "rate": [0.5, 15 / 38, None, 0.4, None], "ci_low": [0.35, 0.25, None, 0.25, None],
                       "ci_high": [0.65, 0.55, None, 0.56, None]})
    fig = _spec("safety.side_effects_by_session").figure(df, CTX)
    crosses = [a for a in fig.layout.annotations if a.name == "not_shown"]
    assert sorted(float(a.x) for a in crosses) == [7.0, 9.0]
    assert all(a.text == "×" and a.hovertext == NOT_SHOWN for a in crosses)
    assert "×: not shown (small counts)" in fig.layout.meta["footnote"]
    whole = _spec("safety.side_effects_by_session").figure(df[df["rate"].notna()], CTX)
    assert not [a for a in whole.layout.annotations if a.name == "not_shown"]
    assert "×" not in whole.layout.meta["footnote"]


def test_a_hidden_severity_s_hover_says_not_shown_not_0_sessions():
    """Dizziness moderate hidden (1-10 sessions) hovered as "– · 0 sessions": none."""
    by_sev = pd.DataFrame({"effect": ["dizziness", "dizziness", "nausea"], "group_value": ["mild", "moderate", "mild"],
                           "sessions": [120, None, 30], "treated_sessions": [264] * 3,
                           "rate": [120 / 264, None, 30 / 264], "ci_low": [0.4, None, 0.08], "ci_high": [0.5, None, 0.16]})
    overall = pd.DataFrame({"effect": ["any", "dizziness", "nausea"], "group_value": ["all"] * 3,
                            "sessions": [140, 126, 30], "treated_sessions": [264] * 3,
                            "rate": [140 / 264, 126 / 264, 30 / 264], "ci_low": [0.47, 0.42, 0.08],
                            "ci_high": [0.59, 0.54, 0.16]})
    fig = _spec("safety.side_effects").figure({"by_severity": by_sev, "overall": overall}, CTX)
    moderate = next(t for t in fig.data if t.name == "Moderate")
    hover = dict(zip(moderate.y, moderate.customdata, strict=True))
    assert hover["Dizziness"] == NOT_SHOWN
    assert hover["Nausea"] == "0 sessions"  # nausea had no moderate session at all: that is a real none

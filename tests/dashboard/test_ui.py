"""dashboard.ui's caches of chart figures and of suppressed chart data (the pages of aggregates-only viewers)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import suppression as sup
from dashboard import auth, queries, ui
from dashboard.charts import catalog
from dashboard.filters import Filters
from dashboard.scope import Scope


@pytest.fixture
def counted(sample_db, use_db, monkeypatch):
    use_db(sample_db)
    ui.suppressed.clear()
    calls = []
    real = sup.apply

    def apply(data, spec, threshold=None):
        calls.append(threshold)
        return real(data, spec, threshold)

    monkeypatch.setattr(sup, "apply", apply)
    yield calls
    ui.suppressed.clear()


def test_a_rerun_reuses_the_suppressed_data_and_new_figures_or_a_new_threshold_do_not(counted):
    """Every widget change reruns the page, and suppressing the board's Outcomes page again cost about 0.6 s.
    The same figures are suppressed once; other figures, or another cell-size threshold, are suppressed anew,
    and the cached answer is the one suppression gives."""
    spec = catalog.get("outcomes.rates_by_instrument")
    q2 = spec.data(Scope.everything(), Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30)))
    may = spec.data(Scope.everything(), Filters(clinics=("DEN",), start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31)))
    first = ui.suppressed(spec.id, q2, 11)
    again = ui.suppressed(spec.id, q2.copy(), 11)
    assert len(counted) == 1
    pd.testing.assert_frame_equal(first.data, again.data)
    direct = spec.suppressed(q2)
    pd.testing.assert_frame_equal(first.data, direct.data)
    assert first.hidden == direct.hidden > 0
    ui.suppressed(spec.id, may, 11)
    assert len(counted) == 3  # the direct call above, and May's figures
    ui.suppressed(spec.id, q2, 5)
    assert counted[-1] == 5 and len(counted) == 4


def test_downloads_of_a_chart_share_one_suppression_with_its_page(counted):
    """Each download (PNG, SVG, PDF, CSV) suppressed the chart again: 0.5 s a file for the board's "by group".
    The files of one chart, and the board's page that drew it, now share one cached suppression; the file
    is the one the uncached export gives."""
    from dashboard.exports import charts as exports

    spec = catalog.get("outcomes.rates_by_instrument")
    filters = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    data = spec.data(Scope.everything(), filters)
    options = queries.filter_options(Scope.everything())
    ctx = spec.context(filters, options, data) if spec.own_context else catalog.context(filters, options)
    ui.suppressed(spec.id, data, sup.min_cell())  # the board's page drew it
    demo = auth.Viewer(None, auth.DEMO)  # the demo's viewer: no grant to check, nothing logged
    first = ui.download_bytes(spec, data, ctx, "csv", demo)
    again = ui.download_bytes(spec, data.copy(), ctx, "csv", demo)
    assert len(counted) == 1
    assert first == again == exports.chart_file(spec, data, ctx, "csv").data
    assert len(counted) == 2  # the uncached export suppressed on its own


@pytest.fixture
def built(sample_db, use_db, monkeypatch):
    """Count the figures catalog charts build; the figure cache starts empty."""
    use_db(sample_db)
    ui.figure.clear()
    ui.suppressed.clear()
    calls = []
    real = catalog.ChartSpec.figure

    def figure(self, data, ctx, **opts):
        calls.append((self.id, opts))
        return real(self, data, ctx, **opts)

    monkeypatch.setattr(catalog.ChartSpec, "figure", figure)
    yield calls
    ui.figure.clear()
    ui.suppressed.clear()


def test_a_rerun_reuses_the_figure_and_other_data_options_context_or_threshold_build_a_new_one(built):
    """Every widget change reruns the page, and building its Plotly figures again was three quarters of a
    rerun. The same data, context, options and threshold give the cached figure, equal to a fresh build;
    anything else that draws it builds anew."""
    spec = catalog.get("outcomes.rates_by_group")
    options = queries.filter_options(Scope.everything())
    q2 = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    data = spec.data(Scope.everything(), q2)
    ctx = catalog.context(q2, options)
    first = ui.figure(spec.id, data, ctx, None)
    again = ui.figure(spec.id, data.copy(), ctx, None)
    assert again is first and len(built) == 1
    assert first.to_dict() == spec.figure(data, ctx).to_dict()
    built.clear()

    may = Filters(clinics=("DEN",), start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31))
    ui.figure(spec.id, spec.data(Scope.everything(), may), ctx, None)  # other data
    ui.figure(spec.id, data, catalog.context(may, options), None)  # another context (its title)
    by_clinic = spec.data(Scope.everything(), q2, breakdown="clinic")
    ui.figure(spec.id, by_clinic, ctx, None, breakdown="clinic")  # another option
    assert len(built) == 3 and built[-1] == (spec.id, {"breakdown": "clinic"})

    suppressed = ui.figure(spec.id, data, ctx, 11)  # a viewer of aggregates only: the suppressed figure
    assert len(built) == 4
    assert suppressed.to_dict() == spec.figure_of(spec.suppressed(data, 11), ctx).to_dict() != first.to_dict()
    assert ui.figure(spec.id, data, ctx, 11) is suppressed
    ui.figure(spec.id, data, ctx, 5)  # another cell-size threshold
    assert len(built) == 6  # the direct figure_of above, and threshold 5


def test_a_section_key_the_sidebar_does_not_keep_in_the_url_is_refused():
    """The sidebar rewrites the URL with the filters and keeps only the parameters pages own: a page in sections
    under another key would lose its open section from the link on the next filter change, so it cannot be made."""
    with pytest.raises(ValueError, match="ui.SECTION_KEYS"):
        ui.sections("charts_tab", ["One", "Two"])
    assert all(key.startswith(ui.PAGE_URL_PREFIXES) for key in ui.SECTION_KEYS)

"""Results prepared in the background (dashboard.prefetch, dashboard.serve's warm-up): after them, the
pages' own calls are answered from the cache, never from another viewer's selection, and nothing is
prepared twice or when switched off. Real DuckDB on the bundled sample; a spy counts the statements
that reach it."""

from __future__ import annotations

import gc
import threading

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import filters as flt
from dashboard import plan_queries, prefetch, queries, serve, settings
from dashboard.charts import catalog
from dashboard.headlines import headlines
from dashboard.scope import Scope
from dashboard_testing import ROOT

OTHER_PAGES = ["outcomes", "safety", "boosters", "capacity", "data_quality"]


@pytest.fixture
def executed(monkeypatch, sample_db, use_db):
    """The statements sent to DuckDB from now on (every result cache emptied first), prefetch on."""
    use_db(sample_db)
    monkeypatch.setenv(settings.ENV_PREFETCH, "on")
    monkeypatch.setattr(prefetch, "_started", type(prefetch._started)())
    monkeypatch.setattr(prefetch, "_latest", {})
    st.cache_data.clear()
    seen: list[tuple[str, tuple]] = []
    original = queries._execute

    def spy(version_path, sql, params):
        seen.append((sql, params))
        return original(version_path, sql, params)

    monkeypatch.setattr(queries, "_execute", spy)
    yield seen
    gc.unfreeze()  # serve.warm_up freezes the process's objects; the test process collects as usual
    st.cache_data.clear()


def _default_filters(scope: Scope) -> flt.Filters:
    return flt.from_query_params({}, queries.filter_options(scope), None)[0]


def _read_pages(pages: list[str], scope: Scope, filters: flt.Filters) -> None:
    for key in pages:
        for spec in catalog.for_page(prefetch.PAGE_TITLES[key]):
            spec.data(scope, filters)


def _finish(thread: threading.Thread | None) -> None:
    assert thread is not None
    thread.join(120)
    assert not thread.is_alive()


def test_after_a_page_the_other_pages_read_from_the_cache(executed):
    scope = Scope.everything()
    filters = _default_filters(scope)
    _finish(prefetch.after_page(OTHER_PAGES, scope, filters))
    prepared = len(executed)
    assert prepared > 10

    _read_pages(OTHER_PAGES, scope, filters)
    assert len(executed) == prepared  # every chart of those pages was ready


def test_a_selection_is_prepared_once(executed):
    scope = Scope.everything()
    filters = _default_filters(scope)
    _finish(prefetch.after_page(["safety"], scope, filters))
    assert prefetch.after_page(["safety"], scope, filters) is None
    narrower = flt.Filters(clinics=("DEN",), start=filters.start, end=filters.end)
    _finish(prefetch.after_page(["safety"], scope, narrower))  # another selection is prepared


def test_a_newer_selection_of_the_same_viewer_replaces_the_older(executed):
    scope = Scope.everything()
    filters = _default_filters(scope)
    older = flt.Filters(clinics=("DEN",), start=filters.start, end=filters.end)
    first = prefetch.after_page(["safety"], scope, older)
    second = prefetch.after_page(["safety"], scope, filters)  # within the start delay: the first gives up
    _finish(first)
    _finish(second)
    prepared = len(executed)

    _read_pages(["safety"], scope, filters)
    assert len(executed) == prepared  # the newer selection is ready
    _read_pages(["safety"], scope, older)
    assert len(executed) > prepared  # the older one was never computed ...
    _finish(prefetch.after_page(["safety"], scope, older))  # ... and can be prepared when asked again
    assert prefetch._latest == {}  # sessions are forgotten once their preparation is over


def test_moving_to_another_page_keeps_the_preparation_of_the_same_selection(executed):
    scope = Scope.everything()
    filters = _default_filters(scope)
    running = prefetch.after_page(OTHER_PAGES, scope, filters)
    assert prefetch.after_page(OTHER_PAGES, scope, filters) is None  # the next page, same selection
    _finish(running)
    prepared = len(executed)

    _read_pages(OTHER_PAGES, scope, filters)
    assert len(executed) == prepared  # it ran to the end


def test_switched_off_nothing_is_prepared(executed, monkeypatch):
    scope = Scope.everything()
    filters = _default_filters(scope)
    before = len(executed)
    monkeypatch.setenv(settings.ENV_PREFETCH, "off")
    assert prefetch.after_page(OTHER_PAGES, scope, filters) is None
    prefetch.default_selection(["overview", *OTHER_PAGES])
    assert len(executed) == before


def test_one_clinics_results_are_never_the_networks(executed):
    den = Scope.for_clinics(["DEN"], name="clinic_manager")
    filters = _default_filters(den)
    _finish(prefetch.after_page(["safety", "outcomes"], den, filters))
    prepared = len(executed)

    _read_pages(["safety", "outcomes"], den, filters)
    assert len(executed) == prepared  # the clinic's own view is ready ...
    _read_pages(["safety", "outcomes"], Scope.everything(), filters)
    assert len(executed) > prepared  # ... and the network's view had to be computed: nothing was shared


def test_the_plan_planning_opens_with_is_ready(executed, monkeypatch):
    from pipelines.plan import engine

    scope = Scope.everything()
    filters = _default_filters(scope)
    planned: list[str] = []
    original = engine.plan_scenarios

    def counting(clinic_id, *args, **kwargs):
        planned.append(clinic_id)
        return original(clinic_id, *args, **kwargs)

    monkeypatch.setattr(engine, "plan_scenarios", counting)
    _finish(prefetch.after_page(["planning"], scope, filters))
    clinic = plan_queries.default_clinic(filters, plan_queries.plannable_clinics(scope))
    assert planned == [clinic]

    plan = plan_queries.plan(scope, clinic)
    assert planned == [clinic]  # the page's own call was answered from the cache
    assert plan.scenario.clinic_id == clinic and len(plan.weeks) > 0


def test_the_server_warm_up_prepares_the_first_page(executed):
    said = serve.warm_up(runtime_started=lambda: True, wait_seconds=1)
    assert said.startswith(serve.WARMED_UP), said
    prepared = len(executed)
    assert prepared > 5

    scope = Scope.everything()
    options = queries.filter_options(scope)
    filters = _default_filters(scope)
    headlines(scope, filters, options)
    queries.warehouse_info(scope)
    _read_pages(["overview"], scope, filters)
    assert len(executed) == prepared  # what the Overview reads was ready before anyone asked


def test_the_server_warm_up_draws_the_first_pages_figures_into_the_cache_the_page_reads(executed, monkeypatch):
    """The warm-up draws the Overview's figures to pay Plotly's set-up; drawn into ui.figure's cache, the
    first visitor's page is given them instead of building them a second time."""
    from dashboard import ui

    ui.figure.clear()
    serve.warm_up(runtime_started=lambda: True, wait_seconds=1)
    built = []
    real = catalog.ChartSpec.figure

    def figure(self, data, ctx, **opts):
        built.append(self.id)
        return real(self, data, ctx, **opts)

    monkeypatch.setattr(catalog.ChartSpec, "figure", figure)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    filters = _default_filters(scope)
    specs = catalog.for_page(prefetch.PAGE_TITLES["overview"])
    assert specs
    for spec in specs:  # as ui.chart calls it for a viewer of every clinic
        data = spec.data(scope, filters)
        ctx = spec.context(filters, options, data) if spec.ignores or spec.own_context else catalog.context(filters, options)
        assert ui.figure(spec.id, data, ctx, None).to_json() == real(spec, data, ctx).to_json()
    assert built == []
    ui.figure.clear()


def test_a_warm_up_that_cannot_finish_says_so(executed):
    said = serve.warm_up(runtime_started=lambda: False, wait_seconds=0.2)
    assert said.startswith("warm-up stopped") and "did not start" in said


def test_the_app_prepares_the_viewers_other_pages_after_each_page(executed):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    threads = [t for t in threading.enumerate() if t.name == "prefetch"]
    assert threads
    for thread in threads:
        _finish(thread)
    prepared = len(executed)

    scope = Scope.everything()  # demo mode on the bundled sample
    _read_pages(OTHER_PAGES, scope, _default_filters(scope))
    assert len(executed) == prepared


def test_a_board_members_other_pages_are_suppressed_before_they_open_them(executed, monkeypatch):
    """A viewer of aggregates only sees suppressed charts, and the exact audit took 0.5 s of the board's
    first Outcomes visit. The preparation suppresses each chart too, into the cache the page reads: the
    page's own calls then suppress nothing. A viewer of row-level figures gets no suppression prepared."""
    from dashboard import suppression as sup
    from dashboard import ui

    ui.suppressed.clear()
    calls = []
    real = sup.apply
    monkeypatch.setattr(sup, "apply", lambda data, spec, threshold=None: calls.append(1) or real(data, spec, threshold))
    board = Scope(clinics=None, aggregates_only=True, name="board", row_level=False)  # as auth gives the board
    filters = _default_filters(board)
    _finish(prefetch.after_page(["outcomes", "safety"], board, filters))
    prepared = len(calls)
    assert prepared >= len(catalog.for_page("Outcomes")) + len(catalog.for_page("Safety"))
    for key in ("outcomes", "safety"):
        for spec in catalog.for_page(prefetch.PAGE_TITLES[key]):
            ui.suppressed(spec.id, spec.data(board, filters), sup.min_cell())
    assert len(calls) == prepared  # every chart's suppressed data was ready

    director = Scope.everything()
    _finish(prefetch.after_page(["boosters"], director, _default_filters(director)))
    assert len(calls) == prepared
    ui.suppressed.clear()

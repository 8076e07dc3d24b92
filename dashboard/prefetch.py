"""Prepare, in the background, the results of the pages a viewer has not opened yet.

A page's first visit is slow mostly because its queries (and, on Planning, the forecast and the
projection) run cold; moving between pages is fast once they are cached. So after each script run,
once the page is on its way to the browser, one daemon thread computes the default results of the
viewer's other pages with the same scope and filters: every catalog chart's data at its default
options (suppressed too, for a viewer of aggregates only), and the plan the Planning page opens with.
They land in the query layer's own caches (dashboard.queries, dashboard.plan_queries; dashboard.ui for
suppressed data), keyed by warehouse version or by the figures themselves, so
nothing here can serve a result the page would not have computed itself, and a page visited while
its results are being prepared waits for that computation rather than starting a second one.

Once per (version, scope, filters) in this server process; off with CLINIC_ANALYTICS_PREFETCH=off.
`default_selection()` does the same before anyone has asked, for the selection a viewer of the whole
network opens the app with (dashboard.serve runs it when the server starts).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from dashboard import filters as flt
from dashboard import plan_queries, queries, settings
from dashboard.filters import Filters
from dashboard.scope import Scope

# auth's page keys -> the catalog's page titles, in the order the results are prepared: the
# navigation's order, the order a viewer most often moves in.
PAGE_TITLES = {
    "overview": "Overview", "outcomes": "Outcomes", "safety": "Safety", "boosters": "Boosters",
    "capacity": "Capacity", "planning": "Planning", "data_quality": "Data quality",
}
# Seconds to wait before starting: the browser is still drawing the page that was just sent (about a
# second on a 2-core machine, where it may share the CPU with the server), and a viewer reads a page
# for longer than that before opening the next.
START_DELAY_SECONDS = 1.0
_REMEMBERED = 512  # selections remembered as already prepared (each costs a few dozen cached results)

_started: OrderedDict[tuple, None] = OrderedDict()
_latest: dict[str | None, tuple] = {}  # browser session -> the selection it wants prepared (while running)
_lock = threading.Lock()


def after_page(page_keys: Iterable[str], scope: Scope, filters: Filters) -> threading.Thread | None:
    """Start preparing the results of `page_keys` (the pages this viewer may open) for this selection,
    unless that was already started in this process. Returns the thread, or None when nothing starts.

    A viewer who changes the filters several times in a row leaves one preparation running, not one
    per change: a session's request for another selection makes its older one stop before its next
    statement (or before it starts, within the start delay); moving to another page with the same
    selection lets it run on."""
    if not settings.prefetch_enabled():
        return None
    version = queries.pinned_version()  # read in the script's thread: it is the rerun's pinned version
    if version is None:
        return None
    ctx = get_script_run_ctx(suppress_warning=True)
    session = ctx.session_id if ctx is not None else None
    pages = [key for key in PAGE_TITLES if key in set(page_keys)]
    key = (version, scope, filters, tuple(pages))
    with _lock:
        if key in _started:
            if _latest.get(session) != key:  # this session's other preparation is no longer wanted
                _latest.pop(session, None)
            return None
        _latest[session] = key
        _started[key] = None
        while len(_started) > _REMEMBERED:
            _started.popitem(last=False)

    def still_wanted() -> bool:
        with _lock:
            if _latest.get(session) == key:
                return True
            _started.pop(key, None)  # given up part-way: the selection may be prepared again later
            return False

    def run() -> None:
        try:
            _prepare(version, pages, scope, filters, START_DELAY_SECONDS, still_wanted)
        finally:
            with _lock:  # forget the session once its preparation is over: the map stays small
                if _latest.get(session) == key:
                    del _latest[session]

    thread = threading.Thread(target=run, name="prefetch", daemon=True)
    thread.start()
    return thread


def default_selection(pages: Iterable[str] = ("overview",)) -> None:
    """Prepare `pages` for a viewer of the whole network (medical director, operations, demo) with the
    filters a link without parameters opens: the results the first visitor's page reads. Runs in the
    caller's thread; does nothing before the first load or with prefetching off."""
    if not settings.prefetch_enabled():
        return
    version = queries.current_version_path()
    if version is None:
        return
    scope = Scope.everything()  # the same queries and parameters as any viewer of every clinic
    options = queries.filter_options(scope)
    filters, _ = flt.from_query_params({}, options, None)
    wanted = [key for key in PAGE_TITLES if key in set(pages)]
    _prepare(str(version), wanted, scope, filters)
    # Draw those pages' figures once: reading results back from the cache and building each kind of
    # figure pay their one-time costs in a process (Arrow and Plotly set-up, about 0.3 s). They go into the
    # figure cache the page reads (ui.figure, with the context ui.chart gives), so the first visit does not
    # build them again.
    from dashboard import ui
    from dashboard.charts import catalog

    ctx = catalog.context(filters, options)
    for key in wanted:
        for spec in catalog.for_page(PAGE_TITLES[key]):
            try:
                data = spec.data(scope, filters)
                own = spec.context(filters, options, data) if spec.ignores or spec.own_context else ctx
                ui.figure(spec.id, data, own, None).to_json()
            except Exception:  # noqa: BLE001 - a warm-up only
                continue


def _prepare(version: str, pages: list[str], scope: Scope, filters: Filters, delay: float = 0.0,
             still_wanted: Callable[[], bool] = lambda: True) -> None:
    from dashboard import suppression as sup
    from dashboard import ui
    from dashboard.charts import catalog
    from dashboard.headlines import headlines

    time.sleep(delay)
    for key in pages:
        if not still_wanted():
            return
        try:
            if key == "planning":
                plan_queries.warm_default_plan(scope, filters, version)
                continue
            if key == "overview":  # its headline figures and data footer are not catalog charts
                headlines(scope, filters, queries.filter_options(scope))
                queries.warehouse_info(scope)
            for spec in catalog.for_page(PAGE_TITLES[key]):
                if not still_wanted():
                    return
                data = spec.data(scope, filters)
                if scope.aggregates_only:
                    # the board's pages draw suppressed data, and the exact audit is part of a first visit's
                    # wait (0.5 s on Outcomes): into the same cache the page reads (ui.suppressed)
                    ui.suppressed(spec.id, data, sup.min_cell())
        except Exception:  # noqa: BLE001 - a warm-up only: the page computes (and reports) it itself
            continue

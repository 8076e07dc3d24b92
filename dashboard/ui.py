"""Streamlit layout helpers shared by the entry point and the pages: the sidebar filters (kept in the
session and the URL), page header and footer, charts from the catalog, headline cards.

Pages are layout only: they call these helpers and the catalog; they never open DuckDB.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import streamlit as st

from dashboard import filters as flt
from dashboard import format as fmt
from dashboard import labels, queries, settings
from dashboard import suppression as sup
from dashboard.charts import catalog
from dashboard.charts.base import ChartContext
from dashboard.filters import FilterOptions, Filters
from dashboard.scope import Scope

K_CLINICS, K_PERIOD, K_PRESET = "f_clinics", "f_period", "f_preset"
K_MODALITIES, K_INDICATIONS = "f_modalities", "f_indications"
K_INIT, K_MESSAGES, K_STATE = "_filters_initialised", "_filters_url_messages", "_page_state"

# URL parameters a page owns (the planning inputs, which the page reads and checks itself; the open tab of a page
# with sections, `sections()`); the sidebar, which writes the shared filters, keeps them. Streamlit drops them when
# the user moves to another page.
SECTION_KEYS = ("out_tab", "safety_tab", "planning_tab")
PAGE_URL_PREFIXES = ("plan_", *SECTION_KEYS)

# The chart toolbar keeps zoom, pan and reset. Its "Download plot as a PNG" (toImage) is removed: it saved the
# figure on screen, unsuppressed for viewers of aggregates and without an access-log entry. Every download goes
# through the Download menu under the chart (downloads(): suppressed, logged), docs/access.md.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["toImage", "lasso2d", "select2d", "autoScale2d", "toggleSpikelines"],
}


@dataclass(frozen=True)
class PageState:
    ready: bool  # a warehouse is published
    scope: Scope
    filters: Filters
    options: FilterOptions
    ctx: ChartContext
    default_label: str


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """Text from data or from a link, made inert for st.markdown (no links, emphasis, HTML or LaTeX)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def viewer_scope() -> Scope:
    """The signed-in viewer's Scope (dashboard.auth: set by the entry point's sign-in gate; demo mode:
    every clinic of the bundled sample). A page run without the gate sees nothing."""
    from dashboard import auth

    return auth.current_scope()


# ----------------------------------------------------------------------------------------- period


def _presets(options: FilterOptions) -> dict[str, tuple[dt.date, dt.date]]:
    lo, hi = options.data_start, options.data_end
    if lo is None or hi is None:
        return {}
    default = flt.default_period(lo, hi)
    out: dict[str, tuple[dt.date, dt.date]] = {}
    if default.start and default.end:
        out["Last full quarter" if "quarter" in default.label else "Whole data range"] = (default.start, default.end)
    month_end = hi if (hi + dt.timedelta(days=1)).day == 1 else hi.replace(day=1) - dt.timedelta(days=1)
    month_start = month_end.replace(day=1)
    if month_start >= lo:
        out["Last full month"] = (month_start, month_end)
    year_start = max(lo, hi - dt.timedelta(days=364))
    out["Last 12 months"] = (year_start, hi)
    out["Whole data range"] = (lo, hi)
    return out


def _preset_for(period: tuple[dt.date, dt.date], presets: dict) -> str:
    for name, value in presets.items():
        if tuple(value) == tuple(period):
            return name
    return "Custom"


def _on_preset(presets: dict) -> None:
    choice = st.session_state.get(K_PRESET)
    if choice in presets:
        st.session_state[K_PERIOD] = presets[choice]
    st.session_state[K_MESSAGES] = []


def _on_period(presets: dict) -> None:
    period = st.session_state.get(K_PERIOD)
    if isinstance(period, (tuple, list)) and len(period) == 2:
        st.session_state[K_PRESET] = _preset_for(tuple(period), presets)
    st.session_state[K_MESSAGES] = []


def _on_filter_change() -> None:
    st.session_state[K_MESSAGES] = []


def _reset(options: FilterOptions, presets: dict) -> None:
    default = flt.default_period(options.data_start, options.data_end)
    st.session_state[K_CLINICS] = []
    st.session_state[K_MODALITIES] = []
    st.session_state[K_INDICATIONS] = []
    if default.start and default.end:
        st.session_state[K_PERIOD] = (default.start, default.end)
        st.session_state[K_PRESET] = _preset_for((default.start, default.end), presets)
    st.session_state[K_MESSAGES] = []


def _init_from_url(options: FilterOptions, scope: Scope, presets: dict) -> None:
    params = {key: st.query_params.get_all(key) for key in flt.URL_PARAMS}
    allowed = None if scope.all_clinics else sorted(scope.clinics or ())
    filters, messages = flt.from_query_params(params, options, allowed)
    st.session_state[K_CLINICS] = list(filters.clinics)
    st.session_state[K_MODALITIES] = list(filters.modalities)
    st.session_state[K_INDICATIONS] = list(filters.indications)
    if filters.start and filters.end:
        st.session_state[K_PERIOD] = (filters.start, filters.end)
        st.session_state[K_PRESET] = _preset_for((filters.start, filters.end), presets)
    st.session_state[K_MESSAGES] = messages
    st.session_state[K_INIT] = True


def _sanitise(options: FilterOptions) -> None:
    """Keep widget state valid when a new warehouse version changes what can be chosen."""
    for key, allowed in ((K_CLINICS, options.clinics), (K_MODALITIES, options.modalities),
                         (K_INDICATIONS, options.indications)):
        if key in st.session_state:
            st.session_state[key] = [v for v in st.session_state[key] if v in allowed]
    period = st.session_state.get(K_PERIOD)
    lo, hi = options.data_start, options.data_end
    if period and lo and hi and isinstance(period, (tuple, list)):
        clipped = tuple(min(max(d, lo), hi) for d in period)
        if clipped != tuple(period):
            st.session_state[K_PERIOD] = clipped


# ---------------------------------------------------------------------------------------- sidebar


def sidebar() -> PageState:
    """Render the shared filters (in the entry point, so they persist across pages), sync them with
    the URL, and remember the page state for this rerun."""
    queries.begin_run()
    scope = viewer_scope()  # after begin_run: demo mode re-checks the version this run reads
    logo = settings.logo_path()
    if logo:
        st.logo(str(logo))
    if not queries.warehouse_ready():
        state = PageState(False, scope, Filters(), FilterOptions(), ChartContext(), "")
        st.session_state[K_STATE] = state
        return state
    options = queries.filter_options(scope)
    presets = _presets(options)
    if not st.session_state.get(K_INIT):
        _init_from_url(options, scope, presets)
    _sanitise(options)
    default = flt.default_period(options.data_start, options.data_end)

    with st.sidebar:
        st.markdown(f"**{md_escape(settings.network_name())}**")
        has_period = options.data_start is not None and options.data_end is not None
        if not has_period:
            st.caption("No treatment sessions are loaded yet, so there is no period to choose.")
        preset_names = list(presets) + ["Custom"]
        if st.session_state.get(K_PRESET) not in preset_names:
            st.session_state[K_PRESET] = "Custom"
        period_default = (default.start, default.end) if default.start and default.end else None
        if has_period:
            st.selectbox("Period", preset_names, key=K_PRESET, on_change=_on_preset, args=(presets,))
            if K_PERIOD not in st.session_state and period_default:
                st.session_state[K_PERIOD] = period_default
            st.date_input(
                "From – to", key=K_PERIOD, min_value=options.data_start, max_value=options.data_end,
                format="YYYY-MM-DD", on_change=_on_period, args=(presets,),
                help=f"Whole days, clinic local time. Data from {fmt.date(options.data_start)} to "
                     f"{fmt.date(options.data_end)}.",
            )
            st.caption(f"Default: {default.label} ({fmt.period(default.start, default.end)})")
        st.multiselect(
            "Clinics", list(options.clinics), key=K_CLINICS, format_func=lambda c: options.clinics.get(c, c),
            placeholder=f"All {len(options.clinics)} clinics", on_change=_on_filter_change,
        )
        st.multiselect(
            "Modality", list(options.modalities), key=K_MODALITIES, format_func=labels.modality,
            placeholder="All modalities", on_change=_on_filter_change,
        )
        st.multiselect(
            "Indication", list(options.indications), key=K_INDICATIONS, format_func=labels.indication,
            placeholder="All indications", on_change=_on_filter_change,
        )
        st.button("Reset filters", on_click=_reset, args=(options, presets), width="stretch")

    period = st.session_state.get(K_PERIOD) if has_period else None
    period = period or period_default or (None, None)
    if not isinstance(period, (tuple, list)) or len(period) != 2:  # a range half-picked in the calendar
        previous = st.session_state.get(K_STATE)
        period = (previous.filters.start, previous.filters.end) if previous and previous.ready else period_default
        period = period or (None, None)
    filters = Filters(
        clinics=tuple(st.session_state.get(K_CLINICS, [])),
        start=period[0], end=period[1],
        modalities=tuple(st.session_state.get(K_MODALITIES, [])),
        indications=tuple(st.session_state.get(K_INDICATIONS, [])),
    )
    # The filters' own parameters are written one by one, not the whole URL: a page's own (PAGE_URL_PREFIXES) stay
    # as they are, and Streamlit refuses to set a parameter bound to a widget (the open section of a page in
    # sections), even to the value it has; rewriting the URL with it stopped the page on every filter change.
    wanted = flt.to_query_params(filters)
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    for key in current:
        if key not in wanted and not key.startswith(PAGE_URL_PREFIXES):
            del st.query_params[key]
    for key, value in wanted.items():
        if current.get(key) != (value if isinstance(value, list) else [value]):
            st.query_params[key] = value
    state = PageState(True, scope, filters, options, catalog.context(filters, options), default.label)
    st.session_state[K_STATE] = state
    return state


def state() -> PageState:
    existing = st.session_state.get(K_STATE)
    if existing is None:  # a page run on its own (tests): build the sidebar now
        return sidebar()
    return existing


# ------------------------------------------------------------------------------------ page frame


STALE_DEFINITIONS = (
    "**This warehouse was built by an earlier release.** Until it is rebuilt, some figures follow that "
    "release's definitions rather than docs/metrics.md. Whoever runs the warehouse: `python -m pipelines "
    "rebuild` (or `make run`) rebuilds it in place, keeping every loaded row and the load history."
)


STALE_PAGE_FAILED = (
    "**This page cannot be drawn until the warehouse is rebuilt.** It was built by an earlier release, "
    "whose tables lack figures this release reads. Whoever runs the warehouse: `python -m pipelines rebuild` "
    "(or `make run`) rebuilds it in place, keeping every loaded row and the load history."
)

_log = logging.getLogger(__name__)


def run_page(page) -> None:
    """Run the chosen page. On a warehouse built by an earlier release a page can fail on a column or macro
    this release added (KeyError: 'no_show_share' after an upgrade without a rebuild): the viewer then gets
    what to do instead of a traceback, and the server log keeps the error. On a current warehouse an error
    is a bug and is raised as it is."""
    try:
        page.run()
    except Exception:
        if not state().ready or queries.definitions_current() is not False:
            raise
        _log.warning("a page failed on a warehouse built by an earlier release", exc_info=True)
        st.error(STALE_PAGE_FAILED, icon=":material/update:")


def header(title: str, intro: str, selection: bool = True) -> PageState:
    """Page title, the period and selection in words, URL messages; stops with an explanation
    when no warehouse has been loaded yet. `selection=False` for a page whose period and clinics are
    chosen on the page itself (the Board pack): the sidebar's would read as the pack's."""
    s = state()
    st.title(title)
    if not s.ready:
        st.info(
            "**No data has been loaded yet.** Load an extract batch with "
            "`python -m pipelines load DIR` (or `make run` for the bundled sample); "
            "this page fills in on the next refresh."
        )
        st.stop()
    if queries.definitions_current() is False:
        st.warning(STALE_DEFINITIONS, icon=":material/update:")
    st.markdown(f"<span style='color:#5B6675'>{intro}</span>", unsafe_allow_html=True)
    if selection:
        st.markdown(f"**{md_escape(s.ctx.period)}** · {md_escape(s.ctx.selection)}")
    for message in st.session_state.get(K_MESSAGES, []):
        st.warning(md_escape(message), icon=":material/link_off:")
    return s


def sections(key: str, labels: list[str]) -> list:
    """A long page's sections as tabs, of which only the open one runs (`tab.open`): every chart drawn costs
    the browser's layout and Plotly's drawing, and Outcomes with its eight charts took 3.3-4.0 s to open on a
    slow 2-core machine against 2.1-2.3 s for one section. The open section is in the URL (`?out_tab=...`),
    so a link or a reload opens it; the first is the default and leaves the URL as it was."""
    if key not in SECTION_KEYS:
        raise ValueError(f"{key} is not one of ui.SECTION_KEYS, which the sidebar keeps in the URL")
    return st.tabs(labels, key=key, on_change="rerun", bind="query-params")


def footer() -> None:
    info = queries.warehouse_info(state().scope)
    if info.version is None:
        return
    loaded = info.last_load_finished.strftime("%-d %b %Y %H:%M") if info.last_load_finished else "—"
    batch = f" ({info.last_load_batch})" if info.last_load_batch else ""
    quarantine = (f"{fmt.count(info.open_quarantined_rows)} rows in quarantine (see Data quality) · "
                  if info.open_quarantined_rows is not None else "")
    st.divider()
    st.caption(f"Warehouse version {info.version} · last load {loaded} UTC{batch} · {quarantine}"
               "definitions: docs/metrics.md")


@st.cache_data(ttl=queries.RESULT_TTL_SECONDS, show_spinner=False, max_entries=256)
def suppressed(chart_id: str, data, threshold: int):
    """A chart's suppressed data, cached by its figures: a page reruns on every widget change, and suppressing
    the Outcomes page again took about 0.6 s each time (the exact audit of "by group"). The threshold is part
    of the key, so a changed cell-size setting is never served an old answer."""
    return catalog.get(chart_id).suppressed(data, threshold)


@st.cache_resource(ttl=queries.RESULT_TTL_SECONDS, show_spinner=False, max_entries=256)
def figure(chart_id: str, data, ctx: ChartContext, threshold: int | None, **opts):
    """A chart's figure, cached by everything it is drawn from: its data, context and options, and for a
    viewer of aggregates only the cell-size threshold (the figure of the suppressed data). A page reruns on
    every widget change, and building its Plotly figures again was three quarters of a rerun (Outcomes 0.25
    of 0.32 s, Safety 0.35 of 0.47 s on the sample). Builders are pure functions of these inputs. The figure
    is shared, not copied (cache_resource): st.plotly_chart only reads it (its to_dict is a deep copy), and
    nothing changes a figure once it is returned."""
    spec = catalog.get(chart_id)
    if threshold is not None:
        return spec.figure_of(suppressed(chart_id, data, threshold), ctx, **opts)
    return spec.figure(data, ctx, **opts)


def chart(chart_id: str, key: str | None = None, **opts) -> None:
    """Draw one catalog chart with the page's scope and filters, and its download menu. Viewers who see
    aggregates only get the suppressed figure (small counts hidden), as every export does."""
    s = state()
    spec = catalog.get(chart_id)
    data = spec.data(s.scope, s.filters, **opts)
    ctx = spec.context(s.filters, s.options, data) if spec.ignores or spec.own_context else s.ctx
    fig = figure(chart_id, data, ctx, sup.min_cell() if s.scope.aggregates_only else None, **opts)
    key = key or f"chart-{chart_id}"
    st.plotly_chart(fig, theme=None, config=PLOTLY_CONFIG, width="stretch", key=key)
    downloads(spec, data, ctx, key, **opts)


def download_bytes(spec, data, ctx: ChartContext, fmt_: str, viewer, **opts) -> bytes:
    """One download of a chart: `fmt_` (png, svg, pdf or csv) of its suppressed data, logged for a signed-in
    viewer. Clicked maybe long after the page was drawn, so the grant and the sign-in's age are checked again;
    when they no longer hold this raises, Streamlit serves nothing (the button says the file could not be made)
    and no export is logged; the next rerun shows the no-access or sign-in screen."""
    from dashboard import auth
    from dashboard.exports import charts as exports

    auth.check_still_allowed(viewer)
    # the same cached suppression the page draws from (a board member's chart, or another format of the same
    # chart): "by group" took 0.5 s to suppress again for each file
    threshold = sup.min_cell()
    export = exports.chart_file(spec, data, ctx, fmt_, threshold, result=suppressed(spec.id, data, threshold),
                                **opts)
    if viewer is not None and not viewer.demo:  # auth.record_export, for a thread without the session
        auth.access_log().record("export", viewer.email or "", viewer.role, what=spec.id, format=fmt_,
                                 period=ctx.period, selection=ctx.selection)
    return export.data


def downloads(spec, data, ctx: ChartContext, key: str, **opts) -> None:
    """A small menu under a chart: PNG, SVG, PDF and CSV, each made when clicked (in its own thread,
    from the data the page already has; download_bytes), always suppressed (dashboard.exports) and logged,
    and only while the viewer's grant and sign-in still hold (auth.check_still_allowed)."""
    from functools import partial

    from dashboard import auth
    from dashboard.exports import charts as exports

    viewer = auth.current_viewer()  # read now: the callable runs outside the script's thread
    with st.popover("Download", icon=":material/download:", key=f"{key}-downloads"):
        columns = st.columns(4)
        for column, fmt_ in zip(columns, exports.FORMATS, strict=True):
            column.download_button(
                fmt_.upper(), data=partial(download_bytes, spec, data, ctx, fmt_, viewer, **opts),
                file_name=exports.filename(spec, ctx, fmt_, **opts),
                mime=exports.MIME[fmt_], key=f"{key}-download-{fmt_}", on_click="ignore", width="stretch",
            )
        st.caption("Figure with the network's name, or the chart's data. Counts from 1 to 10, and figures that "
                   "would reveal them, are left out of every download (cell-size rule).")


def headline(column, label: str, value: str, delta: str | None = None, delta_color: str = "normal",
             help: str | None = None, caption: str | None = None) -> None:
    """A headline card: the figure, its change (an ASCII-signed string; "±0" draws no arrow) and a
    caption with the interval and n, all inside one bordered card."""
    flat = delta is None or delta.startswith("±")
    with column, st.container(border=True):
        st.metric(label, value, delta=delta, delta_color="off" if flat else delta_color, help=help,
                  delta_arrow="off" if flat else "auto")
        if caption:
            st.caption(caption)

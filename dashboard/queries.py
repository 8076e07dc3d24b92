"""The app's only door to the warehouse: read-only, parameterized, scoped, cached by warehouse version.

Every public function takes the viewer's `Scope` and the page's `Filters`, intersects the requested
clinics with the scope *before* any SQL runs (`Scope.restrict`), and reads marts and `metrics.*`
macros only (the Data quality functions read the `staging.stg_*` audit views), always with `?`
parameters. Nothing here computes a figure the macros already compute.

Versions: `begin_run()` (called at the top of every Streamlit rerun) resolves the published
warehouse pointer once; every query of that rerun reads that version file, and results are cached
under its path, so a new load shows up on the next rerun without a restart and two versions are
never mixed in one page. Outside Streamlit (benchmarks, exports) each call resolves the pointer.
One DuckDB connection per version file (st.cache_resource); every query takes its own cursor.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from dashboard import settings
from dashboard.filters import FilterOptions, Filters
from dashboard.scope import Scope
from pipelines import config
from pipelines.plan.holidays import holidays_between
from pipelines.warehouse.publish import resolve_version, version_number

RESULT_TTL_SECONDS = settings.cache_ttl_seconds()
_VERSION_KEY = "_dashboard_warehouse_version"

# --------------------------------------------------------------------------------------- plumbing


def current_version_path() -> Path | None:
    """The published version file right now (None before the first load)."""
    return resolve_version(config.db_path())


def begin_run() -> Path | None:
    """Resolve the published version once for this rerun and pin it for the rerun's queries."""
    path = current_version_path()
    if get_script_run_ctx(suppress_warning=True) is not None:
        st.session_state[_VERSION_KEY] = str(path) if path else None
    return path


def _pinned_version() -> str | None:
    if get_script_run_ctx(suppress_warning=True) is not None and _VERSION_KEY in st.session_state:
        return st.session_state[_VERSION_KEY]
    path = current_version_path()
    return str(path) if path else None


def warehouse_ready() -> bool:
    return _pinned_version() is not None


def pinned_version() -> str | None:
    """The version file this rerun reads (None before the first load): the cache key for results a
    module computes outside this one (dashboard.plan_queries)."""
    return _pinned_version()


@contextlib.contextmanager
def cursor(version_path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the shared read-only connection to one version file, closed afterwards: for library
    code that takes a connection (pipelines.plan) instead of this module's SQL."""
    cur = _connection(version_path).cursor()
    try:
        yield cur
    finally:
        cur.close()


_connect_lock = threading.Lock()


@st.cache_resource(show_spinner=False, max_entries=4)
def _connection(version_path: str) -> duckdb.DuckDBPyConnection:
    with _connect_lock:
        return duckdb.connect(version_path, read_only=True)


def _execute(version_path: str, sql: str, params: tuple) -> pd.DataFrame:
    cursor = _connection(version_path).cursor()
    try:
        return cursor.execute(sql, [list(p) if isinstance(p, tuple) else p for p in params]).df()
    finally:
        cursor.close()


@st.cache_data(ttl=RESULT_TTL_SECONDS, show_spinner=False, max_entries=1024)
def _cached(version_path: str, sql: str, params: tuple) -> pd.DataFrame:
    return _execute(version_path, sql, params)


def query(sql: str, params: tuple = (), cached: bool = True) -> pd.DataFrame:
    """Run one parameterized statement on the pinned version (an empty frame before the first load)."""
    path = _pinned_version()
    if path is None:
        return pd.DataFrame()
    frozen = tuple(tuple(p) if isinstance(p, list) else p for p in params)
    if cached:
        return _cached(path, sql, frozen).copy()
    return _execute(path, sql, frozen)


# ------------------------------------------------------------------------------------- filters


_FILTERS_SQL = (
    "clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE, "
    "modalities := ?::VARCHAR[], indications := ?::VARCHAR[]"
)
_CLINIC_PERIOD_SQL = "clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE"

# An open period start looks for public holidays from this date (the generator's earliest start); a week before it
# gets no holiday mark.
_EARLIEST_HOLIDAY_SEARCH = dt.date(2000, 1, 1)

# A CTE `caps`: each clinic's chairs by its capacity row valid on the period's last day (parameters: that day, twice).
_CHAIRS_AT_END_CTE = (
    "caps as (select clinic_id, arg_max(chairs, valid_from) as chairs from marts.clinic_capacity "
    "where ?::DATE is null or valid_from <= ?::DATE group by clinic_id)"
)

# A CTE `closures`: the names of the public holidays closed on (metrics.holiday_closures), in date order, per clinic
# or per clinic and week. Its parameters: the clinic and period arguments, then the holiday calendar
# (_holiday_calendar).
_CLOSURES_SQL = (
    "closures as (select {grain}, string_agg(holiday, ', ' order by day) as closed_holidays "
    "from metrics.holiday_closures(clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE, "
    "days := ?::DATE[], names := ?::VARCHAR[]) group by {grain})"
)
_CLOSURES_BY_CLINIC_CTE = _CLOSURES_SQL.format(grain="clinic_id")
_CLOSURES_BY_WEEK_CTE = _CLOSURES_SQL.format(grain="clinic_id, week_start")

_NAMES_CTE = (
    "names as (select clinic_id, arg_max(clinic_name, valid_from) as clinic_name "
    "from marts.clinic_capacity group by clinic_id)"
)


def _list(values: tuple[str, ...]) -> tuple[str, ...] | None:
    return tuple(values) if values else None


def _args(scope: Scope, f: Filters) -> tuple:
    """The five filter parameters, clinics already intersected with the scope."""
    clinics = scope.restrict(f.clinics)
    return (
        tuple(clinics) if clinics is not None else None,
        f.start,
        f.end,
        _list(f.modalities),
        _list(f.indications),
    )


def _clinic_period_args(scope: Scope, f: Filters) -> tuple:
    clinics = scope.restrict(f.clinics)
    return (tuple(clinics) if clinics is not None else None, f.start, f.end)


def _macro(name: str, scope: Scope, f: Filters, extra_sql: str = "", extra: tuple = (),
           order_by: str = "") -> pd.DataFrame:
    sql = f"select * from metrics.{name}({_FILTERS_SQL}{extra_sql})"
    if order_by:
        sql += f" order by {order_by}"
    return query(sql, _args(scope, f) + extra)


def _by_breakdown(name: str, scope: Scope, f: Filters, breakdown: str, order_first: str = "") -> pd.DataFrame:
    """A macro's rows for one breakdown (group_value); by clinic, with each clinic's name added
    (clinic_name) and ordered by it."""
    order_by = f"{order_first}, " if order_first else ""  # callers pass literals only (tests check)
    if breakdown == "clinic":
        sql = (
            f"with {_NAMES_CTE} select m.*, coalesce(names.clinic_name, m.group_value) as clinic_name "
            f"from metrics.{name}({_FILTERS_SQL}, breakdown := 'clinic') m "
            f"left join names on names.clinic_id = m.group_value order by {order_by}clinic_name"
        )
        return query(sql, _args(scope, f))
    sql = f"select * from metrics.{name}({_FILTERS_SQL}, breakdown := ?) order by {order_by}group_value"
    return query(sql, _args(scope, f) + (_breakdown(breakdown),))


BREAKDOWNS = {
    "none", "clinic", "indication", "modality", "modality_family", "month", "maoi", "lamotrigine",
    "benzodiazepine", "opioid", "dose_band", "session_number", "phase", "severity",
}


def _breakdown(value: str) -> str:
    if value not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {value!r}")
    return value


# ------------------------------------------------------------------------------- options, period


@dataclass(frozen=True)
class WarehouseInfo:
    version: int | None
    file_name: str | None
    last_load_finished: dt.datetime | None
    last_load_batch: str | None
    loads: int
    open_quarantined_rows: int | None  # None: not for this viewer (network-wide)
    last_load_quarantined_rows: int | None


def filter_options(scope: Scope) -> FilterOptions:
    """The clinics (id -> current name) the scope allows, modality and indication codes, and the
    data's first and last day for those clinics."""
    if not warehouse_ready():
        return FilterOptions()
    clinics = scope.restrict(None)
    names = query(
        f"with {_NAMES_CTE} select clinic_id, clinic_name from names "
        "where ?::VARCHAR[] is null or list_contains(?::VARCHAR[], clinic_id) order by clinic_name",
        (tuple(clinics) if clinics is not None else None,) * 2,
    )
    groups = query(
        "select distinct modality, indication from marts.filter_groups "
        "where ?::VARCHAR[] is null or list_contains(?::VARCHAR[], clinic_id)",
        (tuple(clinics) if clinics is not None else None,) * 2,
    )
    period = query("select start_date, end_date from metrics.data_period(clinics := ?::VARCHAR[])",
                   (tuple(clinics) if clinics is not None else None,))
    start = end = None
    if not period.empty and pd.notna(period.iloc[0]["start_date"]):
        start = pd.Timestamp(period.iloc[0]["start_date"]).date()
        end = pd.Timestamp(period.iloc[0]["end_date"]).date()
    order = ["iv_ketamine", "im_ketamine", "esketamine_nasal"]
    modalities = sorted(set(groups["modality"].dropna()) if not groups.empty else set(),
                        key=lambda m: (order.index(m) if m in order else 99, m))
    indications = sorted(set(groups["indication"].dropna()) if not groups.empty else set())
    return FilterOptions(
        clinics=dict(zip(names["clinic_id"], names["clinic_name"], strict=True)) if not names.empty else {},
        modalities=modalities,
        indications=indications,
        data_start=start,
        data_end=end,
    )


@functools.cache
def _release_fingerprint() -> str:
    """The fingerprint of this release's SQL definitions (sql/), computed once per process: the files
    ship with the app and change only with a new release, which restarts it."""
    from pipelines.warehouse.rebuild import definitions_fingerprint

    return definitions_fingerprint(config.SQL_DIR)


def definitions_current() -> bool | None:
    """Whether the published version was built with this release's SQL definitions (None before the
    first load). A version built by an earlier release, before builds recorded their definitions, has
    no staging.stg_build: it is not current either. The loader and `pipelines rebuild` bring it up to
    date; the app itself only reads."""
    if _pinned_version() is None:
        return None
    try:
        built = query("select models_fingerprint from staging.stg_build")
    except duckdb.CatalogException:
        return False
    return not built.empty and built.iloc[0]["models_fingerprint"] == _release_fingerprint()


def warehouse_info(scope: Scope | None = None) -> WarehouseInfo:
    """The published version, the last load and the quarantine's size (for every page's footer).
    The quarantine counts are network-wide: None for a viewer who does not see the whole network."""
    path = _pinned_version()
    if path is None:
        return WarehouseInfo(None, None, None, None, 0, 0, 0)
    loads = query(
        "select load_id, batch, finished_at from staging.stg_load_files "
        "group by all order by load_id desc"
    )
    quarantine = query(
        "select count(*) filter (where is_open) as open_rows, "
        "count(*) filter (where load_id = (select max(load_id) from staging.stg_quarantine)) as last_rows "
        "from staging.stg_quarantine"
    )
    last = loads.iloc[0] if not loads.empty else None
    network = scope is None or scope.whole_network
    return WarehouseInfo(
        version=version_number(Path(path)),
        file_name=Path(path).name,
        last_load_finished=pd.Timestamp(last["finished_at"]).to_pydatetime() if last is not None else None,
        last_load_batch=str(last["batch"]) if last is not None and network else None,
        loads=len(loads),
        open_quarantined_rows=(int(quarantine.iloc[0]["open_rows"]) if not quarantine.empty else 0) if network else None,
        last_load_quarantined_rows=(int(quarantine.iloc[0]["last_rows"]) if not quarantine.empty else 0) if network else None,
    )


# ---------------------------------------------------------------------------------------- outcomes


def course_counts(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    return _macro("course_counts", scope, f, ", breakdown := ?", (_breakdown(breakdown),), "group_value")


def outcome_rates(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    """Per instrument (and breakdown group): courses, why not evaluable, response and remission with CIs.
    With breakdown 'clinic', clinic_name is added."""
    return _by_breakdown("outcome_rates", scope, f, breakdown, order_first="instrument")


def score_trajectory(scope: Scope, f: Filters, instrument: str = "PHQ9", evaluable_only: bool = False) -> pd.DataFrame:
    return _macro("score_trajectory", scope, f, ", for_instrument := ?, evaluable_only := ?",
                  (instrument, bool(evaluable_only)), "session_number")


def early_signal(scope: Scope, f: Filters) -> pd.DataFrame:
    return _macro("early_signal", scope, f, order_by="instrument")


def item9_flags(scope: Scope, f: Filters) -> pd.DataFrame:
    return _macro("item9_flags", scope, f)


def induction_funnel(scope: Scope, f: Filters) -> pd.DataFrame:
    return _macro("induction_funnel", scope, f, order_by="modality_family, session_number")


# the measures metrics.clinic_comparison knows, in the order the catalog offers them
MEASURES = ("response", "remission", "induction_completion", "side_effect", "severe_side_effect", "bp_elevation",
            "rems_complete")


def clinic_comparison(scope: Scope, f: Filters, measure: str = "response", instrument: str = "PHQ9",
                      effect: str = "any") -> dict[str, pd.DataFrame]:
    """Funnel-plot data: {"clinics": each selected clinic's events, n, rate, network rate, limits, name;
    "limits": the 95% / 99.8% control limits on a grid of n up to the largest clinic's n; "network": the
    same rows for every clinic of the network, selected or not}. The network is every clinic the viewer may
    see, whichever clinics are selected: a clinic is compared with the same benchmark when it is shown alone
    or beside one peer. "network" is never drawn: small-cell suppression decides on it what every selection
    may show (charts/suppression_rules.CLINIC_FUNNEL), so that the clinics left out, whose figures the
    network totals hold, stay protected."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    sql = (
        f"with {_NAMES_CTE} select c.*, coalesce(names.clinic_name, c.clinic_id) as clinic_name "
        f"from metrics.clinic_comparison(?, {_FILTERS_SQL}, for_instrument := ?, for_effect := ?, "
        "shown := ?::VARCHAR[]) c left join names using (clinic_id) order by c.n desc, clinic_name"
    )
    network, start, end, modalities, indications = _args(scope, replace(f, clinics=()))
    shown = scope.restrict(f.clinics) if f.clinics else None
    every = query(sql, (measure, network, start, end, modalities, indications, instrument, effect, None))
    clinics = every if shown is None or every.empty else \
        every[every["clinic_id"].isin(list(shown))].reset_index(drop=True)
    limits = pd.DataFrame()
    if not clinics.empty and clinics["network_rate"].notna().any() and clinics["n"].max() > 0:
        p = float(clinics["network_rate"].dropna().iloc[0])
        n_max = int(clinics["n"].max())
        limits = query("select * from metrics.funnel_limits(?::DOUBLE, ?::INTEGER) order by n", (p, max(n_max, 10)))
    return {"clinics": clinics, "limits": limits, "network": every}


# ------------------------------------------------------------------------------------------ safety


SAFETY_CASES_LIMIT = 2000
SAFETY_CASE_KINDS = ("both", "severe", "bp")


def safety_cases(scope: Scope, f: Filters, kind: str = "both", limit: int = SAFETY_CASES_LIMIT) -> pd.DataFrame:
    """The treated sessions behind the serious safety counts, newest first: a severe side effect ('severe'), a
    reading with systolic >= 180 or diastolic >= 110 ('bp', the BP elevation rule), or either ('both'); the limit
    applies to the kind asked for. For a medical director's case review: the clinic's own session id to find
    the chart, never a patient key. Only row-level viewers get rows; the page logs it."""
    if kind not in SAFETY_CASE_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if not scope.row_level or scope.aggregates_only:
        return pd.DataFrame()
    sql = (
        f"with {_NAMES_CTE} "
        "select s.session_id, coalesce(names.clinic_name, s.clinic_id) as clinic_name, s.session_date, s.modality, "
        "s.session_number, s.phase, s.status, s.dose_mg, s.dose_mg_per_kg, s.severe_effects, s.side_effects, "
        "s.interventions, s.bp_elevated, s.peak_systolic_bp, s.peak_diastolic_bp, s.peak_systolic_rise "
        "from marts.sessions s left join names using (clinic_id) "
        "where s.is_treated and case ? when 'severe' then s.has_severe_side_effect when 'bp' then s.bp_elevated "
        "else s.has_severe_side_effect or s.bp_elevated end "
        "and metrics.in_selection(s.clinic_id, s.session_date, s.modality, s.modality_family, s.indication, "
        "?::VARCHAR[], ?::DATE, ?::DATE, ?::VARCHAR[], ?::VARCHAR[]) "
        "order by s.session_date desc, s.session_id limit ?"
    )
    return query(sql, (kind,) + _args(scope, f) + (int(limit),))


def active_patients(scope: Scope, f: Filters) -> pd.DataFrame:
    return _macro("active_patients", scope, f)


def treated_sessions(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    return _macro("treated_sessions", scope, f, ", breakdown := ?", (_breakdown(breakdown),))


def side_effect_rates(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    return _macro("side_effect_rates", scope, f, ", breakdown := ?", (_breakdown(breakdown),), "effect, group_value")


def side_effect_interventions(scope: Scope, f: Filters) -> pd.DataFrame:
    return _macro("side_effect_interventions", scope, f, order_by="rate desc, intervention")


def bp_elevation(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    return _macro("bp_elevation", scope, f, ", breakdown := ?", (_breakdown(breakdown),), "group_value")


def peak_rise_histogram(scope: Scope, f: Filters, bin_mmhg: int = 5) -> pd.DataFrame:
    return _macro("peak_rise_histogram", scope, f, ", bin_mmhg := ?", (int(bin_mmhg),), "bin_start")


_VITALS = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate")


def vitals_by_minute(scope: Scope, f: Filters, bin_minutes: int = 5, vital: str | None = None) -> pd.DataFrame:
    """Median and IQR by minute; with `vital`, only that sign is computed (the others are NULL)."""
    chosen = vital if vital in _VITALS else None
    return _macro("vitals_by_minute", scope, f, ", bin_minutes := ?, vital := ?", (int(bin_minutes), chosen), "minute")


def rems_completeness(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    """Esketamine REMS monitoring completeness (the macro takes no modality filter: esketamine only)."""
    clinics, start, end, _modalities, indications = _args(scope, f)
    sql = (
        f"with {_NAMES_CTE} select r.*, coalesce(names.clinic_name, r.group_value) as clinic_name "
        "from metrics.rems_completeness(clinics := ?::VARCHAR[], start_date := ?::DATE, "
        "end_date := ?::DATE, indications := ?::VARCHAR[], breakdown := ?) r "
        "left join names on names.clinic_id = r.group_value order by r.group_value"
    )
    return query(sql, (clinics, start, end, indications, _breakdown(breakdown)))


# ---------------------------------------------------------------------------------------- boosters


def booster_intervals(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    return _by_breakdown("booster_intervals", scope, f, breakdown)


def booster_interval_histogram(scope: Scope, f: Filters, bin_days: int = 7) -> pd.DataFrame:
    return _macro("booster_interval_histogram", scope, f, ", bin_days := ?", (int(bin_days),), "bin_start")


def booster_km(scope: Scope, f: Filters) -> pd.DataFrame:
    return _macro("booster_km", scope, f, order_by="days")


def boosters_per_patient_year(scope: Scope, f: Filters, breakdown: str = "none") -> pd.DataFrame:
    return _by_breakdown("boosters_per_patient_year", scope, f, breakdown)


# ---------------------------------------------------------------------------------------- capacity


def utilization(scope: Scope, f: Filters) -> pd.DataFrame:
    """Per clinic over the period, plus the chairs of the capacity row valid on the period's last day.
    Chair utilization has no modality or indication filter: chairs are shared by every treatment."""
    sql = (
        f"with {_CHAIRS_AT_END_CTE} "
        f"select u.*, caps.chairs from metrics.utilization({_CLINIC_PERIOD_SQL}) u "
        "left join caps using (clinic_id) order by u.clinic_name"
    )
    return query(sql, (f.end, f.end) + _clinic_period_args(scope, f))


def capacity_rows(scope: Scope, clinics: Iterable[str] | None = None) -> pd.DataFrame:
    """The capacity rows the capacity figures use (metrics.capacity_rows), newest row of each clinic first."""
    chosen = scope.restrict(clinics)
    return query("select * from metrics.capacity_rows(clinics := ?::VARCHAR[]) "
                 "order by clinic_name, valid_from desc nulls last",
                 (tuple(chosen) if chosen is not None else None,))


def capacity_quarantine(scope: Scope, clinics: Iterable[str] | None = None) -> pd.DataFrame:
    """Open quarantined clinics rows of the clinics in scope, with the capacity row the figures use in their
    place on the date they were meant to start (`meant_from`: NULL when the file's text is no date; then, or
    when it precedes every row, no row is used in its place), and `affects_until`, the day that row stops
    applying (a later row takes over; NULL: it still applies): the quarantined row changes figures from
    `meant_from` to then.
    A clinics row holds no patient data: a clinic's own manager sees its reasons and values."""
    chosen = scope.restrict(clinics)
    sql = (
        f"with {_NAMES_CTE}, quarantined as ("
        "  select quarantine_id, load_id, file, row_number, array_to_string(reasons, '; ') as reasons, "
        "    json_extract_string(original, '$.clinic_id') as clinic_id, "
        "    json_extract_string(original, '$.valid_from') as valid_from_text, "
        "    json_extract_string(original, '$.chairs') as chairs_text, "
        "    json_extract_string(original, '$.opens_at') as opens_text, "
        "    json_extract_string(original, '$.closes_at') as closes_text, "
        "    json_extract_string(original, '$.open_days') as open_days_text, "
        # an empty valid_from means "from the start" (the contract); text that is no date matches no row
        "    case when coalesce(trim(json_extract_string(original, '$.valid_from')), '') = '' then date '0001-01-01' "
        "      else try_cast(trim(json_extract_string(original, '$.valid_from')) as DATE) end as meant_from "
        "  from staging.stg_quarantine where kind = 'clinics' and is_open) "
        "select q.*, coalesce(names.clinic_name, q.clinic_id) as clinic_name, "
        "  nullif(caps.valid_from, date '0001-01-01') as used_valid_from, caps.chairs as used_chairs, "
        "  nullif(caps.valid_to, date '9999-12-31') as affects_until, "
        "  caps.opens_at as used_opens_at, "
        "  caps.closes_at as used_closes_at, caps.open_days as used_open_days "
        "from quarantined q left join names on names.clinic_id = trim(q.clinic_id) "
        "left join marts.clinic_capacity caps on caps.clinic_id = trim(q.clinic_id) "
        "  and q.meant_from >= caps.valid_from and q.meant_from < caps.valid_to "
        "where ?::VARCHAR[] is null or list_contains(?::VARCHAR[], trim(q.clinic_id)) "
        "order by clinic_name, valid_from_text"
    )
    args = tuple(chosen) if chosen is not None else None
    return query(sql, (args, args))


def network_utilization(scope: Scope, f: Filters) -> pd.DataFrame:
    """The selected clinics pooled (metrics.network_utilization)."""
    return query(f"select * from metrics.network_utilization({_CLINIC_PERIOD_SQL})", _clinic_period_args(scope, f))


def utilization_by_clinic(scope: Scope, f: Filters) -> pd.DataFrame:
    """utilization(), with `closed_holidays`: the public holidays each clinic closed on in the period
    (metrics.holiday_closures; "Thanksgiving, Christmas Day", or NULL), which its utilization still counts as
    available chair time."""
    sql = (
        f"with {_CHAIRS_AT_END_CTE}, {_CLOSURES_BY_CLINIC_CTE} "
        f"select u.*, caps.chairs, closures.closed_holidays from metrics.utilization({_CLINIC_PERIOD_SQL}) u "
        "left join caps using (clinic_id) left join closures using (clinic_id) order by u.clinic_name"
    )
    period = _clinic_period_args(scope, f)
    return query(sql, (f.end, f.end) + period + _holiday_calendar(f) + period)


def utilization_by_week(scope: Scope, f: Filters) -> pd.DataFrame:
    """metrics.utilization_by_week, with `closed_holidays`: the public holidays the clinic closed on that week
    (metrics.holiday_closures; "Thanksgiving", or NULL). Such a day still counts as available chair time, so
    the week reads lower: the chart marks it."""
    sql = (
        f"with {_NAMES_CTE}, {_CLOSURES_BY_WEEK_CTE} "
        "select w.*, coalesce(names.clinic_name, w.clinic_id) as clinic_name, closures.closed_holidays "
        f"from metrics.utilization_by_week({_CLINIC_PERIOD_SQL}) w left join names using (clinic_id) "
        "left join closures using (clinic_id, week_start) "
        "order by clinic_name, week_start"
    )
    period = _clinic_period_args(scope, f)
    return query(sql, period + _holiday_calendar(f) + period)


def _holiday_calendar(f: Filters) -> tuple[list[dt.date], list[str]]:
    """The public holidays a fortnight either side of the period (metrics.holiday_closures compares each with
    the same weekday a week or two away), as parallel lists of dates and names. An open end reaches the
    first or last year the extracts can hold."""
    first = (f.start or _EARLIEST_HOLIDAY_SEARCH) - dt.timedelta(days=14)
    last = (f.end or dt.date.today()) + dt.timedelta(days=14)
    calendar = holidays_between(first, last)
    return [day for day, _ in calendar], [name for _, name in calendar]


def utilization_by_weekday_hour(scope: Scope, f: Filters) -> pd.DataFrame:
    sql = (
        f"with {_NAMES_CTE} select h.*, coalesce(names.clinic_name, h.clinic_id) as clinic_name "
        f"from metrics.utilization_by_weekday_hour({_CLINIC_PERIOD_SQL}) h left join names using (clinic_id) "
        "order by clinic_name, weekday, hour"
    )
    return query(sql, _clinic_period_args(scope, f))


# ------------------------------------------------------------------------------------ data quality
# Loads, files, checks and the quarantine are network-wide: a viewer restricted to some clinics or to
# aggregates gets empty frames (same columns); only row_level viewers see quarantined rows' values.


def loads(scope: Scope) -> pd.DataFrame:
    """One row per published load with its totals."""
    return query(
        "select load_id, warehouse_version, batch, started_at, finished_at, count(*) as files, "
        "sum(rows_read) as rows_read, sum(loaded) as loaded, sum(quarantined) as quarantined, "
        "sum(duplicates) as duplicates, sum(replaced) as replaced, "
        "count(*) filter (where status = 'rejected') as rejected_files "
        "from staging.stg_load_files where ? group by all order by load_id desc", (scope.whole_network,)
    )


def load_files(scope: Scope, load_id: int | None = None) -> pd.DataFrame:
    """Per-file counts of one load (all loads when load_id is None)."""
    return query(
        "select load_id, batch, finished_at, file, kind, status, rows_read, loaded, quarantined, duplicates, "
        "replaced, reason, dropped_identifier_columns, ignored_columns, seconds "
        "from staging.stg_load_files where (?::BIGINT is null or load_id = ?::BIGINT) and ? "
        "order by load_id desc, file",
        (load_id, load_id, scope.whole_network),
    )


def check_results(scope: Scope, load_id: int | None = None, failed_only: bool = False) -> pd.DataFrame:
    """Expectation-suite and SQL check results per file and rule."""
    return query(
        "select load_id, file, kind, engine, suite, rule_id, description, success, element_count, "
        "unexpected_count, gx_checked_rows from staging.stg_check_results "
        "where (?::BIGINT is null or load_id = ?::BIGINT) and (not ? or not success) and ? "
        "order by load_id desc, success, unexpected_count desc, file, rule_id",
        (load_id, load_id, bool(failed_only), scope.whole_network),
    )


QUARANTINE_LIMIT = 500


def quarantine_reasons(scope: Scope, open_only: bool = True) -> pd.DataFrame:
    """Quarantined rows per file kind and reason."""
    return query(
        "select kind, reason, count(*) as rows from (select kind, unnest(reasons) as reason "
        "from staging.stg_quarantine where (is_open or not ?) and ?) group by all order by rows desc, kind, reason",
        (bool(open_only), scope.whole_network),
    )


def quarantine_rows(scope: Scope, search: str = "", kind: str | None = None, open_only: bool = True,
                    limit: int = QUARANTINE_LIMIT) -> pd.DataFrame:
    """Quarantined rows matching a search (file, rule, reason or value text; case-insensitive),
    newest first. patient_ref is removed from the original values and record keys of patient-keyed
    kinds are withheld: no patient key is ever shown. Only row_level viewers of the whole network see
    row values and what points at one row (its record key, its row number in the file, its quarantine id);
    other whole-network viewers see the file, kind, rules broken and status of each row only (same columns,
    NULL), and their search looks at the file, rules and reasons only; the rest see no row."""
    search = (search or "").strip()[:100]
    pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    show_values = scope.whole_network and scope.row_level
    values_sql = (
        "case when original is null then null "
        "else json_merge_patch(original::JSON, '{\"patient_ref\": null}')::VARCHAR end" if show_values else "NULL::VARCHAR"
    )
    row_sql = (  # what identifies one extract row: a session, vital or side effect id, a row number
        "quarantine_id, load_id, file, kind, row_number, "
        "case when kind in ('patients', 'assessments') then NULL else record_key end as record_key, "
        if show_values else
        "NULL::BIGINT as quarantine_id, load_id, file, kind, NULL::BIGINT as row_number, NULL::VARCHAR as record_key, "
    )
    sql = (
        f"select {row_sql}"
        "array_to_string(reasons, '; ') as reasons, orphan_only, "
        f"{values_sql} as original_values, quarantined_at, is_open, resolution "
        "from staging.stg_quarantine "
        "where (is_open or not ?) and (?::VARCHAR is null or kind = ?::VARCHAR) and ? "
        "and (? = '' or file ilike ? escape '\\' or array_to_string(reasons, ' ') ilike ? escape '\\' "
        "or array_to_string(rule_ids, ' ') ilike ? escape '\\' "
        + ("or json_merge_patch(original::JSON, '{\"patient_ref\": null}')::VARCHAR ilike ? escape '\\' " if show_values else "or ? = '' ")
        + ") order by stg_quarantine.quarantine_id desc limit ?"  # the table's: the column may be withheld
    )
    return query(sql, (bool(open_only), kind, kind, scope.whole_network, search, pattern, pattern, pattern, pattern,
                       int(limit)))

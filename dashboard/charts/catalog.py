"""Every chart of the app: id, title, page, the query that feeds it and the builder that draws it.

Pages render charts from here, and the board pack (issue 5) iterates `CATALOG` the same way:

    spec = get("outcomes.clinic_funnel")
    data = spec.data(scope, filters, measure="remission")        # query layer, scoped and cached
    fig = spec.figure(data, context(filters, options), measure="remission")   # pure builder
    # or both at once: spec.render(scope, filters, ctx, measure="remission")

Options a chart understands (e.g. instrument, measure, breakdown, vital, clinic_id) are passed to the
query and/or the builder according to their signatures; `defaults` gives the export's choice.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
import plotly.graph_objects as go

from dashboard import labels, plan_queries, queries
from dashboard.charts import boosters, capacity, outcomes, overview, planning, quality, safety
from dashboard.charts.base import ChartContext, ChartData, add_footnote, all_hidden, draws_a_value, is_empty
from dashboard.filters import FilterOptions, Filters
from dashboard.scope import Scope
from dashboard import suppression as sup
from dashboard.charts.suppression_rules import RULES

PAGES = ("Overview", "Outcomes", "Safety", "Boosters", "Capacity", "Planning", "Data quality")


@dataclass(frozen=True)
class ChartSpec:
    id: str
    title: str
    page: str
    query: Callable[..., ChartData]
    build: Callable[..., go.Figure]
    definition: str  # docs/metrics.md section
    defaults: dict = field(default_factory=dict)
    options: dict[str, tuple] = field(default_factory=dict)  # option -> allowed values (for exports and tests)
    # what the data's columns are, for small-cell suppression (charts/suppression_rules.py; None: not described)
    suppression: sup.Suppression | None = None
    # filters its query does not take (chair utilization: chairs are shared by every modality and indication);
    # its title and subtitle must not name them
    ignores: tuple[str, ...] = ()
    # a chart that draws part of its data (one clinic of several): the rows drawn, for its CSV
    drawn_rows: Callable[..., ChartData] | None = None
    # the columns a chart's exports carry, when its query returns more for suppression's sake only (weekly
    # missed sessions decide what utilization may be shown; blank in every row of the CSV, they made a pack
    # page say "316 values are hidden" under a heatmap drawn whole)
    exported_columns: tuple[str, ...] | None = None
    # a chart about its own period and selection (a plan: its weeks, clinic and scenario), from its data
    own_context: Callable[[ChartData], ChartContext] | None = None

    @staticmethod
    def _accepted(fn: Callable, opts: dict) -> dict:
        params = inspect.signature(fn).parameters
        return {k: v for k, v in opts.items() if k in params}

    def context(self, filters: Filters, options: FilterOptions, data: ChartData | None = None) -> ChartContext:
        """The figure's context (its title, subtitle, download names, access log): the filters' period and
        selection without the filters it ignores, or the chart's own from its data (a plan's weeks)."""
        if self.own_context is not None and data is not None:
            return self.own_context(data)
        return context(replace(filters, **{name: () for name in self.ignores}), options)

    def data(self, scope: Scope, filters: Filters, **opts) -> ChartData:
        merged = {**self.defaults, **opts}
        return self.query(scope, filters, **self._accepted(self.query, merged))

    def figure(self, data: ChartData, ctx: ChartContext, **opts) -> go.Figure:
        merged = {**self.defaults, **opts}
        return self.build(data, ctx, **self._accepted(self.build, merged))

    def drawn(self, data: ChartData, **opts) -> ChartData:
        """The part of the data the figure draws (all of it, unless the chart draws one clinic of several)."""
        if self.drawn_rows is None:
            return data
        return self.drawn_rows(data, **self._accepted(self.drawn_rows, {**self.defaults, **opts}))

    def suppressed(self, data: ChartData, threshold: int | None = None) -> sup.Result:
        """The data with small counts and what would reveal them masked (exports, aggregates-only viewers)."""
        result = sup.apply(data, self.suppression, threshold)
        if self.exported_columns is None or not isinstance(result.data, pd.DataFrame):
            return result
        keep = [c for c in result.data.columns if c in self.exported_columns]
        before = result.source if isinstance(result.source, pd.DataFrame) else data
        hidden = int((result.data[keep].isna() & before[keep].notna()).to_numpy().sum()) if len(result.data) else 0
        return replace(result, data=result.data[keep], hidden=hidden)

    def figure_of(self, result: sup.Result, ctx: ChartContext, **opts) -> go.Figure:
        """The figure of suppressed data, with the suppression note in its footnote when anything is hidden."""
        fig = self.figure(result.data, ctx, **opts)
        # the data exists: "No ... for this selection, n = 0" would be false; and a chart that keeps its rows
        # marked "n not shown" with no dot on any of them (one clinic, two weeks) is hidden whole too
        if result.hidden and (is_empty(fig) or not draws_a_value(fig)) and result.source is not None \
                and not is_empty(self.figure(result.source, ctx, **opts)):
            fig = all_hidden(fig, ctx)
        return add_footnote(fig, result.note) if result.note else fig

    def render(self, scope: Scope, filters: Filters, ctx: ChartContext, suppress: bool = False, **opts) -> go.Figure:
        data = self.data(scope, filters, **opts)
        if suppress:
            return self.figure_of(self.suppressed(data), ctx, **opts)
        return self.figure(data, ctx, **opts)


# --------------------------------------------------------------------- composite queries (no SQL here)


def _side_effects_severity(scope: Scope, f: Filters) -> dict:
    return {"by_severity": queries.side_effect_rates(scope, f, "severity"), "overall": queries.side_effect_rates(scope, f)}


def _side_effects_dose(scope: Scope, f: Filters) -> ChartData:
    return queries.side_effect_rates(scope, f, "dose_band")


def _side_effects_session(scope: Scope, f: Filters) -> ChartData:
    return queries.side_effect_rates(scope, f, "session_number")


def _bp_dose(scope: Scope, f: Filters) -> ChartData:
    return queries.bp_elevation(scope, f, "dose_band")


def _peak_rise(scope: Scope, f: Filters) -> dict:
    return {"histogram": queries.peak_rise_histogram(scope, f), "summary": queries.bp_elevation(scope, f)}


def _rems_clinic(scope: Scope, f: Filters) -> ChartData:
    return queries.rems_completeness(scope, f, "clinic")


def _booster_histogram(scope: Scope, f: Filters) -> dict:
    return {"histogram": queries.booster_interval_histogram(scope, f), "summary": queries.booster_intervals(scope, f)}


def _booster_pyr(scope: Scope, f: Filters) -> dict:
    return {"clinics": queries.boosters_per_patient_year(scope, f, "clinic"),
            "network": queries.boosters_per_patient_year(scope, f)}


def _booster_clinic(scope: Scope, f: Filters) -> ChartData:
    return queries.booster_intervals(scope, f, "clinic")


def _courses_month(scope: Scope, f: Filters) -> ChartData:
    return queries.course_counts(scope, f, "month")


def _quarantine(scope: Scope, f: Filters) -> ChartData:
    return queries.quarantine_reasons(scope)


def _trajectory(scope: Scope, f: Filters, instrument: str = "PHQ9") -> ChartData:
    """The trajectory, with the outcome table of the same selection: its n at the baseline is that table's
    courses with a baseline, so suppression hides there what the outcome charts hide (suppression_rules)."""
    return {"": queries.score_trajectory(scope, f, instrument), "rates": queries.outcome_rates(scope, f)}


def _outcomes_group(scope: Scope, f: Filters, breakdown: str = "indication") -> ChartData:
    return queries.outcome_rates(scope, f, breakdown)


def _completion_group(scope: Scope, f: Filters, breakdown: str = "indication") -> ChartData:
    return queries.course_counts(scope, f, breakdown)


INSTRUMENTS = tuple(labels.INSTRUMENT_ORDER)
MEASURES = queries.MEASURES
OUTCOME_BREAKDOWNS = ("indication", "modality", "clinic", "maoi", "lamotrigine", "benzodiazepine", "opioid")
# who stops before completing induction; clinics are compared on the completion funnel plot, against the
# network's limits (one table of clinics, suppressed once, rather than two that could disagree)
COMPLETION_BREAKDOWNS = tuple(b for b in OUTCOME_BREAKDOWNS if b != "clinic")
VITALS = tuple(labels.VITALS)
TRAJECTORY_MEASURES = outcomes.TRAJECTORY_MEASURES

_PLAN = {"clinic_id": None, "scenario": None}  # the first clinic in scope, no change
_CHAIRS_SHARED = ("modalities", "indications")  # chair utilization counts every treatment in the chairs

CATALOG: tuple[ChartSpec, ...] = (
    ChartSpec("overview.courses_by_month", "New courses by month", "Overview", _courses_month,
              overview.courses_by_month, "Courses and phases"),
    ChartSpec("outcomes.rates_by_instrument", "Response and remission by instrument", "Outcomes",
              queries.outcome_rates, outcomes.rates_by_instrument, "Outcomes › Response / remission rate"),
    ChartSpec("outcomes.rates_by_group", "Response and remission by group", "Outcomes", _outcomes_group,
              outcomes.rates_by_group, "Outcomes › Response / remission rate",
              defaults={"instrument": "PHQ9", "breakdown": "indication"},
              options={"instrument": INSTRUMENTS, "breakdown": OUTCOME_BREAKDOWNS}),
    ChartSpec("outcomes.evaluability", "Evaluable courses, and why the others are not", "Outcomes",
              queries.outcome_rates, outcomes.evaluability, "Outcomes › Not evaluable, and why"),
    ChartSpec("outcomes.trajectory", "Mean score by session", "Outcomes", _trajectory,
              outcomes.trajectory, "Outcomes › Score trajectory", defaults={"instrument": "PHQ9", "measure": "score"},
              options={"instrument": INSTRUMENTS, "measure": TRAJECTORY_MEASURES}),
    ChartSpec("outcomes.early_signal", "Early signal after the second infusion", "Outcomes", queries.early_signal,
              outcomes.early_signal, "Outcomes › Early signal"),
    ChartSpec("outcomes.induction_funnel", "Induction completion funnel", "Outcomes", queries.induction_funnel,
              outcomes.induction_funnel, "Courses and phases › Induction completion"),
    ChartSpec("outcomes.completion_by_group", "Induction completion by group", "Outcomes", _completion_group,
              outcomes.completion_by_group, "Courses and phases › Induction completion",
              defaults={"breakdown": "indication"}, options={"breakdown": COMPLETION_BREAKDOWNS}),
    ChartSpec("outcomes.clinic_funnel", "Clinics compared (funnel plot)", "Outcomes", queries.clinic_comparison,
              outcomes.clinic_funnel, "Clinic comparison (funnel plots)",
              defaults={"measure": "response", "instrument": "PHQ9"},
              options={"measure": MEASURES, "instrument": INSTRUMENTS}),
    # The same funnel on remission and on induction completion, for board packs: a pack draws each chart with its
    # defaults, and comparing clinics on response alone left out the other two outcomes a board asks about.
    ChartSpec("outcomes.remission_funnel", "Clinics compared: remission", "Outcomes", queries.clinic_comparison,
              outcomes.clinic_funnel, "Clinic comparison (funnel plots)",
              defaults={"measure": "remission", "instrument": "PHQ9"}, options={"instrument": INSTRUMENTS}),
    ChartSpec("outcomes.completion_funnel", "Clinics compared: induction completion", "Outcomes",
              queries.clinic_comparison, outcomes.clinic_funnel, "Clinic comparison (funnel plots)",
              defaults={"measure": "induction_completion"}),
    ChartSpec("outcomes.item9", "PHQ-9 item-9 flags", "Outcomes", queries.item9_flags, outcomes.item9_flags,
              "Outcomes › PHQ-9 item-9 flag"),
    ChartSpec("safety.side_effects", "Side effects by effect and severity", "Safety", _side_effects_severity,
              safety.side_effects_by_severity, "Safety › Side-effect rate"),
    ChartSpec("safety.side_effects_by_dose", "Side effects by dose band", "Safety", _side_effects_dose,
              safety.side_effects_by_dose, "Safety › Dose band", defaults={"effect": "any"}),
    ChartSpec("safety.side_effects_by_session", "Side effects by session number", "Safety", _side_effects_session,
              safety.side_effects_by_session, "Safety › Side-effect rate", defaults={"effect": "any"}),
    ChartSpec("safety.interventions", "Interventions for side effects", "Safety", queries.side_effect_interventions,
              safety.interventions, "Safety › Interventions"),
    ChartSpec("safety.severe_funnel", "Clinics compared: severe side effects", "Safety", queries.clinic_comparison,
              outcomes.clinic_funnel, "Clinic comparison (funnel plots)", defaults={"measure": "severe_side_effect"}),
    ChartSpec("safety.bp_by_dose", "BP elevation by dose band", "Safety", _bp_dose, safety.bp_by,
              "Safety › BP elevation rate"),
    ChartSpec("safety.bp_funnel", "Clinics compared: BP elevation", "Safety", queries.clinic_comparison,
              outcomes.clinic_funnel, "Clinic comparison (funnel plots)", defaults={"measure": "bp_elevation"}),
    ChartSpec("safety.peak_rise", "Peak systolic rise", "Safety", _peak_rise, safety.peak_rise, "Safety › Peak rise"),
    ChartSpec("safety.vitals", "Vital signs during the session", "Safety", queries.vitals_by_minute,
              safety.vitals_course, "Safety › Vitals by minute", defaults={"vital": "systolic"}, options={"vital": VITALS}),
    # REMS monitoring is about esketamine sessions: the modality filter does not apply (the macro takes none).
    ChartSpec("safety.rems", "Esketamine REMS completeness", "Safety", queries.rems_completeness, safety.rems_checks,
              "Safety › REMS completeness", ignores=("modalities",)),
    ChartSpec("safety.rems_by_clinic", "REMS completeness by clinic", "Safety", _rems_clinic, safety.rems_by_clinic,
              "Safety › REMS completeness", ignores=("modalities",)),
    ChartSpec("boosters.interval_histogram", "Booster intervals", "Boosters", _booster_histogram,
              boosters.interval_histogram, "Boosters › Booster interval"),
    ChartSpec("boosters.km", "Time to first booster (Kaplan-Meier)", "Boosters", queries.booster_km,
              boosters.time_to_first_booster, "Boosters › Time to first booster (Kaplan-Meier)"),
    ChartSpec("boosters.per_patient_year", "Boosters per patient-year by clinic", "Boosters", _booster_pyr,
              boosters.per_patient_year, "Boosters › Boosters per patient-year"),
    ChartSpec("boosters.intervals_by_clinic", "Booster interval by clinic", "Boosters", _booster_clinic,
              boosters.intervals_by_clinic, "Boosters › Booster interval"),
    ChartSpec("capacity.by_clinic", "Chair utilization by clinic", "Capacity", queries.utilization_by_clinic,
              capacity.utilization_by_clinic, "Chair utilization › Utilization", ignores=_CHAIRS_SHARED),
    ChartSpec("capacity.by_week", "Chair utilization by week", "Capacity", queries.utilization_by_week,
              capacity.utilization_by_week, "Chair utilization › Utilization", ignores=_CHAIRS_SHARED,
              exported_columns=("clinic_id", "clinic_name", "week_start", "days_in_period", "open_days",
                                "available_chair_hours", "occupied_chair_hours", "utilization",
                                "peak_concurrent_chairs", "chairs", "closed_holidays")),
    ChartSpec("capacity.weekday_hour", "Weekday x hour utilization (one clinic)", "Capacity",
              queries.utilization_by_weekday_hour, capacity.weekday_hour, "Chair utilization › Weekday x hour",
              defaults={"clinic_id": None}, ignores=_CHAIRS_SHARED, drawn_rows=capacity.weekday_hour_rows),
    ChartSpec("capacity.peak_chairs", "Peak concurrent chairs", "Capacity", queries.utilization, capacity.peak_chairs,
              "Chair utilization › Peak concurrent chairs", ignores=_CHAIRS_SHARED),
    ChartSpec("capacity.lost", "Capacity lost to no-shows and cancellations", "Capacity", queries.utilization,
              capacity.lost_capacity, "Chair utilization › Lost capacity", ignores=_CHAIRS_SHARED),
    # Planning: the data is a plan of one clinic and scenario (dashboard.plan_queries) with the tables behind the
    # chart (the CSV), drawn with the plan's own weeks and clinic, not the filters' period (charts/planning.py).
    ChartSpec("planning.utilization_by_week", "Projected chair utilization by week", "Planning",
              plan_queries.chart_plan_with("weeks"), planning.for_catalog(planning.utilization_by_week),
              "docs/planning.md › The schedule", defaults=_PLAN),
    ChartSpec("planning.chairs", "How many chairs", "Planning", plan_queries.chart_plan_with("chairs"),
              planning.for_catalog(planning.chairs), "docs/planning.md › The fewest chairs", defaults=_PLAN),
    ChartSpec("planning.weekday_hour", "When chairs will be busy (weekday x hour)", "Planning",
              plan_queries.chart_plan_with("weekday_hours"), planning.for_catalog(planning.weekday_hour),
              "docs/planning.md › The schedule", defaults=_PLAN),
    ChartSpec("planning.overflow", "Peak-hour overflow", "Planning", plan_queries.chart_plan_with("weekday_hours"),
              planning.for_catalog(planning.overflow), "docs/planning.md › The schedule", defaults=_PLAN),
    ChartSpec("planning.waits", "Wait for a first infusion", "Planning", plan_queries.chart_plan_with("weeks"),
              planning.for_catalog(planning.waits), "docs/planning.md › The schedule", defaults=_PLAN),
    ChartSpec("planning.new_patients", "New patients per week", "Planning",
              plan_queries.chart_plan_with("history", "weeks"), planning.for_catalog(planning.new_patients),
              "docs/planning.md › Demand: new patients per week", defaults=_PLAN),
    ChartSpec("planning.sessions", "Projected sessions per week", "Planning",
              plan_queries.chart_plan_with("history", "weeks"), planning.for_catalog(planning.sessions),
              "docs/planning.md › From new courses to sessions: the observed protocol", defaults=_PLAN),
    ChartSpec("planning.scenario_comparison", "Scenarios compared", "Planning", plan_queries.chart_comparison,
              planning.comparison_chart, "docs/planning.md › Scenarios",
              defaults={"clinic_id": None, "scenarios": None, "column": "booked_utilization"},
              options={"column": planning.COMPARED}),
    ChartSpec("quality.quarantine_reasons", "Why rows are in quarantine", "Data quality", _quarantine,
              quality.quarantine_reasons, "docs/loading.md › Row rules"),
)

CATALOG = tuple(spec if spec.suppression is not None else replace(spec, suppression=RULES.get(spec.id))
                for spec in CATALOG)
# A plan is about its own weeks, clinic and scenario (its title, download names, access log), not the filters'.
CATALOG = tuple(replace(spec, own_context=planning.data_context) if spec.page == "Planning" else spec for spec in CATALOG)

_BY_ID = {spec.id: spec for spec in CATALOG}
assert len(_BY_ID) == len(CATALOG), "chart ids must be unique"


def get(chart_id: str) -> ChartSpec:
    return _BY_ID[chart_id]


def for_page(page: str) -> list[ChartSpec]:
    return [spec for spec in CATALOG if spec.page == page]


def selection_text(filters: Filters, options: FilterOptions) -> str:
    """"All 3 clinics", "Denver Interventional Psychiatry", "2 clinics · IV ketamine · PTSD"."""
    parts = []
    if filters.clinics:
        if len(filters.clinics) == 1:
            parts.append(options.clinics.get(filters.clinics[0], "1 clinic"))
        else:
            parts.append(f"{len(filters.clinics)} clinics")
    else:
        n = len(options.clinics)
        parts.append(f"all {n} clinics" if n > 1 else (next(iter(options.clinics.values())) if n == 1 else "all clinics"))
    if filters.modalities:
        parts.append(", ".join(labels.modality(m) for m in filters.modalities))
    if filters.indications:
        names = [labels.indication(i) for i in filters.indications]
        parts.append(", ".join(names) if len(names) <= 3 else f"{len(names)} indications")
    return " · ".join(parts)


def context(filters: Filters, options: FilterOptions) -> ChartContext:
    return ChartContext(period=filters.period_label(), selection=selection_text(filters, options))

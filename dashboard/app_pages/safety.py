"""Safety, in five sections: side effects and interventions, blood pressure and vitals, clinics compared (funnel
plots), the sessions to review (medical director only) and esketamine REMS monitoring."""

import streamlit as st

from dashboard import auth, labels, queries, safety_cases, ui
from dashboard import format as fmt
from dashboard.charts import catalog

s = ui.header("Safety", "Side effects, blood pressure and monitoring, per treated session.")
effects, pressure, clinics, review, rems = ui.sections(
    "safety_tab", ["Side effects", "Blood pressure and vitals", "Clinics compared", "Sessions to review",
                   "REMS monitoring"])


def sessions_to_review() -> None:
    """The severe side effects and BP elevations of the other sections, as the sessions a medical director reviews
    one by one (their own session ids, no patient key). Off until asked for: opening the list is a row-level view,
    and the access log records it."""
    if not s.scope.row_level:
        st.caption("The sessions behind the severe side-effect and BP counts are listed for the medical director only.")
        return
    viewer = auth.current_viewer()
    logged = viewer is not None and not viewer.demo
    ask = ("List the sessions with a severe side effect or a BP reading at or above 180 systolic or 110 diastolic"
           + (" (recorded in the access log)" if logged else ""))
    if not st.toggle(ask, key="safety_cases"):
        return
    kind = st.segmented_control("Sessions", list(safety_cases.KINDS), default="both", key="safety_cases_kind",
                                format_func=safety_cases.KINDS.get) or "both"
    rows = queries.safety_cases(s.scope, s.filters, kind)
    if not rows.empty and not auth.row_level_view_allowed(
            "safety sessions", kind=kind, rows=len(rows), start=str(s.filters.start), end=str(s.filters.end),
            clinics=",".join(s.filters.clinics), modalities=",".join(s.filters.modalities),
            indications=",".join(s.filters.indications)):
        rows = rows.iloc[0:0]
    # the list beside the rates it makes up, so one can be checked against the other on this page
    severe = queries.side_effect_rates(s.scope, s.filters, "severity")
    severe = severe[(severe["effect"] == "any") & (severe["group_value"] == "severe")]
    bp = queries.bp_elevation(s.scope, s.filters)
    parts = []
    if not severe.empty and severe["treated_sessions"].iloc[0]:
        r = severe.iloc[0]
        parts.append(f"a severe side effect in {fmt.count(r['sessions'])} of {fmt.count(r['treated_sessions'])} "
                     f"treated sessions ({fmt.pct(r['rate'], 1)})")
    if not bp.empty and bp["sessions_with_vitals"].iloc[0]:
        r = bp.iloc[0]
        parts.append(f"BP elevated in {fmt.count(r['elevated_sessions'])} of {fmt.count(r['sessions_with_vitals'])} "
                     f"sessions with vitals ({fmt.pct(r['rate'], 1)})")
    table = safety_cases.cases_table(rows)
    cut = len(rows) >= queries.SAFETY_CASES_LIMIT
    st.caption(
        f"{fmt.count(len(table))} sessions in {ui.md_escape(s.filters.period_label())}, newest first"
        + (f" (the newest {fmt.count(queries.SAFETY_CASES_LIMIT)}: narrow the period or clinics for the rest)"
           if cut else "")
        + (". In this selection: " + "; ".join(parts) if parts else "")
        + ". BP elevated: a reading with systolic ≥ 180 or diastolic ≥ 110; peak BP is each one's highest. "
          "Interventions are those its side effects received. Find a session in the clinic's own records by "
          "its id; no patient key is shown.")
    if table.empty:
        st.info("No such session in this selection.")
    else:
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "Date": st.column_config.DateColumn(format="D MMM YYYY"),
            "Rise": st.column_config.NumberColumn(format="%+d mmHg", help="Peak systolic minus the first reading"),
        })


if effects.open:
    with effects:
        ui.chart("safety.side_effects")
        ui.chart("safety.side_effects_by_dose")
        ui.chart("safety.side_effects_by_session")
        ui.chart("safety.interventions")

if pressure.open:
    with pressure:
        ui.chart("safety.bp_by_dose")
        ui.chart("safety.peak_rise")
        vital = st.segmented_control("Vital sign", list(catalog.VITALS), default="systolic", key="safety_vital",
                                     format_func=lambda v: labels.VITALS[v][0]) or "systolic"
        ui.chart("safety.vitals", vital=vital)

if clinics.open:  # one funnel at a time (the board pack has both)
    with clinics:
        compared = st.segmented_control(
            "Measure", ["safety.severe_funnel", "safety.bp_funnel"], default="safety.severe_funnel",
            key="safety_funnel", format_func=lambda c: {"safety.severe_funnel": "Severe side effects",
                                                        "safety.bp_funnel": "BP elevation"}[c])
        ui.chart(compared or "safety.severe_funnel")

if review.open:
    with review:
        sessions_to_review()

if rems.open:
    with rems:
        if s.filters.modalities:  # the charts' subtitles leave the modality out; say why once
            st.caption("REMS monitoring is about esketamine sessions: the modality filter does not apply to these "
                       "charts.")
        ui.chart("safety.rems")
        ui.chart("safety.rems_by_clinic")
ui.footer()

"""Safety: side effects, interventions, blood pressure, vitals during the session, REMS completeness."""

import streamlit as st

from dashboard import auth, labels, queries, safety_cases, ui
from dashboard import format as fmt
from dashboard.charts import catalog

s = ui.header("Safety", "Side effects, blood pressure and monitoring, per treated session.")

ui.chart("safety.side_effects")
ui.chart("safety.side_effects_by_dose")
ui.chart("safety.side_effects_by_session")
ui.chart("safety.interventions")

st.subheader("Blood pressure and vitals")
ui.chart("safety.bp_by_dose")
ui.chart("safety.peak_rise")
vital = st.segmented_control("Vital sign", list(catalog.VITALS), default="systolic", key="safety_vital",
                             format_func=lambda v: labels.VITALS[v][0]) or "systolic"
ui.chart("safety.vitals", vital=vital)

# One funnel at a time, as on Outcomes: each chart drawn costs the page's first paint (the board pack has both)
st.subheader("Clinics compared")
compared = st.segmented_control("Measure", ["safety.severe_funnel", "safety.bp_funnel"], default="safety.severe_funnel",
                                key="safety_funnel", format_func=lambda c: {"safety.severe_funnel": "Severe side effects",
                                                                            "safety.bp_funnel": "BP elevation"}[c])
ui.chart(compared or "safety.severe_funnel")

# The counts above, as the sessions a medical director reviews one by one (their own session ids, no patient key).
# Off until asked for: opening the list is a row-level view, and the access log records it.
st.subheader("Sessions to review")
if not s.scope.row_level:
    st.caption("The sessions behind the severe side-effect and BP counts are listed for the medical director only.")
elif st.toggle("List the sessions with a severe side effect or a reading at or above 180/110 (recorded in the "
               "access log)", key="safety_cases"):
    kind = st.segmented_control("Sessions", list(safety_cases.KINDS), default="both", key="safety_cases_kind",
                                format_func=safety_cases.KINDS.get) or "both"
    rows = queries.safety_cases(s.scope, s.filters)
    if not rows.empty and not auth.row_level_view_allowed("safety sessions", kind=kind, rows=len(rows),
                                                          start=str(s.filters.start), end=str(s.filters.end)):
        rows = rows.iloc[0:0]
    table = safety_cases.cases_table(rows, kind)
    cut = len(rows) >= queries.SAFETY_CASES_LIMIT
    st.caption(f"{fmt.count(len(table))} sessions in {ui.md_escape(s.filters.period_label())}, newest first"
               + (f" (the newest {fmt.count(queries.SAFETY_CASES_LIMIT)} of both kinds: narrow the period or "
                  "clinics for the rest)" if cut else "")
               + ". Interventions are those given for any of the session's side effects. Find a session in the "
                 "clinic's own records by its id; no patient key is shown.")
    if table.empty:
        st.info("No session with a severe side effect or a reading at or above 180/110 in this selection.")
    else:
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "Date": st.column_config.DateColumn(format="D MMM YYYY"),
            "Peak systolic": st.column_config.NumberColumn(format="%d mmHg"),
            "Rise": st.column_config.NumberColumn(format="%+d mmHg", help="Peak systolic minus the first reading"),
        })

st.subheader("Esketamine REMS monitoring")
ui.chart("safety.rems")
ui.chart("safety.rems_by_clinic")
ui.footer()

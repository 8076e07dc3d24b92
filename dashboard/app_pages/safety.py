"""Safety: side effects, interventions, blood pressure, vitals during the session, REMS completeness."""

import streamlit as st

from dashboard import labels, ui
from dashboard.charts import catalog

s = ui.header("Safety", "Side effects, blood pressure and monitoring, per treated session.")

ui.chart("safety.side_effects")
c1, c2 = st.columns(2)
with c1:
    ui.chart("safety.side_effects_by_dose")
with c2:
    ui.chart("safety.side_effects_by_session")
ui.chart("safety.interventions")

st.subheader("Blood pressure and vitals")
c1, c2 = st.columns(2)
with c1:
    ui.chart("safety.bp_by_dose")
with c2:
    ui.chart("safety.peak_rise")
vital = st.segmented_control("Vital sign", list(catalog.VITALS), default="systolic", key="safety_vital",
                             format_func=lambda v: labels.VITALS[v][0]) or "systolic"
ui.chart("safety.vitals", vital=vital)
ui.chart("safety.bp_funnel")

st.subheader("Esketamine REMS monitoring")
c1, c2 = st.columns(2)
with c1:
    ui.chart("safety.rems")
with c2:
    ui.chart("safety.rems_by_clinic")
ui.footer()

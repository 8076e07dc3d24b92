"""Safety: side effects, interventions, blood pressure, vitals during the session, REMS completeness."""

import streamlit as st

from dashboard import labels, ui
from dashboard.charts import catalog

s = ui.header("Safety", "Side effects, blood pressure and monitoring, per treated session.")

ui.chart("safety.side_effects")
ui.chart("safety.side_effects_by_dose")
ui.chart("safety.side_effects_by_session")
ui.chart("safety.interventions")
ui.chart("safety.severe_funnel")

st.subheader("Blood pressure and vitals")
ui.chart("safety.bp_by_dose")
ui.chart("safety.peak_rise")
vital = st.segmented_control("Vital sign", list(catalog.VITALS), default="systolic", key="safety_vital",
                             format_func=lambda v: labels.VITALS[v][0]) or "systolic"
ui.chart("safety.vitals", vital=vital)
ui.chart("safety.bp_funnel")

st.subheader("Esketamine REMS monitoring")
ui.chart("safety.rems")
ui.chart("safety.rems_by_clinic")
ui.footer()

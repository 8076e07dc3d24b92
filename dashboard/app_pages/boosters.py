"""Boosters: interval distribution, time to first booster, boosters per patient-year, by clinic."""

import streamlit as st

from dashboard import ui

s = ui.header("Boosters", "Maintenance after induction: how soon patients come back, and how often.")

c1, c2 = st.columns(2)
with c1:
    ui.chart("boosters.interval_histogram")
with c2:
    ui.chart("boosters.km")
st.subheader("By clinic")
ui.chart("boosters.per_patient_year")
ui.chart("boosters.intervals_by_clinic")
ui.footer()

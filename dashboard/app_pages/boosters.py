"""Boosters: interval distribution, time to first booster, boosters per patient-year, by clinic."""

import streamlit as st

from dashboard import ui

s = ui.header("Boosters", "Maintenance after induction: how soon patients come back, and how often.")

ui.chart("boosters.interval_histogram")
ui.chart("boosters.km")
st.subheader("By clinic")
ui.chart("boosters.per_patient_year")
ui.chart("boosters.intervals_by_clinic")
ui.footer()

"""Capacity: utilization by clinic and week against the 70-80% band, weekday x hour, peak chairs, lost capacity."""

import streamlit as st

from dashboard import capacity_inputs, queries, ui

s = ui.header("Capacity", "Chairs: how full they are, when, and what no-shows and cancellations cost.")
if s.filters.modalities or s.filters.indications:
    st.info("Chair utilization counts every treatment in the chairs: the modality and indication filters do not "
            "apply on this page.", icon=":material/info:")
warning = capacity_inputs.warning_text(queries.capacity_quarantine(s.scope, s.filters.clinics), start=s.filters.start,
                                       until=s.filters.end)
if warning:
    st.warning(ui.md_escape(warning), icon=":material/event_seat:")

ui.chart("capacity.by_clinic")
ui.chart("capacity.by_week")

st.subheader("Weekday × hour")
clinics = [c for c in s.options.clinics if not s.filters.clinics or c in s.filters.clinics]
if clinics:
    clinic = st.selectbox("Clinic", clinics, format_func=lambda c: s.options.clinics.get(c, c), key="cap_clinic")
    ui.chart("capacity.weekday_hour", clinic_id=clinic)
ui.chart("capacity.peak_chairs")
ui.chart("capacity.lost")
ui.footer()

"""Outcomes, in four sections: response and remission (by instrument, by group, evaluability), clinics compared
(funnel plot), over the course (trajectory, early signal, induction completion and who stops before completing)
and PHQ-9 item-9 flags."""

import streamlit as st

from dashboard import labels, ui
from dashboard.charts import catalog

s = ui.header("Outcomes", "Response and remission with honest intervals, who is evaluable, and how clinics compare.")

instrument = st.columns(2)[0].selectbox(
    "Instrument", catalog.INSTRUMENTS, format_func=labels.instrument, key="out_instrument",
    help="The scale of the breakdown by group, the clinic comparison and the score trajectory. The charts of every "
         "instrument side by side, and the item-9 flags (PHQ-9 only), do not depend on it.",
)
BREAKDOWN_NAMES = {"clinic": "Clinic", "indication": "Indication", "modality": "Modality", "maoi": "MAOI use",
                   "lamotrigine": "Lamotrigine use", "benzodiazepine": "Benzodiazepine use", "opioid": "Opioid use"}
rates, clinics, course, item9 = ui.sections(
    "out_tab", ["Response and remission", "Clinics compared", "Over the course", "PHQ-9 item 9"])

if rates.open:
    with rates:
        ui.chart("outcomes.rates_by_instrument")
        breakdown = st.columns(2)[0].selectbox(
            "Compare by", catalog.OUTCOME_BREAKDOWNS, key="out_breakdown", format_func=BREAKDOWN_NAMES.get)
        ui.chart("outcomes.rates_by_group", instrument=instrument, breakdown=breakdown)
        ui.chart("outcomes.evaluability")

if clinics.open:
    with clinics:
        measure = st.segmented_control(
            "Measure", ["response", "remission", "induction_completion"], default="response", key="out_measure",
            format_func=lambda m: {"response": "Response", "remission": "Remission",
                                   "induction_completion": "Induction completion"}[m],
        ) or "response"
        ui.chart("outcomes.clinic_funnel", measure=measure, instrument=instrument)

if course.open:
    with course:
        measure = st.segmented_control(
            "Show", catalog.TRAJECTORY_MEASURES, default="score", key="out_trajectory",
            format_func=lambda m: {"score": "Mean score", "change": "Change from own baseline"}[m],
            help="The mean score at a session number is over whichever courses were scored there, so it moves when "
                 "those courses started higher or lower; each course's change from its own baseline does not.",
        ) or "score"
        ui.chart("outcomes.trajectory", instrument=instrument, measure=measure)
        ui.chart("outcomes.early_signal")
        ui.chart("outcomes.induction_funnel")
        stops = st.columns(2)[0].selectbox(
            "Who stops before completing, by", catalog.COMPLETION_BREAKDOWNS, key="out_completion_by",
            format_func=BREAKDOWN_NAMES.get,
            help="Clinics are compared under Clinics compared, against the network's limits.")
        ui.chart("outcomes.completion_by_group", breakdown=stops)

if item9.open:
    with item9:
        ui.chart("outcomes.item9")
ui.footer()

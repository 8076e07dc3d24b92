"""Board pack: one PDF and one PowerPoint for a period, clinics and sections (issue 5)."""

import streamlit as st

from dashboard import ui

s = ui.header("Board pack", "One PDF and one PowerPoint with a chart per page, small counts suppressed.")
st.info("The board pack builder is being added.")
ui.footer()

"""Planning: chairs, hours and days for one clinic; what-if scenarios, saved and compared (issue 7)."""

import streamlit as st

from dashboard import ui

s = ui.header("Planning", "Chairs, opening hours and days for the weeks ahead: projected utilization, waits and "
                          "the fewest chairs for the target.")
st.info("The planning page is being added.")
ui.footer()

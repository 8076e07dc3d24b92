"""Entry point: `streamlit run streamlit_app.py` (or `make run`).

The sidebar filters live here, in the entry point, so they persist across pages and stay in the URL;
pages in dashboard/app_pages/ are layout only.
"""

import streamlit as st

from dashboard import settings, ui

st.set_page_config(page_title=f"{settings.network_name()} · Clinic analytics", page_icon=":material/monitoring:",
                   layout="wide")

PAGES = [
    st.Page("dashboard/app_pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("dashboard/app_pages/outcomes.py", title="Outcomes", icon=":material/trending_down:", url_path="outcomes"),
    st.Page("dashboard/app_pages/safety.py", title="Safety", icon=":material/health_and_safety:", url_path="safety"),
    st.Page("dashboard/app_pages/boosters.py", title="Boosters", icon=":material/event_repeat:", url_path="boosters"),
    st.Page("dashboard/app_pages/capacity.py", title="Capacity", icon=":material/event_seat:", url_path="capacity"),
    st.Page("dashboard/app_pages/planning.py", title="Planning", icon=":material/event_upcoming:", url_path="planning"),
    st.Page("dashboard/app_pages/data_quality.py", title="Data quality", icon=":material/fact_check:", url_path="data-quality"),
    st.Page("dashboard/app_pages/board_pack.py", title="Board pack", icon=":material/picture_as_pdf:", url_path="board-pack"),
]

page = st.navigation(PAGES)
ui.sidebar()
page.run()

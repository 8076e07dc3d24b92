"""Entry point: `streamlit run streamlit_app.py` (or `make run`)."""

import streamlit as st

st.set_page_config(page_title="Clinic analytics", layout="wide")

pages = [
    st.Page("dashboard/app_pages/data_quality.py", title="Data quality", url_path="data-quality", default=True),
]
st.navigation(pages).run()

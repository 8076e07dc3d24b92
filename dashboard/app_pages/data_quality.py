"""Data quality: what each load read, loaded, quarantined and rejected."""

import streamlit as st

from dashboard import queries

st.title("Data quality")
files = queries.load_files()
if files.empty:
    st.info("No warehouse has been loaded yet. Run `python -m pipelines load DIR` to load an extract batch.")
else:
    st.caption(f"Warehouse version {queries.current_version_path().name}")
    st.dataframe(files, hide_index=True, width="stretch")

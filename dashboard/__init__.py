"""The Streamlit app: query layer (dashboard.queries), chart builders (dashboard.charts), pages."""

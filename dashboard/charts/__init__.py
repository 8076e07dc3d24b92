"""Chart builders: pure functions DataFrame(s) -> complete Plotly figure (title, subtitle with n and
period, footnote naming the definition). No Streamlit, no queries: the same figure serves the app and
the exports (issue 5). dashboard.charts.catalog lists every chart with its query."""

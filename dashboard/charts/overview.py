"""Overview chart: new courses by month in the period."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import theme
from dashboard.charts.base import ChartContext, empty, footnote_text, frame, n_label, no_data, subtitle_text, title_text


def courses_by_month(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Courses started per month with the share that completed induction (course_counts by month)."""
    title = title_text("New courses by month", ctx)
    foot = footnote_text("A course starts with its first treated session; a new course starts after a gap of more than "
                         "180 days. Darker: courses that completed induction (6 ketamine / 8 esketamine sessions); lighter: "
                         "stopped before; hatched: still in induction (last session under 14 days before the data's "
                         "last day), left out of the completion rate.", "Courses and phases")
    data = df[df["courses"] > 0] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "courses"), ctx), footnote=foot, message=no_data("course"))
    data = data.sort_values("group_value")
    months = pd.to_datetime(data["group_value"].astype(str).str[:7] + "-01", errors="coerce")
    if "induction_ended" not in data:  # a warehouse built before courses still in induction were counted apart
        data = data.assign(still_in_induction=0, induction_ended=data["courses"])
    stopped = data["induction_ended"] - data["completed_induction"]
    text = [f"{fmt.count(c)} courses, {fmt.pct_ci(r, lo, hi, e)} completed induction"
            + (f", {fmt.count(s)} still in induction" if pd.notna(s) and s else "")
            for c, r, lo, hi, e, s in zip(data["courses"], data["induction_completion_rate"],
                                          data["induction_completion_ci_low"], data["induction_completion_ci_high"],
                                          data["induction_ended"], data["still_in_induction"], strict=True)]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=months, y=data["completed_induction"], name="Completed induction", marker_color=theme.ACCENT,
                         customdata=text, hovertemplate="%{x|%b %Y}: %{customdata}<extra></extra>"))
    fig.add_trace(go.Bar(x=months, y=stopped, name="Stopped before completing", marker_color=theme.OKABE_ITO["sky"],
                         customdata=text, hovertemplate="%{x|%b %Y}: %{customdata}<extra></extra>"))
    if data["still_in_induction"].fillna(0).sum() > 0:
        fig.add_trace(go.Bar(x=months, y=data["still_in_induction"], name="Still in induction",
                             marker=dict(color="white", line=dict(color=theme.OKABE_ITO["sky"], width=1.5),
                                         pattern=dict(shape="/", fgcolor=theme.OKABE_ITO["sky"])),
                             customdata=text, hovertemplate="%{x|%b %Y}: %{customdata}<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(dtick="M1", tickformat="%b %Y", showgrid=False)
    fig.update_yaxes(title=dict(text="Courses"), tickformat=",")
    sub = subtitle_text(n_label(int(data["courses"].sum()), "courses"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=360)

"""Overview chart: new courses by month in the period."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import theme
from dashboard.charts.base import (
    SPLIT_NOT_SHOWN, ChartContext, empty, footnote_text, frame, known, n_label, no_data, not_shown_marker,
    shown_n_label, subtitle_text, title_text,
)


def courses_by_month(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Courses started per month with the share that completed induction (course_counts by month)."""
    title = title_text("New courses by month", ctx)
    foot = footnote_text("A course starts with its first treated session; a new course starts after a gap of more than "
                         "180 days. Darker: courses that completed induction (6 ketamine / 8 esketamine sessions); lighter: "
                         "stopped before; hatched: still in induction (last session under 14 days before the data's "
                         "last day), left out of the completion rate.", "Courses and phases")
    # a month whose courses suppression hides is kept, and marked on the axis (it did not vanish)
    data = df[(df["courses"] > 0) | df["courses"].isna()] if not df.empty else df
    if data.empty or not (data["courses"] > 0).any():
        return empty(title=title, subtitle=subtitle_text(n_label(0, "courses"), ctx), footnote=foot, message=no_data("course"))
    data = data.sort_values("group_value")
    months = pd.to_datetime(data["group_value"].astype(str).str[:7] + "-01", errors="coerce")
    if "induction_ended" not in data:  # a warehouse built before courses still in induction were counted apart
        data = data.assign(still_in_induction=0, induction_ended=data["courses"])
    stopped = data["induction_ended"] - data["completed_induction"]
    # What the segments shown leave of a shown total: the split suppression hides. Drawn as its own
    # neutral segment, so each bar is as tall as its courses (a hidden "still in induction" hid the
    # "stopped" segment with it, and August's 800 courses drew as its 365 completed).
    drawn = data["completed_induction"].fillna(0) + stopped.fillna(0) + data["still_in_induction"].fillna(0)
    unsplit = (data["courses"] - drawn).where(lambda v: v > 0)
    text = [(f"{fmt.count(c)} courses, " if known(c) else "courses not shown (small counts), ")
            + (f"{fmt.pct_ci(r, lo, hi, e)} completed induction" if known(r) else
               (f"{fmt.count(k)} completed induction, completion rate not shown (small counts)" if known(k)
                else "completion not shown (small counts)"))
            + (f", {fmt.count(s)} still in induction" if known(s) and s else "")
            for c, k, r, lo, hi, e, s in zip(data["courses"], data["completed_induction"], data["induction_completion_rate"],
                                             data["induction_completion_ci_low"], data["induction_completion_ci_high"],
                                             data["induction_ended"], data["still_in_induction"], strict=True)]
    fig = go.Figure()
    # hidden segments are drawn as 0, not NaN: Plotly stacks the next segment on a NaN from the axis up
    fig.add_trace(go.Bar(x=months, y=data["completed_induction"].fillna(0), name="Completed induction", marker_color=theme.ACCENT,
                         customdata=text, hovertemplate="%{x|%b %Y}: %{customdata}<extra></extra>"))
    fig.add_trace(go.Bar(x=months, y=stopped.fillna(0), name="Stopped before completing", marker_color=theme.OKABE_ITO["sky"],
                         customdata=text, hovertemplate="%{x|%b %Y}: %{customdata}<extra></extra>"))
    if data["still_in_induction"].fillna(0).sum() > 0:
        fig.add_trace(go.Bar(x=months, y=data["still_in_induction"].fillna(0), name="Still in induction",
                             marker=dict(color="white", line=dict(color=theme.OKABE_ITO["sky"], width=1.5),
                                         pattern=dict(shape="/", fgcolor=theme.OKABE_ITO["sky"])),
                             customdata=text, hovertemplate="%{x|%b %Y}: %{customdata}<extra></extra>"))
    if unsplit.notna().any():
        fig.add_trace(go.Bar(x=months, y=unsplit, name=SPLIT_NOT_SHOWN, marker=not_shown_marker(),
                             customdata=text, hovertemplate="%{x|%b %Y}: %{customdata}<extra></extra>"))
    for month in months[data["courses"].isna().to_numpy()]:
        fig.add_annotation(x=month, y=0, yref="y", yanchor="bottom", showarrow=False, text="not shown<br>(small counts)",
                           font=dict(size=10, color=theme.MUTED), name="not_shown")
    # A clinic's first weeks of data count patients already in treatment as new courses (the sample's first
    # month: 538 against 322-451 later): those months are marked, not read as a surge
    first_weeks = (data["includes_first_weeks"].fillna(False).astype(bool) if "includes_first_weeks" in data
                   else pd.Series(False, index=data.index))
    for month, courses in zip(months[first_weeks.to_numpy()], data.loc[first_weeks, "courses"], strict=True):
        if known(courses):
            fig.add_annotation(x=month, y=courses, yref="y", yanchor="bottom", showarrow=False, text="incl. earlier<br>starts*",
                               font=dict(size=10, color=theme.MUTED), name="first_weeks")
    if first_weeks.any():
        foot = foot.replace(" Definition:", " *A clinic's first 4 weeks of data: patients already in treatment when "
                            "the data begins count as new courses there, so those months read high. Definition:", 1)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(dtick="M1", tickformat="%b %Y", showgrid=False)
    fig.update_yaxes(title=dict(text="Courses"), tickformat=",")
    sub = subtitle_text(shown_n_label(data["courses"], "courses", "months"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=360)

"""Data-quality charts: why rows were quarantined."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import theme
from dashboard.charts.base import NOT_SHOWN, ChartContext, empty, frame, known, mark_not_shown, rows_height, subtitle_text


# Quarantined rows are counted over every load and clinic: the sidebar's period, clinics, modality and
# indication do not select them (a broken row may name no clinic at all), so the subtitle never names them.
WHOLE_WAREHOUSE = "every clinic and period (the sidebar's filters do not apply)"


def quarantine_reasons(df: pd.DataFrame, ctx: ChartContext, top: int = 12) -> go.Figure:
    """Open quarantined rows per reason (the rule broken, in words), top reasons first."""
    title = "Why rows are in quarantine (open rows)"
    ctx = ChartContext(period=ctx.period, selection=WHOLE_WAREHOUSE)
    foot = ("A row breaking several rules counts under each. Orphans (a parent not loaded yet) are retried by every "
            "later load. Rules: docs/loading.md › Row rules.")
    if df.empty:
        return empty(title=title, subtitle=subtitle_text("n = 0 rows", ctx), footnote=foot,
                     message="No quarantined rows: every row of every loaded file passed its checks.")
    # a reason whose count an export hides (1-10 rows) keeps its row, last, marked: a blank row read as none
    data = df.sort_values("rows", ascending=False, na_position="last").head(top)
    names = [f"{k}: {r if len(r) <= 56 else r[:53] + '…'}" for k, r in zip(data["kind"], data["reason"], strict=True)]
    shown = [known(v) for v in data["rows"]]
    fig = go.Figure(go.Bar(x=data["rows"], y=names, orientation="h", marker_color=theme.OKABE_ITO["orange"],
                           text=[fmt.count(v) if k else "" for v, k in zip(data["rows"], shown, strict=True)],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:,} rows<extra></extra>"))
    mark_not_shown(fig, [y for y, k in zip(names, shown, strict=True) if not k])
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title=dict(text="Rows"), tickformat=",")
    hidden = int((~df["rows"].map(known)).sum())
    if not hidden:
        n = f"n = {fmt.count(df['rows'].sum())} row-reasons"
    elif hidden == len(df):
        n = f"row-reasons {NOT_SHOWN}"
    else:  # the sum of the reasons shown, said as such (the hidden ones are marked on their rows)
        n = f"n = {fmt.count(df['rows'].sum())} row-reasons in the reasons shown"
    sub = subtitle_text(n, ctx, f"top {len(data)} of {len(df)} reasons" if len(df) > len(data) else None)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 30))

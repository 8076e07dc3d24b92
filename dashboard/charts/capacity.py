"""Capacity charts: utilization by clinic and by week against the 70-80% benchmark band, the weekday x
hour heatmap of one clinic, peak concurrent chairs and capacity lost to no-shows and cancellations."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import theme
from dashboard.charts.base import (
    NOT_SHOWN, SPLIT_NOT_SHOWN, mark_not_shown, not_shown_marker, rows_height,
    ChartContext, empty, footnote_text, frame, known, n_label, no_data, percent_axis, shown_n_label, subtitle_text,
    title_text, week_axis,
)

BAND = (0.70, 0.80)
UTIL_DEF = ("Utilization: occupied chair-minutes (check-in to discharge, inside the open window) / available "
            "chair-minutes (chairs × opening hours on open days). Shaded: the 70–80% benchmark band.")
SECTION = "Chair utilization (per clinic, per period)"
NOTE_FILTERS = "Modality and indication filters do not apply: chairs are shared."


def _band(fig: go.Figure, axis: str = "y") -> None:
    if axis == "y":
        fig.add_hrect(y0=BAND[0], y1=BAND[1], fillcolor=theme.BAND, line_width=0, layer="below",
                      annotation_text="benchmark 70–80%", annotation_position="top left",
                      annotation_font=dict(size=10, color=theme.OKABE_ITO["green"]))
    else:
        # Above the plot: inside it, the first bar covers the label (bars are drawn over the band).
        fig.add_vrect(x0=BAND[0], x1=BAND[1], fillcolor=theme.BAND, line_width=0, layer="below",
                      annotation_text="benchmark 70–80%", annotation_position="outside top",
                      annotation_font=dict(size=10, color=theme.OKABE_ITO["green"]))


def _clinics(n: int) -> str:
    return f"{n} clinic" if n == 1 else f"{n} clinics"


def _colour(u: object) -> str:
    if u is None or pd.isna(u):
        return theme.MUTED
    u = float(u)
    if u < BAND[0]:
        return theme.OKABE_ITO["sky"]
    if u <= BAND[1]:
        return theme.OKABE_ITO["green"]
    return theme.OKABE_ITO["orange"]


def utilization_by_clinic(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Utilization per clinic over the period (metrics.utilization) against the benchmark band."""
    title = title_text("Chair utilization by clinic", ctx)
    foot = footnote_text(UTIL_DEF + " " + NOTE_FILTERS, SECTION)
    data = df[df["available_chair_hours"] > 0] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "available chair-hours"), ctx), footnote=foot,
                     message=no_data("open clinic day", choices="clinics"))
    data = data.sort_values("clinic_name", key=lambda s: s.str.lower())
    util = pd.to_numeric(data["utilization"], errors="coerce")
    text = [(f"{fmt.pct(u)} ({fmt.count(o)} of {fmt.count(a)} chair-hours)" if known(u) else NOT_SHOWN) + _closed_on(h)
            for u, o, a, h in zip(util, data["occupied_chair_hours"], data["available_chair_hours"],
                                  _holidays(data), strict=True)]
    closed = _closures(data)
    if not closed.empty:  # a clinic that closed on more holidays reads lower: say so beside the comparison
        foot = foot.replace(" " + NOTE_FILTERS, _period_closures_note(closed, len(data)) + " " + NOTE_FILTERS, 1)
    fig = go.Figure(go.Bar(y=data["clinic_name"], x=util, orientation="h",
                           marker_color=[_colour(u) for u in util], customdata=text,
                           hovertemplate="%{y}: %{customdata}<extra></extra>", name="Utilization",
                           text=[fmt.pct(u) if known(u) else "" for u in util], textposition="outside", cliponaxis=False))
    hidden = util.isna()
    mark_not_shown(fig, data["clinic_name"][hidden])  # its row kept, marked: an empty row read as 0%
    _band(fig, "x")
    fig.update_yaxes(autorange="reversed", showgrid=False)
    top = util.max()
    percent_axis(fig, "x", (0, max(1.0, (float(top) if pd.notna(top) else 0.0) + 0.08)), "Utilization")
    # the band counts the clinics shown; a hidden utilization is in none of them (counted as "within")
    below = int((util < BAND[0]).sum())
    above = int((util > BAND[1]).sum())
    within = int(util.between(*BAND).sum())
    counts = f"{below} below, {within} within, {above} above the band"
    if hidden.any():
        counts += f", {int(hidden.sum())} not shown"
    sub = subtitle_text(n_label(round(float(data["available_chair_hours"].sum())), "available chair-hours"), ctx,
                        f"{_clinics(len(data))}: {counts}")
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 26))


# Weekly utilization moves a few points a week around 60-90% at every clinic: five or more lines in that
# band cross each other every week and no clinic can be followed (an operations audit found 8 "tangled").
# Up to WEEK_LINES clinics are lines against the band; more are a clinic x week heatmap, one row each.
WEEK_LINES = 4


def _chair_changes(weeks: pd.DataFrame) -> pd.DataFrame:
    """One clinic's weeks (sorted) on which its chairs differ from the week before, with `chairs_before`.
    Added chairs lower utilization while occupied chair-hours rise: unmarked, the dip read as falling demand."""
    if "chairs" not in weeks:
        return weeks.iloc[0:0]
    before = weeks["chairs"].shift()
    changed = weeks[before.notna() & weeks["chairs"].notna() & (weeks["chairs"] != before)]
    return changed.assign(chairs_before=before[changed.index])


def _chairs_text(row) -> str:
    return f"{int(row.chairs_before)}→{int(row.chairs)} chairs"


def _changes_note(changes: pd.DataFrame) -> str:
    """The footnote's words for the marked weeks (a picture in a board pack has no hover)."""
    if changes.empty:
        return ""
    named = [f"{r.clinic_name} {int(r.chairs_before)}→{int(r.chairs)} (week of {fmt.date(r.week_start)})"
             for r in changes.head(3).itertuples()]
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return " ◆ Chairs changed: " + "; ".join(named) + more + "."


def _holidays(rows: pd.DataFrame) -> pd.Series:
    """Each row's `closed_holidays` (None for all when the data has no such column)."""
    return rows["closed_holidays"] if "closed_holidays" in rows else pd.Series(None, index=rows.index)


def _closed_on(holidays: object) -> str:
    """The hover's words for a row's closed holidays: "; closed on Thanksgiving", or nothing."""
    return f"; closed on {holidays}" if isinstance(holidays, str) and holidays else ""


def _who_closed(names: pd.Series, clinics: int) -> str:
    """The clinics that closed, by name, or "every clinic" when all `clinics` drawn did."""
    return "every clinic" if clinics > 1 and names.nunique() == clinics else ", ".join(sorted(names, key=str.lower))


def _closures(weeks: pd.DataFrame) -> pd.DataFrame:
    """The rows (clinic-weeks, or clinics over the period) with public holidays the clinic closed on
    (`closed_holidays`, queries.utilization_by_week and utilization_by_clinic).
    The closed day still counts as available chair time (the contract's utilization), so the week reads lower:
    unmarked, Thanksgiving week's dip read as a slow week."""
    if "closed_holidays" not in weeks:
        return weeks.iloc[0:0]
    return weeks[weeks["closed_holidays"].notna() & (weeks["closed_holidays"].astype(str) != "")]


def _closures_note(closures: pd.DataFrame, clinics: int) -> str:
    """The footnote's words for the marked weeks, one entry per holiday week with the clinics that closed
    ("every clinic" when all `clinics` drawn did)."""
    if closures.empty:
        return ""
    groups = closures.groupby(["week_start", "closed_holidays"], sort=True)["clinic_name"].apply(
        _who_closed, clinics=clinics)
    named = [f"{holiday}, week of {fmt.date(week)} ({closed})" for (week, holiday), closed in groups.iloc[:4].items()]
    more = f" and {len(groups) - 4} more" if len(groups) > 4 else ""
    return (" ○ Closed on a public holiday, a day that still counts as available chair time, so the week reads "
            "lower: " + "; ".join(named) + more + ".")


def _period_closures_note(closures: pd.DataFrame, clinics: int) -> str:
    """The by-clinic chart's words for the public holidays each clinic closed on in the period, clinics with the
    same holidays together ("every clinic" when all `clinics` drawn share them)."""
    groups = closures.groupby("closed_holidays", sort=False)["clinic_name"].apply(_who_closed, clinics=clinics)
    named = [f"{who} ({holidays})" for holidays, who in groups.items()]
    return (" Public holidays closed on in the period, days that still count as available chair time: "
            + "; ".join(named) + ".")


def _closure_markers(closures: pd.DataFrame, y: str, legend: bool) -> go.Scatter:
    """An open ring around each marked week (on the line, or on the heatmap's cell), in ink for every clinic."""
    return go.Scatter(
        x=closures["week_start"], y=closures[y], mode="markers", name="Closed on a public holiday",
        showlegend=legend, legendgroup="closures",
        marker=dict(symbol="circle-open", size=14, color=theme.INK, line=dict(width=1.5)),
        customdata=list(zip(closures["clinic_name"], closures["closed_holidays"], strict=True)),
        hovertemplate="%{customdata[0]}, week of %{x|%d %b %Y}: closed on %{customdata[1]}, a day that still counts "
                      "as available chair time<extra></extra>")


def utilization_by_week(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Utilization per clinic and week (utilization_by_week): lines against the band for up to WEEK_LINES
    clinics, a clinic x week heatmap beyond that."""
    title = title_text("Chair utilization by week", ctx)
    foot = footnote_text(UTIL_DEF + " Weeks start on Monday; the first and last week may be partial. " + NOTE_FILTERS, SECTION)
    data = df[df["available_chair_hours"] > 0] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "clinic-weeks"), ctx), footnote=foot,
                     message=no_data("open clinic week", choices="clinics"))
    clinics = sorted(data["clinic_name"].unique(), key=str.lower)
    changes = pd.concat([_chair_changes(data[data["clinic_name"] == c].sort_values("week_start")) for c in clinics])
    closures = _closures(data)
    fig = go.Figure()
    if len(clinics) <= WEEK_LINES:
        for i, clinic in enumerate(clinics):
            part = data[data["clinic_name"] == clinic].sort_values("week_start")
            text = [f"{fmt.pct(u)} ({fmt.count(o)} of {fmt.count(a)} chair-hours)" + _closed_on(h)
                    for u, o, a, h in zip(part["utilization"], part["occupied_chair_hours"],
                                          part["available_chair_hours"], _holidays(part), strict=True)]
            fig.add_trace(go.Scatter(x=part["week_start"], y=part["utilization"], mode="lines+markers", name=clinic,
                                     line=dict(color=theme.PALETTE[i % len(theme.PALETTE)]), marker=dict(size=5),
                                     customdata=text, hovertemplate=clinic + ", week of %{x|%d %b %Y}: %{customdata}<extra></extra>"))
            changed = changes[changes["clinic_name"] == clinic]
            if not changed.empty:
                fig.add_trace(go.Scatter(
                    x=changed["week_start"], y=changed["utilization"], mode="markers+text",
                    text=[_chairs_text(r) for r in changed.itertuples()],
                    textposition="top center", textfont=dict(size=10, color=theme.PALETTE[i % len(theme.PALETTE)]),
                    marker=dict(symbol="diamond", size=11, color=theme.PALETTE[i % len(theme.PALETTE)],
                                line=dict(color="white", width=1)),
                    showlegend=False, hovertemplate=clinic + ", week of %{x|%d %b %Y}: %{text}<extra></extra>"))
        if not closures.empty:
            fig.add_trace(_closure_markers(closures, "utilization", legend=True))
        _band(fig, "y")
        percent_axis(fig, "y", (max(0.0, float(data["utilization"].min()) - 0.1), min(1.05, float(data["utilization"].max()) + 0.1)), "Utilization")
        week_axis(fig, data["week_start"])
        if len(clinics) > 3:  # a legend above the plot wraps to 2-3 rows and runs over the subtitle: beside it
            fig.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
        height = 420
    else:
        pivot = data.pivot_table(index="clinic_name", columns="week_start", values="utilization", aggfunc="first")
        pivot = pivot.reindex(sorted(pivot.index, key=str.lower))
        # 0-70% blues, 70-80% green (the band), above 80% orange
        scale = [[0.0, "#EAF2F8"], [0.6999, "#6FA8D6"], [0.7, "#8FD3B6"], [0.8, "#009E73"], [0.8001, "#F5C46B"], [1.0, "#D55E00"]]
        fig.add_trace(go.Heatmap(
            z=pivot.values, x=pivot.columns, y=pivot.index, zmin=0, zmax=1, colorscale=scale, xgap=1, ygap=1,
            # the band's two ends sit 10 points apart and their labels ran together: one label for the band
            colorbar=dict(title=dict(text="Utilization"), tickvals=[0, 0.35, 0.75, 1],
                          ticktext=["0%", "35%", "70–80%", "100%"], len=0.8),
            hovertemplate="%{y}, week of %{x|%d %b %Y}: %{z:.0%}<extra></extra>"))
        # every clinic named on its own row, rows tall enough to read and for the colour bar's five ticks
        # (at 18 px a row, 8 clinics got 324 px: every other name, and the bar's labels ran together)
        fig.update_yaxes(autorange="reversed", showgrid=False, tickmode="array", tickvals=list(pivot.index),
                         ticktext=list(pivot.index))
        fig.update_xaxes(showgrid=False)
        if not changes.empty:
            fig.add_trace(go.Scatter(
                x=changes["week_start"], y=changes["clinic_name"], mode="markers", showlegend=False,
                marker=dict(symbol="diamond", size=9, color=theme.INK, line=dict(color="white", width=1)),
                text=[_chairs_text(r) for r in changes.itertuples()],
                hovertemplate="%{y}, week of %{x|%d %b %Y}: %{text}<extra></extra>"))
        if not closures.empty:
            fig.add_trace(_closure_markers(closures, "clinic_name", legend=False))
        week_axis(fig, data["week_start"])
        height = min(max(380, 170 + 30 * len(clinics)), 1600)
        foot = footnote_text(UTIL_DEF.replace("Shaded: the 70–80% benchmark band.",
                                              "Green: within the 70–80% benchmark band; orange: above it.")
                             + " Weeks start on Monday; the first and last week may be partial. " + NOTE_FILTERS, SECTION)
    if not changes.empty or not closures.empty:
        foot = foot.replace(" " + NOTE_FILTERS, _changes_note(changes) + _closures_note(closures, len(clinics)) + " " + NOTE_FILTERS, 1)
    sub = subtitle_text(n_label(len(data), "clinic-weeks"), ctx, _clinics(len(clinics)))
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=height)


def weekday_hour_rows(df: pd.DataFrame, clinic_id: str | None = None) -> pd.DataFrame:
    """The rows the weekday x hour chart draws: the chosen clinic's, or the first clinic's by name. Its data
    holds every clinic of the selection; the chart's CSV gives these rows only (a Boston chart's CSV held all
    8 clinics, so its figures did not match the picture)."""
    if df.empty or "clinic_id" not in df:
        return df
    if clinic_id is None:
        clinic_id = df.sort_values("clinic_name")["clinic_id"].iloc[0]
    return df[df["clinic_id"] == clinic_id]


def weekday_hour(df: pd.DataFrame, ctx: ChartContext, clinic_id: str | None = None) -> go.Figure:
    """Utilization by weekday and hour of day for one clinic (utilization_by_weekday_hour)."""
    data = weekday_hour_rows(df, clinic_id)
    # a clinic chosen on the page but closed or without data in the period: named by its id, not "clinic"
    name = str(data["clinic_name"].iloc[0]) if not data.empty else (clinic_id or "clinic")
    title = title_text(f"When chairs are busy: {name}", ctx)
    foot = footnote_text("Occupied / available chair-minutes in each hour of the opening window, by weekday, over the "
                         "period's open days. Blank: closed. " + NOTE_FILTERS, SECTION + " › Weekday x hour")
    data = data[data["available_minutes"] > 0] if not data.empty else data
    if data.empty:
        chosen = replace(ctx, selection=name) if clinic_id is not None else ctx
        return empty(title=title, subtitle=subtitle_text(n_label(0, "open days"), chosen), footnote=foot,
                     message=no_data("open hour", choices="clinics"))
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    pivot = data.pivot_table(index="weekday", columns="hour", values="utilization", aggfunc="first").reindex(range(1, 8))
    hours = list(range(int(data["hour"].min()), int(data["hour"].max()) + 1))
    pivot = pivot.reindex(columns=hours)
    text = [[("" if pd.isna(v) else fmt.pct(v)) for v in row] for row in pivot.values]
    fig = go.Figure(go.Heatmap(
        z=pivot.values, x=[f"{h:02d}:00" for h in hours], y=days, zmin=0, zmax=1, colorscale=theme.SEQUENTIAL,
        text=text, texttemplate="%{text}", textfont=dict(size=10), xgap=2, ygap=2,
        colorbar=dict(title=dict(text="Utilization"), tickformat=".0%", len=0.8),
        hovertemplate="%{y} %{x}: %{z:.0%}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, title=dict(text="Hour of day (clinic local time)"))
    open_days = int(data.groupby("weekday")["open_days"].max().sum())
    sub = subtitle_text(n_label(open_days, "open days"), replace(ctx, selection=name))
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=380)


def _full_text(row, days: bool = True) -> str:
    """"all chairs in use 37% of open hours" (with `days`: "; full at times on 63 of 64 open days"), or that the
    cell-size rule hid it."""
    open_days = row.get("open_days")
    if not open_days or pd.isna(open_days):
        return "no open day"
    if pd.isna(row.get("full_days")) or pd.isna(row.get("full_time_share")):
        return "full time not shown (cell-size rule)"
    text = f"all chairs in use {fmt.share(row['full_time_share'])} of open hours"
    if days:
        day = "day" if int(open_days) == 1 else "days"
        text += f"; full at times on {fmt.count(row['full_days'])} of {fmt.count(open_days)} open {day}"
    return text


def peak_chairs(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Peak concurrent chairs per clinic in the period against its chairs (metrics.utilization + capacity)."""
    title = title_text("Peak concurrent chairs", ctx)
    foot = footnote_text("The most treated sessions present at once (check-in to discharge) on any day of the period; "
                         "marker: chairs in the clinic's capacity row valid at the period's end. Beside each bar: the "
                         "share of open hours during which every chair was in use (full time), each day against that "
                         "day's chairs (a clinic that added chairs counts the days before with fewer). The open days on "
                         "which every chair was in use at some moment are in the hover and the CSV.",
                         SECTION + " › Peak concurrent chairs")
    data = df[df["treated_sessions"] > 0] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "treated sessions"), ctx), footnote=foot,
                     message=no_data("treated session", choices="clinics"))
    data = data.sort_values("clinic_name", key=lambda s: s.str.lower())
    fig = go.Figure()
    # Over a quarter nearly every clinic fills all its chairs on nearly every day: for how long says more.
    # beside the bar the share alone (a pack page is narrow: the days cut off mid-word), the days in the hover
    has_full = {"full_days", "open_days", "full_time_share"} <= set(data.columns)
    full_text = [_full_text(row, days=False) for row in data.to_dict("records")] if has_full else [""] * len(data)
    hover_text = [_full_text(row) for row in data.to_dict("records")] if has_full else [""] * len(data)
    fig.add_trace(go.Bar(y=data["clinic_name"], x=data["peak_concurrent_chairs"], orientation="h", name="Peak in use",
                         marker_color=theme.OKABE_ITO["blue"], customdata=hover_text,
                         hovertemplate="%{y}: peak %{x} chairs in use; %{customdata}<extra></extra>"))
    if "chairs" in data:
        fig.add_trace(go.Scatter(y=data["clinic_name"], x=data["chairs"], mode="markers", name="Chairs",
                                 marker=dict(symbol="line-ns-open", size=24, color=theme.INK, line=dict(width=3, color=theme.INK)),
                                 hovertemplate="%{y}: %{x} chairs<extra></extra>"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    ends = data[["peak_concurrent_chairs", "chairs"]].max(axis=1) if "chairs" in data else data["peak_concurrent_chairs"]
    top = float(ends.max())
    if any(full_text):  # right of the bar and its chairs marker, so the words cross neither
        fig.add_trace(go.Scatter(y=data["clinic_name"], x=ends + top * 0.04 + 0.15, mode="text", text=full_text,
                                 textposition="middle right", textfont=dict(size=11, color=theme.MUTED),
                                 showlegend=False, hoverinfo="skip", cliponaxis=False))
    # room right of the longest bar for "all chairs in use 37% of open hours"; ticks only up to the chairs
    ticks = dict(tickmode="array", tickvals=list(range(int(top) + 1))) if top <= 20 else {}
    fig.update_xaxes(title=dict(text="Chairs"), range=[0, top * (2.0 if any(full_text) else 1) + 0.8], **ticks)
    sub = subtitle_text(shown_n_label(df["treated_sessions"], "treated sessions", "clinics"), ctx,
                        _full_time_range(data))
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 26))


def _full_time_range(data: pd.DataFrame) -> str:
    """"every chair in use 15–42% of open hours" over the clinics drawn; without full time, how many peaked."""
    shares = data["full_time_share"].dropna() if "full_time_share" in data else pd.Series(dtype=float)
    if shares.empty:
        full = int((data["peak_concurrent_chairs"] >= data.get("chairs", data["peak_concurrent_chairs"] + 1)).sum())
        return f"{full} of {_clinics(len(data))} used every chair at once"
    low, high = fmt.share(shares.min()), fmt.share(shares.max())
    span = high if low == high else low.rstrip("%") + "–" + high
    return f"every chair in use {span} of open hours"


def lost_capacity(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Chair-hours lost to no-shows and to cancellations per clinic (stacked), as a share of available
    chair-hours. Apart because they call for different work: a no-show held the chair to the end (reminders,
    overbooking), a cancellation freed it in time to rebook, or not (the contract counts both as lost)."""
    title = title_text("Capacity lost to no-shows and cancellations", ctx)
    foot = footnote_text("Lost: for each no-show or cancelled session, the clinic's median chair time from its scheduled "
                         "start, inside the open window; share of available chair-hours. A cancelled chair may have been "
                         "rebooked: the extract does not say. " + NOTE_FILTERS, SECTION + " › Lost capacity")
    data = df[df["available_chair_hours"] > 0] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "available chair-hours"), ctx), footnote=foot,
                     message=no_data("open clinic day", choices="clinics"))
    data = data.sort_values("clinic_name", key=lambda s: s.str.lower())
    no_show, cancelled, lost = (pd.to_numeric(data[c], errors="coerce")
                                for c in ("no_show_share", "cancelled_share", "lost_share"))
    # a row of which nothing is shown draws no segment at all (not two 0% bars): it is marked, below
    drawn = no_show.notna() | cancelled.notna() | lost.notna()
    fig = go.Figure()
    for share, hours, count, name, colour in (
            ("no_show_share", "no_show_chair_hours", "no_show_sessions", "No-shows", theme.OKABE_ITO["vermillion"]),
            ("cancelled_share", "cancelled_chair_hours", "cancelled_sessions", "Cancellations", theme.OKABE_ITO["orange"])):
        text = [f"{name}: {fmt.pct(s, 1)}, {fmt.count(h)} chair-hours ({fmt.count(n)} sessions)" if known(s) and known(n)
                else f"{name}: {NOT_SHOWN}" for s, h, n in zip(data[share], data[hours], data[count], strict=True)]
        # hidden as 0, not NaN: Plotly starts the next segment on a NaN from the axis
        fig.add_trace(go.Bar(y=data["clinic_name"], x=data[share].fillna(0).where(drawn), orientation="h", name=name,
                             marker_color=colour, customdata=text, hovertemplate="%{y}: %{customdata}<extra></extra>"))
    unsplit = (lost - no_show.fillna(0) - cancelled.fillna(0)).where(lambda v: v > 1e-12)
    if unsplit.notna().any():  # an export hides a small count of one kind: the bar still reads as the total
        fig.add_trace(go.Bar(y=data["clinic_name"], x=unsplit.fillna(0).where(drawn), orientation="h", name=SPLIT_NOT_SHOWN,
                             marker=not_shown_marker(), hovertemplate="%{y}: split not shown (small counts)<extra></extra>"))
    # the total at the end of each bar; where the total is hidden, what is not shown (a no-show segment
    # alone, unmarked, read as a clinic without cancellations)
    ends = lost.where(lost.notna(), no_show.fillna(0) + cancelled.fillna(0))
    fig.add_trace(go.Scatter(y=data["clinic_name"], x=ends, mode="text", showlegend=False,
                             text=["  " + (fmt.pct(t, 1) if known(t) else _lost_not_shown(n, c))
                                   for t, n, c in zip(lost, no_show, cancelled, strict=True)],
                             textposition="middle right", hoverinfo="skip", cliponaxis=False,
                             textfont=dict(color=[theme.INK if known(t) else theme.MUTED for t in lost])))
    fig.update_layout(barmode="stack", legend=dict(traceorder="normal"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    top = ends.max()
    top = float(top) if pd.notna(top) else 0.0
    # room right of the longest bar for its words: "cancellations and total not shown (small counts)"
    room = 2.6 if lost.isna().any() else 1.25
    percent_axis(fig, "x", (0, top * room + 0.005), "Share of available chair-hours")
    fig.update_xaxes(tickformat=".1%")
    hours = pd.to_numeric(data["lost_chair_hours"], errors="coerce")
    n_text = (shown_n_label(hours, "chair-hours lost", "clinics") if hours.notna().any()
              else f"chair-hours lost {NOT_SHOWN}")
    sessions = (data["no_show_sessions"], data["cancelled_sessions"])
    counts = (f"no-shows and cancellations {NOT_SHOWN}" if all(pd.to_numeric(v, errors="coerce").isna().all() for v in sessions)
              else ", ".join((_shown_sum(sessions[0], "no-shows"), _shown_sum(sessions[1], "cancellations"))))
    sub = subtitle_text(n_text, ctx, counts)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 26))


def _lost_not_shown(no_show: object, cancelled: object) -> str:
    """The words at the end of a row whose total is hidden: what of it is not shown."""
    missing = [kind for kind, v in (("no-shows", no_show), ("cancellations", cancelled)) if not known(v)]
    if len(missing) == 2:
        return NOT_SHOWN
    return f"{missing[0] + ' and ' if missing else ''}total {NOT_SHOWN}"


def _shown_sum(values: pd.Series, noun: str) -> str:
    """"82 no-shows"; "37 cancellations in the clinics shown" when some clinics' counts are hidden;
    "cancellations not shown (small counts)" when all are (a hidden count summed as 0 read as none)."""
    counts = pd.to_numeric(values, errors="coerce")
    if counts.isna().all():
        return f"{noun} {NOT_SHOWN}"
    text = f"{fmt.count(counts.sum())} {noun}"
    return f"{text} in the clinics shown" if counts.isna().any() else text

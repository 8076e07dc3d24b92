"""Capacity-planning charts: pure builders from a plan (pipelines.plan.engine.Projection) to a complete
Plotly figure (title, subtitle, footnote naming the model section of docs/planning.md). No Streamlit and
no queries: the page computes the plan with pipelines.plan and hands it here, and exports reuse the
same figures.

    p = plan_clinic("OKC", Scenario(chairs=9))
    utilization_by_week(p), weekday_hour(p), overflow(p), waits(p), chairs(p), new_patients(p), sessions(p)
    scenario_comparison([p1, p2, p3], column="booked_utilization")
"""

from __future__ import annotations

import datetime as dt
import html
import inspect

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import theme
from dashboard.charts.base import ChartContext, empty, frame, percent_axis, subtitle_text, title_text, week_axis
from pipelines.plan.report import amount, peak_overflow_text, peak_text, target_verdict

PLANNING_DOCS = "docs/planning.md"
BAND = (0.70, 0.80)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
FORECAST = theme.OKABE_ITO["blue"]
OBSERVED = theme.INK
HIGH = theme.OKABE_ITO["orange"]
INTERVAL_FILL = "rgba(0, 114, 178, 0.15)"


def _foot(text: str, section: str) -> str:
    return f"{text} Model: {PLANNING_DOCS} › {section}."


def plain(text: object) -> str:
    """Text from a link, a file or the data, made inert for Plotly (which draws <b>, <a href> ... in titles,
    legends and hover labels): scenario and clinic names are shown as written, never as markup."""
    return html.escape(str(text), quote=False).replace("%{", "%&#123;")


def context(p, clinic_name: str | None = None) -> ChartContext:
    """Period = the plan's weeks; selection = clinic and scenario (what every planning chart is about)."""
    end = p.start + dt.timedelta(weeks=p.horizon_weeks, days=-1)
    clinic = plain(clinic_name or f"clinic {p.clinic_id}")
    return ChartContext(period=fmt.period(p.start, end), selection=f"{clinic} · scenario {plain(p.scenario.name)}")


def _capacity_text(p) -> str:
    r = p.resolved
    return f"{r.chairs} chairs, {r.opens_at}–{r.closes_at}, {','.join(r.open_days)}"


def _weeks(p) -> pd.DataFrame:
    return pd.DataFrame(p.weeks)


def _history(p, history: pd.DataFrame | None) -> pd.DataFrame:
    return pd.DataFrame(p.history) if history is None else history


def _target_line(fig: go.Figure, target: float, in_legend: bool = False) -> None:
    """The target as a dashed line, named at its right end or, on a chart of weekly lines (which run
    along the target and would cross that name), in the legend."""
    line = dict(color=theme.OKABE_ITO["vermillion"], width=1.5, dash="dash")
    if in_legend:
        fig.add_hline(y=target, line=line)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=f"Target {fmt.pct(target)}",
                                 hoverinfo="skip"))
        return
    fig.add_hline(y=target, line=line, annotation_text=f"target {fmt.pct(target)}", annotation_position="top right",
                  annotation_font=dict(size=10, color=theme.OKABE_ITO["vermillion"]))


def new_patients(p, ctx: ChartContext | None = None, history: pd.DataFrame | None = None) -> go.Figure:
    """New courses per week: the last observed weeks and the forecast with its interval. `history`: the
    observed weeks to draw instead of the plan's own (an export's, with small counts hidden)."""
    ctx = ctx or context(p)
    title = title_text("New patients per week", ctx)
    foot = _foot(f"New courses (session 1) per week, Monday to Sunday. Forecast: {p.forecast_method}; shaded: "
                 f"{fmt.pct(p.interval)} interval for one week.", "Demand")
    weeks, history = _weeks(p), _history(p, history)
    if weeks.empty:
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message="No weeks to plan.")
    fig = go.Figure()
    if not history.empty:
        fig.add_trace(go.Scatter(x=history["week_start"], y=history["new_courses"], mode="lines+markers",
                                 name="Observed", line=dict(color=OBSERVED), marker=dict(size=4),
                                 hovertemplate="Week of %{x|%d %b %Y}: %{y:.0f} new courses<extra></extra>"))
    _band_trace(fig, weeks["week_start"], weeks["new_courses_low"], weeks["new_courses_high"], "Interval")
    fig.add_trace(go.Scatter(x=weeks["week_start"], y=weeks["new_courses"], mode="lines", name="Forecast",
                             line=dict(color=FORECAST, dash="dot" if p.scenario.new_patients_per_week else "solid"),
                             hovertemplate="Week of %{x|%d %b %Y}: %{y:.1f} expected<extra></extra>"))
    fig.update_yaxes(title=dict(text="New courses"), rangemode="tozero")
    week_axis(fig, list(history.get("week_start", [])) + list(weeks["week_start"]))
    sub = subtitle_text(f"{fmt.number(p.summary['new_patients_per_week'])} a week expected", ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot)


def sessions(p, ctx: ChartContext | None = None, history: pd.DataFrame | None = None) -> go.Figure:
    """Treated sessions per week: observed, and projected by modality family with the interval. `history`:
    as for new_patients."""
    ctx = ctx or context(p)
    title = title_text("Projected sessions per week", ctx)
    foot = _foot("Treated sessions the plan expects each week (before any capacity limit): courses under way "
                 "plus new courses through the observed induction funnel and booster rates. Shaded: "
                 f"{fmt.pct(p.interval)} interval.", "From new courses to sessions")
    weeks, history = _weeks(p), _history(p, history)
    if weeks.empty:
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message="No weeks to plan.")
    fig = go.Figure()
    # The plan observes sessions over fewer weeks than new courses; from its first observed week on, a
    # week without a figure is one an export hides, left as a gap in the line (not joined across).
    own = pd.DataFrame(p.history)
    first = own.loc[own["sessions"].notna(), "week_start"] if "sessions" in own else pd.Series(dtype=object)
    h = history[history["week_start"] >= first.min()] if not (history.empty or first.empty) else history.iloc[0:0]
    if not h.empty:
        fig.add_trace(go.Scatter(x=h["week_start"], y=h["sessions"], mode="lines+markers", name="Observed",
                                 line=dict(color=OBSERVED), marker=dict(size=4),
                                 hovertemplate="Week of %{x|%d %b %Y}: %{y:.0f} sessions<extra></extra>"))
    _band_trace(fig, weeks["week_start"], weeks["sessions_low"], weeks["sessions_high"], "Interval")
    fig.add_trace(go.Scatter(x=weeks["week_start"], y=weeks["sessions"], mode="lines", name="All sessions",
                             line=dict(color=FORECAST, width=2.5),
                             hovertemplate="Week of %{x|%d %b %Y}: %{y:.0f} sessions<extra></extra>"))
    for column, name, colour in (("sessions_ketamine", "Ketamine", theme.OKABE_ITO["sky"]),
                                 ("sessions_esketamine", "Esketamine", theme.OKABE_ITO["purple"])):
        fig.add_trace(go.Scatter(x=weeks["week_start"], y=weeks[column], mode="lines", name=name,
                                 line=dict(color=colour, dash="dot"),
                                 hovertemplate=name + ", week of %{x|%d %b %Y}: %{y:.0f}<extra></extra>"))
    fig.update_yaxes(title=dict(text="Treated sessions"), rangemode="tozero")
    week_axis(fig, list(h.get("week_start", [])) + list(weeks["week_start"]))
    sub = subtitle_text(f"{fmt.number(p.summary['sessions_per_week'], 0)} a week expected", ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot)


def utilization_by_week(p, ctx: ChartContext | None = None) -> go.Figure:
    """Projected utilization per week: treated and booked chair time, and booked time if demand runs at
    the top of its interval; the target and the 70-80% benchmark band."""
    ctx = ctx or context(p)
    title = title_text("Projected chair utilization by week", ctx)
    foot = _foot("Utilization: treated chair time / available chair-hours (chairs x opening hours on open days), as "
                 "in docs/metrics.md. Booked: with the chair time no-shows hold. Booked, high demand: the same "
                 "with new patients at the top of the forecast interval. The target applies to booked utilization, "
                 "except in weeks around a closed public holiday (shaded).", "Schedule")
    weeks = _weeks(p)
    data = weeks[weeks["available_chair_hours"] > 0] if not weeks.empty else weeks
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(_capacity_text(p), ctx), footnote=foot,
                     message="The scenario has no open hours.")
    fig = go.Figure()
    fig.add_hrect(y0=BAND[0], y1=BAND[1], fillcolor=theme.BAND, line_width=0, layer="below")
    traces = (("utilization", "Utilization", FORECAST, "solid"),
              ("booked_utilization", "Booked", theme.OKABE_ITO["green"], "solid"),
              ("booked_utilization_upper", "Booked, high demand", HIGH, "dot"))
    for column, name, colour, dash in traces:
        fig.add_trace(go.Scatter(x=data["week_start"], y=data[column], mode="lines+markers", name=name,
                                 line=dict(color=colour, dash=dash), marker=dict(size=5),
                                 hovertemplate=name + ", week of %{x|%d %b %Y}: %{y:.0%}<extra></extra>"))
    _target_line(fig, p.summary["target_utilization"], in_legend=True)
    top = max(1.0, float(data[["utilization", "booked_utilization", "booked_utilization_upper"]].max().max()) + 0.05)
    # weeks around a closed public holiday are not held to the target (engine._Report.held): shaded and named
    for first, last, names in _runs_around_holidays(data):  # each point stands on its week's Monday
        fig.add_vrect(x0=first - pd.Timedelta(days=3.5), x1=last + pd.Timedelta(days=3.5),
                      fillcolor="rgba(91, 102, 117, 0.10)", line_width=0, layer="below")  # MUTED, light
        # named at the foot of the span: the lines run near the top (the high-demand line at 100%)
        fig.add_annotation(x=first + (last - first) / 2, y=0.02, yref="y", text=", ".join(names), showarrow=False,
                           font=dict(size=10, color=theme.MUTED), yanchor="bottom")
    percent_axis(fig, "y", (0, top), "Utilization")
    week_axis(fig, data["week_start"])
    s = p.summary
    sub = subtitle_text(_capacity_text(p), ctx,
                        f"peak week booked {peak_text(s)}; target {target_verdict(s)}")
    return frame(fig, title=title, subtitle=sub, footnote=foot)


def _runs_around_holidays(weeks: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp, list[str]]]:
    """Consecutive weeks not held to the target (around a closed holiday) as (first Monday, last Monday, the
    holidays): one shaded span and one label each (Christmas and New Year's Day share theirs)."""
    if "held_to_target" not in weeks or weeks.empty:
        return []
    runs: list[tuple[pd.Timestamp, pd.Timestamp, list[str]]] = []
    for row in weeks.sort_values("week_start").itertuples():
        if bool(row.held_to_target):
            continue
        week = pd.Timestamp(row.week_start)
        if runs and week - runs[-1][1] == pd.Timedelta(days=7):
            first, _, names = runs[-1]
            runs[-1] = (first, week, names + [n for n in row.around_holidays if n not in names])
        else:
            runs.append((week, week, list(row.around_holidays)))
    return runs


def _heatmap_frame(p, value: str) -> pd.DataFrame:
    rows = pd.DataFrame(p.weekday_hours)
    if rows.empty:
        return rows
    return rows.pivot_table(index="weekday", columns="hour", values=value, aggfunc="first").reindex(range(1, 8))


def weekday_hour(p, ctx: ChartContext | None = None) -> go.Figure:
    """Projected utilization by weekday and hour over the plan's weeks."""
    ctx = ctx or context(p)
    title = title_text("When chairs will be busy", ctx)
    foot = _foot("Treated chair time / available chair time in each hour of the opening window, by weekday, over the "
                 "plan's weeks. Chair time is laid over the hours by the clinic's observed time-of-day profile; "
                 "what finds no free chair in its hour moves to the nearest hours with room. Blank: closed.",
                 "Schedule")
    pivot = _heatmap_frame(p, "utilization")
    if pivot.empty or pivot.isna().all().all():
        return empty(title=title, subtitle=subtitle_text(_capacity_text(p), ctx), footnote=foot,
                     message="The scenario has no open hours.")
    hours = [h for h in pivot.columns if pivot[h].notna().any()]
    pivot = pivot[hours]
    text = [[("" if pd.isna(v) else fmt.pct(v)) for v in row] for row in pivot.values]
    fig = go.Figure(go.Heatmap(
        z=pivot.values, x=[f"{h:02d}:00" for h in hours], y=WEEKDAYS, zmin=0, zmax=1, colorscale=theme.SEQUENTIAL,
        text=text, texttemplate="%{text}", textfont=dict(size=10), xgap=2, ygap=2,
        colorbar=dict(title=dict(text="Utilization"), tickformat=".0%", len=0.8),
        hovertemplate="%{y} %{x}: %{z:.0%}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, title=dict(text="Hour of day (clinic local time)"))
    return frame(fig, title=title, subtitle=subtitle_text(_capacity_text(p), ctx), footnote=foot, height=380)


def overflow(p, ctx: ChartContext | None = None) -> go.Figure:
    """Peak-hour overflow: chair-hours that wanted an hour whose chairs were all taken (or that is closed)."""
    ctx = ctx or context(p)
    title = title_text("Peak-hour overflow", ctx)
    foot = _foot("Chair-hours served over the plan's weeks that wanted an hour (by the clinic's observed time-of-day "
                 "profile) when every chair was taken, or an hour the clinic is closed, and moved to another hour of "
                 "the same day. Chair time that waits for a later day is not overflow: it is the wait for a first "
                 "infusion and the backlog. Counted on open days.", "Schedule")
    pivot = _heatmap_frame(p, "overflow_chair_hours")
    total = float(p.summary["overflow_chair_hours"])
    if pivot.empty or total <= 0:
        return empty(title=title, subtitle=subtitle_text("no overflow", ctx), footnote=foot,
                     message="Every hour has a free chair for the chair time that wants it.")
    hours = [h for h in pivot.columns if pivot[h].fillna(0).sum() > 0 or pivot[h].notna().any()]
    pivot = pivot[hours].fillna(0)
    # the plan's rule for small chair-hour amounts (a tenth under 10): a plan with 0.4 chair-hours of overflow
    # drew an empty grid under "0 chair-hours · most on Wed 17:00" beside a card saying 0.4
    text = [[("" if v < 0.05 else amount(v)) for v in row] for row in pivot.values]
    scale = [[0.0, "#FFFFFF"], [0.25, "#F5C46B"], [1.0, theme.OKABE_ITO["vermillion"]]]
    fig = go.Figure(go.Heatmap(
        z=pivot.values, x=[f"{h:02d}:00" for h in hours], y=WEEKDAYS, zmin=0, colorscale=scale,
        text=text, texttemplate="%{text}", textfont=dict(size=10), xgap=2, ygap=2,
        colorbar=dict(title=dict(text="Chair-hours"), len=0.8),
        customdata=[[amount(v) for v in row] for row in pivot.values],
        hovertemplate="%{y} %{x}: %{customdata} chair-hours<extra></extra>"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, title=dict(text="Hour of day (clinic local time)"))
    peak = p.summary["peak_overflow"]
    extra = peak_overflow_text(peak) if peak else None
    sub = subtitle_text(f"{amount(total)} chair-hours", ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=380)


def waits(p, ctx: ChartContext | None = None) -> go.Figure:
    """Days a new patient waits for a first infusion, by the week they ask."""
    ctx = ctx or context(p)
    title = title_text("Wait for a first infusion", ctx)
    foot = _foot("Days from the day a new patient asks (spread like the clinic's observed first-infusion weekdays) "
                 "to the first infusion. New patients are seated after induction sessions and boosters, first "
                 "come first served; bars: mean over the week's days, markers: the longest.", "Schedule")
    weeks = _weeks(p)
    if weeks.empty:
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message="No weeks to plan.")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=weeks["week_start"], y=weeks["mean_wait_days"], name="Mean", marker_color=FORECAST,
                         hovertemplate="Week of %{x|%d %b %Y}: %{y:.1f} days on average<extra></extra>"))
    fig.add_trace(go.Scatter(x=weeks["week_start"], y=weeks["max_wait_days"], mode="markers", name="Longest",
                             marker=dict(color=HIGH, size=8, symbol="diamond"),
                             hovertemplate="Week of %{x|%d %b %Y}: up to %{y:.0f} days<extra></extra>"))
    fig.update_yaxes(title=dict(text="Days"), rangemode="tozero")
    week_axis(fig, weeks["week_start"])
    s = p.summary
    extra = "some still waiting at the end of the simulation (a lower bound)" if s["waits_censored"] else None
    sub = subtitle_text(f"mean {fmt.number(s['mean_wait_days'])} days, 90th percentile "
                        f"{fmt.number(s['p90_wait_days'])}", ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot)


def chairs(p, ctx: ChartContext | None = None) -> go.Figure:
    """Peak-week booked utilization with one chair more or less, against the target; the fewest chairs
    that meet it (with the induction rules kept) marked."""
    ctx = ctx or context(p)
    title = title_text("How many chairs", ctx)
    foot = _foot("Peak-week booked utilization (treated and no-show chair time / available) with each chair count, "
                 "same hours, days and demand; it stops at 100%, so a full bar also gives the mean wait for a first "
                 "infusion (wait N d; ≥ where some patients are still waiting when the simulation ends). "
                 "Recommended: the fewest chairs with every week at or below the target and no induction session "
                 "waiting past its day.", "The fewest chairs")
    curve = pd.DataFrame(p.chairs_curve)
    if curve.empty:
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message="No chair counts to show.")
    colours = [theme.OKABE_ITO["green"] if ok else theme.MUTED for ok in curve["meets_target"]]
    waits = curve["mean_wait_days"]
    # a chair count whose queue is still waiting when the simulation ends has a wait counted only up to that
    # end: "at least" (a mean of 60 days could be 90)
    censored = curve["waits_censored"] if "waits_censored" in curve else pd.Series(False, index=curve.index)
    # 2 to 7 chairs can all read 100% while the wait runs from 74 days to none: a wait of a day or more is shown
    text = [fmt.pct(u) + (f"<br>wait {'≥ ' if c else ''}{float(w):.0f} d" if pd.notna(w) and float(w) >= 1 else "")
            for u, w, c in zip(curve["peak_week_booked_utilization"], waits, censored, strict=True)]
    fig = go.Figure(go.Bar(
        x=curve["chairs"], y=curve["peak_week_booked_utilization"], marker_color=colours, name="Peak week booked",
        customdata=[("meets the target" if ok else "misses the target")
                    + ("" if rules else "; induction sessions would wait")
                    + f"; mean wait for a first infusion {'at least ' if c else ''}{fmt.days(w)}"
                    + (" (some still waiting when the simulation ends)" if c else "") for ok, rules, w, c in
                    zip(curve["meets_target"], curve["induction_rules_met"], waits, censored, strict=True)],
        text=text, textposition="outside", cliponaxis=False,
        hovertemplate="%{x} chairs: %{y:.0%} (%{customdata})<extra></extra>"))
    _target_line(fig, p.summary["target_utilization"])
    fig.update_xaxes(title=dict(text="Chairs"), dtick=1)
    percent_axis(fig, "y", (0, max(1.05, float(curve["peak_week_booked_utilization"].max()) + 0.1)),
                 "Peak-week booked utilization")
    rec = p.summary["recommended_chairs"]
    extra = f"recommended {rec} chairs" if rec is not None else "no chair count up to 60 meets the target"
    sub = subtitle_text(f"now {p.resolved.chairs} chairs", ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot)


def scenario_comparison(projections: list, ctx: ChartContext | None = None, column: str = "booked_utilization"
                        ) -> go.Figure:
    """One weekly figure of several scenarios side by side (default: booked utilization)."""
    labels = {
        "booked_utilization": ("Booked utilization", True), "utilization": ("Utilization", True),
        "sessions": ("Sessions", False), "mean_wait_days": ("Mean wait (days)", False),
        "overflow_chair_hours": ("Peak-hour overflow (chair-hours)", False),
        "new_courses": ("New patients", False),
    }
    label, is_rate = labels.get(column, (column.replace("_", " ").capitalize(), False))
    ctx = ctx or comparison_context(projections)
    title = title_text(f"Scenarios compared: {label.lower()}", ctx)
    foot = _foot("Each line is one saved or edited scenario of the same clinic; every figure comes from the same "
                 "forecast and observed protocol.", "Scenarios")
    if not projections:
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message="No scenario to compare.")
    from pipelines.plan.compare import weekly_comparison

    data = weekly_comparison(projections, column)
    fig = go.Figure()
    for i, (scenario, part) in enumerate(data.groupby("scenario", sort=False)):
        name = plain(scenario)
        fig.add_trace(go.Scatter(
            x=part["week_start"], y=part["value"], mode="lines+markers", name=name,
            line=dict(color=theme.PALETTE[i % len(theme.PALETTE)]), marker=dict(size=5),
            hovertemplate=name + ", week of %{x|%d %b %Y}: " + ("%{y:.0%}" if is_rate else "%{y:.1f}") + "<extra></extra>"))
    if is_rate:
        percent_axis(fig, "y", (0, max(1.0, float(data["value"].max() or 0) + 0.05)), label)
        if column == "booked_utilization":
            _target_line(fig, projections[0].summary["target_utilization"], in_legend=True)
    else:
        fig.update_yaxes(title=dict(text=label), rangemode="tozero")
    week_axis(fig, data["week_start"])
    sub = subtitle_text(f"{len(projections)} scenarios", ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot)


def _band_trace(fig: go.Figure, x, low, high, name: str) -> None:
    fig.add_trace(go.Scatter(x=list(x) + list(x)[::-1], y=list(high) + list(low)[::-1], fill="toself",
                             fillcolor=INTERVAL_FILL, line=dict(width=0), name=name, hoverinfo="skip"))


def comparison_context(projections: list, clinic_name: str | None = None) -> ChartContext:
    """Period = the weeks of the longest plan compared; selection = the clinic."""
    if not projections:
        return ChartContext(period="no plan", selection=plain(clinic_name or "no clinic"))
    longest = max(projections, key=lambda p: p.horizon_weeks)
    return ChartContext(period=context(longest).period, selection=plain(clinic_name or f"clinic {longest.clinic_id}"))


# ------------------------------------------------------------------------- for the chart catalog
#
# The catalog hands every builder the page's filter context (the sidebar's period and clinics). A plan is
# about its own weeks, clinic and scenario, so the catalog's planning builders take the plan data of
# dashboard.plan_queries ({"plan": Projection, "clinic_name": ...} or {"plans": [...], ...}) and draw it
# with the plan's own context: the page, an export or a board pack get the same figure.


def data_context(data: dict) -> ChartContext:
    """The context a catalog planning chart is drawn with, from its data: the plan's weeks, clinic and
    scenario, or the compared plans' weeks and clinic (for its download names and the access log too)."""
    if "plans" in data:
        return comparison_context(list(data.get("plans") or []), data.get("clinic_name"))
    return context(data["plan"], data.get("clinic_name"))


def for_catalog(builder):
    """A catalog builder (data, ctx) -> figure drawing `builder` with the plan's context. A builder that
    draws observed weeks draws them from the data's `history` frame: an export's data has its small
    counts hidden there (suppression_rules.PLAN_HISTORY), while the plan object keeps them all."""
    takes_history = "history" in inspect.signature(builder).parameters

    def build(data: dict, ctx: ChartContext | None = None) -> go.Figure:
        p = data["plan"]
        extra = {"history": data["history"]} if takes_history and "history" in data else {}
        return builder(p, context(p, data.get("clinic_name")), **extra)

    build.__name__ = builder.__name__
    build.__qualname__ = f"for_catalog({builder.__name__})"
    build.__doc__ = builder.__doc__
    return build


COMPARED = ("booked_utilization", "utilization", "sessions", "mean_wait_days", "overflow_chair_hours", "new_courses")


def comparison_chart(data: dict, ctx: ChartContext | None = None, column: str = "booked_utilization") -> go.Figure:
    """The catalog's scenario comparison: one weekly figure (`column`) of 2-4 plans of one clinic."""
    plans = list(data.get("plans") or [])
    return scenario_comparison(plans, comparison_context(plans, data.get("clinic_name")), column=column)


def scenario_text(s, capacity: dict | None = None) -> str:
    """What a scenario changes, in words ("9 chairs (now 8); open 07:00–20:00; no-shows 8%"); "no change"."""
    parts = []
    now = capacity or {}
    if s.chairs is not None:
        parts.append(f"{s.chairs} chairs" + (f" (now {now['chairs']})" if now.get("chairs") is not None else ""))
    if s.opens_at is not None:
        parts.append(f"open {s.opens_at}–{s.closes_at}")
    if s.open_days is not None:
        parts.append("days " + ", ".join(s.open_days))
    if s.closed_on is not None:
        parts.append("closed on " + ", ".join(s.closed_on) if s.closed_on else "open on every public holiday")
    if s.new_patients_per_week is not None:
        parts.append(f"{fmt.number(s.new_patients_per_week)} new patients a week")
    if s.demand_multiplier != 1.0:
        parts.append(f"demand × {s.demand_multiplier:g}")
    if s.no_show_rate is not None:
        parts.append(f"no-shows {fmt.pct(s.no_show_rate, 1)}")
    if s.chair_minutes is not None:
        cm = s.chair_minutes
        parts.append(f"{cm:g} chair minutes a session" if not isinstance(cm, dict) else
                     "chair minutes " + ", ".join(f"{_MODALITY_SHORT.get(m, m)} {v:g}" for m, v in cm.items()))
    return "; ".join(parts) or "no change"


_MODALITY_SHORT = {"iv_ketamine": "IV", "im_ketamine": "IM", "esketamine_nasal": "esketamine"}


def comparison_table(projections: list, names: list[str] | None = None) -> pd.DataFrame:
    """Scenarios side by side as text, one row per measure (pipelines.plan.compare.compare_scenarios,
    formatted: rates as percent, days and hours to one decimal, yes / no)."""
    from pipelines.plan.compare import MEASURES, compare_scenarios

    if not projections:
        return pd.DataFrame()
    raw = compare_scenarios(projections)
    rates = {"no_show_rate", "utilization", "booked_utilization", "peak_week_booked_utilization",
             "peak_week_booked_utilization_upper", "target_utilization"}
    counts = {"chairs", "recommended_chairs", "recommended_chairs_upper"}
    keys = [key for key, _, _ in MEASURES]

    def show(key: str, value) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if value is None or isinstance(value, str):
            return value if isinstance(value, str) else ("none up to 60" if key.startswith("recommended") else fmt.MISSING)
        if key in rates:
            return fmt.pct(value, 1 if key == "no_show_rate" else 0)
        if key in counts:
            return fmt.count(value)
        return fmt.number(value)

    table = pd.DataFrame({column: [show(k, v) for k, v in zip(keys, raw[column], strict=True)] for column in raw.columns},
                         index=raw.index)
    if names:
        table.columns = names[: len(table.columns)]
    return table

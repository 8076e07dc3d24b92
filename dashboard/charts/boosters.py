"""Booster charts: interval distribution, time to first booster (Kaplan-Meier), boosters per
patient-year and intervals by clinic."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import theme
from dashboard.charts.base import (
    NOT_SHOWN, mark_not_shown, rows_height,
    ChartContext, empty, footnote_text, frame, hidden_data, known, n_label, no_data, shown_n_label, subtitle_text,
    title_text,
)

AXIS_DAYS = 189  # the booster-interval histogram's axis: 27 bins of 7 days
INTERVAL_DEF = ("Booster interval: calendar days from the previous session to each booster (session 7+ ketamine, "
                "9+ esketamine); it belongs to the booster's period and clinic.")


def interval_histogram(data: dict[str, pd.DataFrame], ctx: ChartContext) -> go.Figure:
    """Booster intervals per 7-day bin (booster_interval_histogram) with median and quartiles (booster_intervals)."""
    title = title_text("Booster intervals", ctx)
    foot = footnote_text(INTERVAL_DEF + " Bins of 7 days; lines: median and quartiles (linear interpolation).",
                         "Boosters › Booster interval")
    hist = data.get("histogram", pd.DataFrame())
    summary = data.get("summary", pd.DataFrame())
    n = int(hist["intervals"].sum()) if not hist.empty else 0
    if n == 0:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "booster intervals"), ctx), footnote=foot,
                     message=no_data("booster"))
    fig = go.Figure(go.Bar(x=hist["bin_start"] + 3.5, y=hist["intervals"], width=6.4, marker_color=theme.OKABE_ITO["green"],
                           customdata=hist["bin_start"], name="Intervals",
                           hovertemplate="%{customdata}–%{customdata}+6 days: %{y:,} boosters<extra></extra>"))
    extra = None
    if not summary.empty and pd.notna(summary.iloc[0]["median_days"]):
        s = summary.iloc[0]
        for col, label in (("p25_days", "p25"), ("median_days", "median"), ("p75_days", "p75")):
            fig.add_vline(x=float(s[col]), line=dict(color=theme.INK if label == "median" else theme.MUTED, dash="dash", width=1.2),
                          **(dict(annotation_text=f"median {fmt.number(s[col], 0)}", annotation_position="top right",
                                  annotation_font=dict(size=10, color=theme.MUTED)) if label == "median" else {}))
        extra = f"median {fmt.days(s['median_days'])} (IQR {fmt.number(s['p25_days'], 0)}–{fmt.number(s['p75_days'], 0)})"
    # The axis stops after 27 whole bins (189 days) so the usual 4-8 weeks stay legible; what lies past it is counted.
    axis_end = min(float(hist["bin_start"].max()) + 7, AXIS_DAYS)
    fig.update_xaxes(title=dict(text="Days since the previous session"), range=[0, axis_end])
    fig.update_yaxes(title=dict(text="Boosters"), tickformat=",")
    beyond = int(hist.loc[hist["bin_start"] >= AXIS_DAYS, "intervals"].sum())
    if beyond:
        extra = " · ".join(p for p in (extra, f"{fmt.count(beyond)} over {AXIS_DAYS - 1} days, past the axis") if p)
    # n is every interval of the selection (the median's n, as in the key figures), not only the bars
    # drawn: an export hides bins under the cell-size rule, and its subtitle read n = 991 beside 1,010.
    total = summary.iloc[0]["intervals"] if not summary.empty and "intervals" in summary else None
    total = int(total) if known(total) and int(total) >= n else n
    if total > n:
        extra = " · ".join(p for p in (extra, f"{fmt.count(total - n)} in bins too small to show") if p)
    sub = subtitle_text(n_label(total, "booster intervals"), ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=400)


def time_to_first_booster(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Kaplan-Meier: probability of a first booster by days since induction ended, with its 95% band."""
    title = title_text("Time to first booster after induction", ctx)
    foot = footnote_text(
        "Kaplan-Meier over courses that completed induction in the period (course start in the period); a course "
        "without a booster is censored at the data's end. Band: Greenwood 95% interval (log-log).",
        "Boosters › Time to first booster (Kaplan-Meier)")
    masked = not df.empty and df["booster_probability"].isna().any()
    if not df.empty and df["at_risk"].notna().any():  # suppression masks days: the curve joins the days shown
        df = df[df["booster_probability"].notna()]
    elif not df.empty and df["days"].notna().any():
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot,
                     message=hidden_data("courses that completed induction"))
    if df.empty or float(df["at_risk"].max() or 0) == 0:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "courses that completed induction"), ctx),
                     footnote=foot, message=no_data("course that completed induction"))
    data = df.sort_values("days")
    n = int(data["at_risk"].max())
    events = int(data["events"].sum())
    prob = data["booster_probability"]
    hi = 1 - data["survival_ci_low"]
    lo = 1 - data["survival_ci_high"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=data["days"], y=hi, mode="lines", line=dict(width=0, shape="hv"), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=data["days"], y=lo, mode="lines", line=dict(width=0, shape="hv"), fill="tonexty",
                             fillcolor="rgba(0, 158, 115, 0.18)", name="95% interval", hoverinfo="skip"))
    text = [f"{fmt.pct(p)} had a booster by day {d} ({fmt.count(r)} still at risk)"
            for p, d, r in zip(prob, data["days"], data["at_risk"], strict=True)]
    fig.add_trace(go.Scatter(x=data["days"], y=prob, mode="lines", line=dict(color=theme.OKABE_ITO["green"], width=2.5, shape="hv"),
                             name="Had a first booster", customdata=text, hovertemplate="%{customdata}<extra></extra>"))
    for day in (30, 60, 90):
        before = data[data["days"] <= day]
        if not before.empty and data["days"].max() >= day and not masked:  # masked: only shown days are exact
            p = float(before["booster_probability"].iloc[-1])
            fig.add_annotation(x=day, y=p, text=f"day {day}: {fmt.pct(p)}", showarrow=True, arrowhead=0, ax=24, ay=-24,
                               font=dict(size=10, color=theme.MUTED), arrowcolor=theme.MUTED)
    fig.update_xaxes(title=dict(text="Days since induction ended"), range=[0, min(float(data["days"].max()), 365)])
    fig.update_yaxes(tickformat=".0%", range=[0, 1], title=dict(text="Share with a first booster"))
    followed = int(data["days"].max())
    # over a short period no course is followed long enough for a booster (due 4-6 weeks after induction):
    # "0 first boosters seen" read as "no boosters" (exports audit); say how far the follow-up reaches
    seen = ((f"{fmt.count(events)} first booster{'s' if events != 1 else ''} seen" if events else f"no first booster yet, followed up to day {followed}")
            if data["events"].notna().all() else None)
    sub = subtitle_text(n_label(n, "courses that completed induction"), ctx, seen)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=420)


def per_patient_year(data: dict[str, pd.DataFrame], ctx: ChartContext) -> go.Figure:
    """Boosters per patient-year of maintenance by clinic (boosters_per_patient_year), network line."""
    title = title_text("Boosters per patient-year of maintenance, by clinic", ctx)
    foot = footnote_text(
        "Booster sessions / years in maintenance (from the day after induction to the earlier of the data's end and "
        "180 days after the course's last session), counted for the course's clinic; bars: Poisson 95% intervals. "
        "Clinics in alphabetical order.",
        "Boosters › Boosters per patient-year")
    clinics = data.get("clinics", pd.DataFrame())
    network = data.get("network", pd.DataFrame())
    clinics = clinics[clinics["patient_years"] > 0] if not clinics.empty else clinics
    if clinics.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "patient-years"), ctx), footnote=foot,
                     message=no_data("maintenance time"))
    clinics = clinics.sort_values("clinic_name", key=lambda s: s.str.lower())
    # A warehouse built before the interval existed has no ci columns until its next load: bars only.
    has_ci = {"ci_low", "ci_high"} <= set(clinics.columns)
    low = clinics["ci_low"] if has_ci else [None] * len(clinics)
    high = clinics["ci_high"] if has_ci else [None] * len(clinics)
    text = [f"{fmt.with_interval(r, lo, hi, 2)}, {fmt.count(b)} boosters / {fmt.number(y, 0)} patient-years"
            if known(r) and known(b) else f"{NOT_SHOWN}, {fmt.number(y, 0)} patient-years"
            for r, lo, hi, b, y in zip(clinics["boosters_per_patient_year"], low, high, clinics["boosters"],
                                       clinics["patient_years"], strict=True)]
    err = (dict(type="data", symmetric=False, array=clinics["ci_high"] - clinics["boosters_per_patient_year"],
                arrayminus=clinics["boosters_per_patient_year"] - clinics["ci_low"], color=theme.INK, thickness=1.2, width=4)
           if has_ci else None)
    # One row per clinic, like the other by-clinic charts: names of any length stay readable (side by side,
    # eight clinics' names ran into each other). Each clinic's exposure beside its name: a clinic with few
    # patient-years has a wide interval.
    fig = go.Figure(go.Bar(y=clinics["clinic_name"], x=clinics["boosters_per_patient_year"], orientation="h",
                           marker_color=theme.OKABE_ITO["green"], error_x=err, customdata=text,
                           hovertemplate="%{y}: %{customdata}<extra></extra>", name="Clinic"))
    # a clinic whose boosters (and so its rate) an export hides keeps its row, marked: an empty bar beside
    # "(7 patient-years)" read as no boosters
    mark_not_shown(fig, clinics["clinic_name"][clinics["boosters_per_patient_year"].isna()])
    fig.update_yaxes(type="category", tickmode="array", tickvals=list(clinics["clinic_name"]),
                     ticktext=[f"{c} ({fmt.number(y, 0)} patient-years)"
                               for c, y in zip(clinics["clinic_name"], clinics["patient_years"], strict=True)],
                     autorange="reversed", showgrid=False)
    extra = None
    if not network.empty and pd.notna(network.iloc[0]["boosters_per_patient_year"]):
        r = float(network.iloc[0]["boosters_per_patient_year"])
        # labelled above the plot: inside it, the first bar covered the label
        fig.add_vline(x=r, line=dict(color=theme.MUTED, dash="dash", width=1.2), annotation_text=f"network {fmt.number(r, 2)}",
                      annotation_position="top", annotation_yanchor="bottom",
                      annotation_font=dict(size=11, color=theme.MUTED))
        extra = f"network {fmt.number(r, 2)} per patient-year"
    fig.update_xaxes(title=dict(text="Boosters per patient-year"), rangemode="tozero")
    sub = subtitle_text(n_label(round(float(clinics["patient_years"].sum())), "patient-years"), ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(clinics), 30))


def intervals_by_clinic(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Median booster interval with its interquartile range per clinic (booster_intervals by clinic)."""
    title = title_text("Booster interval by clinic", ctx)
    foot = footnote_text(INTERVAL_DEF + " Dot: median; bar: 25th to 75th percentile. Clinics in alphabetical order.",
                         "Boosters › Booster interval")
    data = df[df["intervals"] > 0] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "booster intervals"), ctx), footnote=foot, message=no_data("booster"))
    data = data.sort_values("clinic_name", key=lambda s: s.str.lower())
    names = [f"{c} (n={fmt.count(n)})" for c, n in zip(data["clinic_name"], data["intervals"], strict=True)]
    text = [f"median {fmt.days(m)} (IQR {fmt.number(a, 0)}–{fmt.number(b, 0)}), {fmt.count(n)} boosters"
            for m, a, b, n in zip(data["median_days"], data["p25_days"], data["p75_days"], data["intervals"], strict=True)]
    fig = go.Figure(go.Scatter(
        x=data["median_days"], y=names, mode="markers", marker=dict(size=9, color=theme.OKABE_ITO["green"]),
        error_x=dict(type="data", symmetric=False, array=data["p75_days"] - data["median_days"],
                     arrayminus=data["median_days"] - data["p25_days"], color=theme.OKABE_ITO["green"], thickness=2, width=0),
        customdata=text, hovertemplate="%{y}: %{customdata}<extra></extra>", name="Median"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title=dict(text="Days since the previous session"), rangemode="tozero")
    sub = subtitle_text(shown_n_label(df["intervals"], "booster intervals", "clinics"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 26))

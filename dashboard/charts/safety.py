"""Safety charts: side effects (by effect and severity, dose band, session number), interventions,
BP elevation, peak-rise distribution, vitals during a session, esketamine REMS completeness."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import labels, theme
from dashboard.charts.base import (
    rows_height,
    NOT_SHOWN, ChartContext, empty, footnote_text, frame, hidden_data, known, mark_not_shown, n_label, no_data,
    not_shown_marker,
    percent_axis,
    shown_n_label, singular, ticks_to_100,
    subtitle_text,
    title_text,
)

SECTION = "Safety"
SEVERITY_NOT_SHOWN = "Severity not shown (small counts)"
SE_DEF = "Side-effect rate: treated sessions with at least one row of the effect / treated sessions."


def _treated(df: pd.DataFrame) -> int:
    if df.empty or "treated_sessions" not in df:
        return 0
    top = pd.to_numeric(df["treated_sessions"], errors="coerce").max()
    return 0 if pd.isna(top) else int(top)


def side_effects_by_severity(data: dict[str, pd.DataFrame], ctx: ChartContext) -> go.Figure:
    """Share of treated sessions with each effect, stacked by severity (side_effect_rates by severity);
    the subtitle gives "any side effect" with its interval (side_effect_rates, no breakdown)."""
    title = title_text("Side effects by effect and severity", ctx)
    foot = footnote_text(SE_DEF + " Bars are split by the severity recorded; a session has at most one row per effect.",
                         "Safety › Side-effect rate")
    by_sev = data.get("by_severity", pd.DataFrame())
    overall = data.get("overall", pd.DataFrame())
    treated = _treated(overall) or _treated(by_sev)
    rates = overall[overall["effect"] != "any"].set_index("effect")["rate"] if not overall.empty else pd.Series(dtype=float)
    # an effect whose severities are all hidden but whose rate is shown is drawn too (as "severity not shown")
    shown_effects = set(rates[rates > 0].index)
    # An effect whose rate an export hides (1-10 sessions) keeps its row, marked "not shown": Denver, March 2025
    # lost tachycardia and vomiting from the chart, read as none (as the interventions chart already does).
    hidden_effects = [e for e in rates[rates.isna()].index]
    effects = (by_sev[(by_sev["effect"] != "any") & ((by_sev["sessions"] > 0) | by_sev["effect"].isin(shown_effects))]
               if not by_sev.empty else by_sev)
    if hidden_effects and not by_sev.empty:
        effects = pd.concat([effects, by_sev[by_sev["effect"].isin(hidden_effects)]]).drop_duplicates()
    if treated == 0 or effects.empty:
        what = "treated session" if treated == 0 else "side effect"
        return empty(title=title, subtitle=subtitle_text(n_label(treated, "treated sessions"), ctx), footnote=foot,
                     message=no_data(what))
    order = sorted(effects["effect"].unique(), key=lambda e: (e in hidden_effects, -float(rates.get(e, 0) or 0),
                                                            labels.effect(e)))
    fig = go.Figure()
    for severity in labels.SEVERITY_ORDER:
        part = effects[effects["group_value"] == severity].set_index("effect")
        rows_of = set(part.index)  # the effects with a row of this severity (none: no session had it so)
        part = part.reindex(order)
        fig.add_trace(go.Bar(
            y=[labels.effect(e) for e in order], x=part["rate"].fillna(0), orientation="h",
            name=labels.SEVERITIES[severity], marker_color=theme.SEVERITY_COLOURS[severity],
            # a severity an export hides says so (its hover read "0 sessions": none, when there were 1-10)
            customdata=[fmt.pct_ci(r, lo, hi, treated) + f" · {fmt.count(s)} sessions" if known(r) and known(s)
                        else ("0 sessions" if e not in rows_of else NOT_SHOWN)
                        for e, r, lo, hi, s in zip(order, part["rate"], part["ci_low"], part["ci_high"], part["sessions"],
                                                   strict=True)],
            hovertemplate="%{y} · " + labels.SEVERITIES[severity] + ": %{customdata}<extra></extra>",
        ))
    # The effect's share that its shown severities leave: severities the cell-size rule hides. Drawn as a
    # neutral segment, so the bar reads as the effect's rate (Dizziness drew as its 33% mild, against 44%).
    shown = effects.pivot_table(index="effect", values="rate", aggfunc="sum").reindex(order)["rate"].fillna(0)
    unshown = (rates.reindex(order) - shown).where(lambda v: v > 1e-9)
    if unshown.notna().any():
        fig.add_trace(go.Bar(
            y=[labels.effect(e) for e in order], x=unshown.fillna(0), orientation="h", name=SEVERITY_NOT_SHOWN,
            marker=not_shown_marker(),
            customdata=[f"{labels.effect(e)} in all: {fmt.pct_ci(rates.get(e), None, None, treated)}" for e in order],
            hovertemplate="%{y}: severity not shown (small counts) · %{customdata}<extra></extra>",
        ))
    mark_not_shown(fig, [labels.effect(e) for e in order if e in hidden_effects])
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", showgrid=False)
    percent_axis(fig, "x", None, "Share of treated sessions")
    any_row = overall[overall["effect"] == "any"] if not overall.empty else overall
    extra = None
    if not any_row.empty:
        r = any_row.iloc[0]
        extra = "any side effect " + fmt.pct_ci(r["rate"], r["ci_low"], r["ci_high"], r["treated_sessions"])
    sub = subtitle_text(n_label(treated, "treated sessions"), ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(order), 32))


FEW_SESSIONS = 30  # by session number: fewer treated sessions than this at a number draw an open point


def _rate_by(df: pd.DataFrame, ctx: ChartContext, *, title_what: str, axis_title: str, noun: str, foot: str,
             order: list[str] | None = None, line: bool = False, dots: bool = False, colour: str = theme.ACCENT,
             rate: str = "rate", low: str = "ci_low", high: str = "ci_high", n: str = "treated_sessions",
             events: str = "sessions", groups: str = "groups") -> go.Figure:
    title = title_text(title_what, ctx)
    # a group whose n an export hides (1-10 sessions) keeps its place, marked: dropped, 84 mg read as never given
    data = df[(df[n] > 0) | df[n].isna()].copy() if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, noun), ctx), footnote=foot, message=no_data(singular(noun)))
    if order is not None:
        data["_o"] = data["group_value"].map({v: i for i, v in enumerate(order)}).fillna(len(order))
        data = data.sort_values(["_o", "group_value"])
    text = [fmt.pct_ci(r, lo, hi, m) + f" · {fmt.count(e)} sessions" if known(r) and known(e) else NOT_SHOWN
            for r, lo, hi, m, e in zip(data[rate], data[low], data[high], data[n], data[events], strict=True)]
    x = data["group_value"].astype(str)
    err = dict(type="data", symmetric=False, array=data[high] - data[rate], arrayminus=data[rate] - data[low],
               color=colour, thickness=1.5, width=3)
    # A group over few sessions (28 mg with 15 sessions, a small clinic) is drawn pale / open, as on the
    # session-number chart, so its tall bar or outlying dot is not read like the groups over thousands.
    few = [m < FEW_SESSIONS for m in data[n]]
    fig = go.Figure()
    if dots:
        fig.add_trace(go.Scatter(x=x, y=data[rate], mode="markers", error_y=err,
                                 marker=dict(size=10, color=colour, line=dict(width=1.5, color=colour),
                                             symbol=["circle-open" if f else "circle" for f in few]),
                                 customdata=text, name="Rate", hovertemplate="%{x}: %{customdata}<extra></extra>",
                                 showlegend=False))
        fig.update_xaxes(type="category")
    elif line:
        # A point over few sessions (late session numbers) is drawn open and off the line, so a 100% over
        # two sessions neither reads like the solid points over hundreds before it nor bends the line.
        # Each part carries its own points' interval bars.
        few_rows = pd.Series(few, index=data.index)
        for part, mode, symbol in ((~few_rows, "lines+markers", "circle"), (few_rows, "markers", "circle-open")):
            if not part.any():
                continue
            rows = data[part]
            fig.add_trace(go.Scatter(
                x=rows["group_value"], y=rows[rate], mode=mode, line=dict(color=colour),
                error_y=dict(err, array=rows[high] - rows[rate], arrayminus=rows[rate] - rows[low]),
                cliponaxis=False,  # a point at 100% is drawn whole
                marker=dict(symbol=symbol, size=8, line=dict(width=1.5, color=colour)),
                customdata=[t for t, keep in zip(text, part, strict=True) if keep],
                name="Rate" if symbol == "circle" else f"Fewer than {FEW_SESSIONS} {noun}",
                hovertemplate="%{x}: %{customdata}<extra></extra>", showlegend=False))
    else:
        fig.add_trace(go.Bar(x=x, y=data[rate], error_y=err, customdata=text, name="Rate",
                             marker=dict(color=[theme.translucent(colour, 0.3) if f else colour for f in few],
                                         line=dict(width=1, color=colour)),
                             hovertemplate="%{x}: %{customdata}<extra></extra>", showlegend=False))
        fig.update_xaxes(type="category")
    if dots or not line:
        # Each group's n under its name, as on the Outcomes charts: a tall bar over a few sessions is
        # read for what it is without hovering (and in an exported image, where nothing hovers).
        fig.update_xaxes(tickmode="array", tickvals=list(x),
                         ticktext=[f"{g}<br>n={fmt.count(m)}" if known(m) else f"{g}<br>n not shown"
                                   for g, m in zip(x, data[n], strict=True)])
        # a group with its n shown but its rate hidden says so where its bar or dot would be (a blank
        # column read as "none")
        for g in x[data[rate].isna().to_numpy()]:
            fig.add_annotation(x=g, y=0, yref="y", yanchor="bottom", showarrow=False, text="not shown<br>(small counts)",
                               font=dict(size=10, color=theme.MUTED), name="not_shown")
    elif data[rate].isna().any():
        # a session number whose rate is hidden: a muted cross on the axis, not a gap the line jumps over unseen
        for g in data.loc[data[rate].isna(), "group_value"]:
            fig.add_annotation(x=g, y=0, yref="y", yanchor="bottom", showarrow=False, text="×", hovertext=NOT_SHOWN,
                               font=dict(size=13, color=theme.MUTED), name="not_shown")
        foot = f"{foot} ×: not shown (small counts)."
    hi = float(data[high].max()) if data[high].notna().any() else float(data[rate].max())
    percent_axis(fig, "y", (0, min(1.0, hi * 1.15 + 0.01)), "Share of " + noun)
    fig.update_xaxes(title=dict(text=axis_title))
    if any(few) and not line:  # the session-number chart says it in its own footnote
        foot = f"{foot} {'Open points' if dots else 'Pale bars'}: fewer than {FEW_SESSIONS} {noun}."
    # the sum of the groups drawn; "in the ... shown" when the cell-size rule hides some of them
    sub = subtitle_text(shown_n_label(df[n], noun, groups, n=int(data[n].sum())), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=400)


DOSE_ORDER = ["<0.50 mg/kg", "0.50-0.74 mg/kg", "0.75-0.99 mg/kg", "1.00-1.49 mg/kg", ">=1.50 mg/kg", "28 mg", "56 mg", "84 mg",
              "stopped early"]


def side_effects_by_dose(df: pd.DataFrame, ctx: ChartContext, effect: str = "any") -> go.Figure:
    """Side-effect rate (one effect, default any) by dose band, with Wilson intervals."""
    data = df[df["effect"] == effect] if not df.empty else df
    data = data[data["group_value"].notna()] if not data.empty else data
    foot = footnote_text(SE_DEF + " Both counted within the dose band: ketamine mg/kg of body weight; esketamine mg per "
                         "session; a session stopped early is its own band (its dose is only what was delivered). "
                         "Sessions without a dose or weight have no band. Bars: Wilson 95% intervals.",
                         "Safety › Dose band")
    return _rate_by(data, ctx, title_what=f"{labels.effect(effect)} by dose band", axis_title="Dose band",
                    noun="treated sessions", foot=foot, order=DOSE_ORDER, colour=theme.OKABE_ITO["orange"],
                    groups="dose bands")


def side_effects_by_session(df: pd.DataFrame, ctx: ChartContext, effect: str = "any") -> go.Figure:
    """Side-effect rate by session number within the course."""
    data = df[df["effect"] == effect].copy() if not df.empty else df
    if not data.empty:
        data["group_value"] = pd.to_numeric(data["group_value"], errors="coerce")
        data = data.dropna(subset=["group_value"]).sort_values("group_value")
        data = data[data["group_value"] <= 24]
    foot = footnote_text(SE_DEF + " Both counted at each session number of the course (1-6 ketamine / 1-8 esketamine "
                         f"induction, boosters after; shown to 24). Bars: Wilson 95% intervals. Open points, off the "
                         f"line: fewer than {FEW_SESSIONS} sessions at that number.", "Safety › Session number")
    fig = _rate_by(data, ctx, title_what=f"{labels.effect(effect)} by session number", axis_title="Session number in the course",
                   noun="treated sessions", foot=foot, line=True, colour=theme.OKABE_ITO["vermillion"],
                   groups="session numbers")
    fig.update_xaxes(dtick=2)
    return fig


def bp_by(df: pd.DataFrame, ctx: ChartContext, breakdown: str = "dose_band") -> go.Figure:
    """BP elevation rate (systolic ≥ 180 or diastolic ≥ 110) by a breakdown, with Wilson intervals."""
    foot = footnote_text("BP elevation: treated sessions with a reading systolic ≥ 180 or diastolic ≥ 110 mmHg / treated "
                         "sessions with at least one reading. Bars: Wilson 95% intervals.", "Safety › BP elevation rate")
    if breakdown == "dose_band":
        foot = foot.replace(" Bars:", " A session stopped early is its own band (its dose is only what was delivered). Bars:", 1)
    data = df[df["group_value"].notna()] if not df.empty else df
    order = DOSE_ORDER if breakdown == "dose_band" else None
    axis = {"dose_band": "Dose band", "modality": "Modality", "session_number": "Session number"}.get(breakdown, breakdown)
    if breakdown == "modality" and not data.empty:
        data = data.assign(group_value=data["group_value"].map(labels.modality))
    return _rate_by(data, ctx, title_what=f"BP elevation by {axis.lower()}", axis_title=axis,
                    noun="sessions with vitals", foot=foot, order=order, colour=theme.OKABE_ITO["vermillion"],
                    groups={"dose_band": "dose bands", "modality": "modalities", "session_number": "session numbers"}.get(breakdown, "groups"),
                    n="sessions_with_vitals", events="elevated_sessions")


def peak_rise(data: dict[str, pd.DataFrame], ctx: ChartContext) -> go.Figure:
    """Distribution of the peak systolic rise per session (peak_rise_histogram), with the quartiles
    from bp_elevation."""
    title = title_text("Peak systolic rise during a session", ctx)
    foot = footnote_text("Peak rise: the session's highest systolic reading minus its first. Bins of 5 mmHg; "
                         "dashed lines: median and quartiles.", "Safety › Peak rise")
    hist = data.get("histogram", pd.DataFrame())
    summary = data.get("summary", pd.DataFrame())
    n = int(hist["sessions"].sum()) if not hist.empty else 0
    if n == 0:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "sessions with vitals"), ctx), footnote=foot,
                     message=no_data("session with vitals"))
    fig = go.Figure(go.Bar(x=hist["bin_start"] + 2.5, y=hist["sessions"], width=4.6, marker_color=theme.OKABE_ITO["sky"],
                           customdata=hist["bin_start"], name="Sessions",
                           hovertemplate="%{customdata}–%{customdata}+5 mmHg: %{y:,} sessions<extra></extra>"))
    extra = None
    if not summary.empty:
        s = summary.iloc[0]
        for col, label in (("peak_rise_p25", "p25"), ("peak_rise_median", "median"), ("peak_rise_p75", "p75")):
            if pd.notna(s[col]):
                fig.add_vline(x=float(s[col]), line=dict(color=theme.INK if label == "median" else theme.MUTED, dash="dash", width=1.2),
                              **(dict(annotation_text=f"median {fmt.number(s[col], 0)}", annotation_position="top right",
                                      annotation_font=dict(size=10, color=theme.MUTED)) if label == "median" else {}))
        extra = f"median {fmt.number(s['peak_rise_median'], 0)} mmHg (IQR {fmt.number(s['peak_rise_p25'], 0)}–{fmt.number(s['peak_rise_p75'], 0)})"
    fig.update_xaxes(title=dict(text="Peak systolic rise (mmHg)"))
    fig.update_yaxes(title=dict(text="Sessions"), tickformat=",")
    # n is every session with vitals (the quartiles' n, as in the key figures), not only the bins drawn: an
    # export hides bins under the cell-size rule, and its subtitle read n = 241 beside the key figures' 264
    # (as the booster-interval histogram does).
    total = summary.iloc[0]["sessions_with_vitals"] if not summary.empty and "sessions_with_vitals" in summary else None
    total = int(total) if known(total) and int(total) >= n else n
    if total > n:
        extra = " · ".join(p for p in (extra, f"{fmt.count(total - n)} in bins too small to show") if p)
    n_text = n_label(total, "sessions with vitals")
    if total == n and hist["sessions"].isna().any():  # no total shown: the bins' sum, said as such
        n_text += " in the bins shown"
    sub = subtitle_text(n_text, ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=400)


VITAL_LIMITS = {"systolic": 180, "diastolic": 110}


def vitals_course(df: pd.DataFrame, ctx: ChartContext, vital: str = "systolic") -> go.Figure:
    """Median and interquartile range of one vital sign by minute since treatment start (vitals_by_minute)."""
    name, unit = labels.VITALS.get(vital, (vital, ""))
    title = title_text(f"{name} during the session", ctx)
    foot = footnote_text("Median (line) and interquartile range (band) of all readings in each 5-minute bin since "
                         "treatment start; minute 0 is treatment start.", "Safety › Vitals by minute")
    data = df[df["readings"] > 0].sort_values("minute") if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "readings"), ctx), footnote=foot, message=no_data("vitals reading"))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=data["minute"], y=data[f"{vital}_p75"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=data["minute"], y=data[f"{vital}_p25"], mode="lines", line=dict(width=0), fill="tonexty",
                             fillcolor="rgba(0, 114, 178, 0.18)", name="Interquartile range", hoverinfo="skip"))
    text = [f"median {fmt.number(m, 0)} {unit} (IQR {fmt.number(a, 0)}–{fmt.number(b, 0)}), {fmt.count(r)} readings"
            for m, a, b, r in zip(data[f"{vital}_median"], data[f"{vital}_p25"], data[f"{vital}_p75"], data["readings"], strict=True)]
    fig.add_trace(go.Scatter(x=data["minute"], y=data[f"{vital}_median"], mode="lines", name="Median",
                             line=dict(color=theme.ACCENT, width=2.5), customdata=text,
                             hovertemplate="Minute %{x}: %{customdata}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color=theme.MUTED, dash="dot", width=1), annotation_text="treatment start",
                  annotation_position="top right", annotation_font=dict(size=10, color=theme.MUTED))
    if vital in VITAL_LIMITS:
        fig.add_hline(y=VITAL_LIMITS[vital], line=dict(color=theme.OKABE_ITO["vermillion"], dash="dash", width=1),
                      annotation_text=f"elevation threshold {VITAL_LIMITS[vital]}", annotation_position="bottom right",
                      annotation_font=dict(size=10, color=theme.OKABE_ITO["vermillion"]))
    fig.update_xaxes(title=dict(text="Minutes since treatment start"), dtick=30)
    fig.update_yaxes(title=dict(text=f"{name} ({unit})"))
    sub = subtitle_text(n_label(int(data["readings"].sum()), "readings"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=420)


def interventions(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Treated sessions with a side effect that received each intervention (side_effect_interventions)."""
    title = title_text("Interventions for side effects", ctx)
    foot = footnote_text("Treated sessions with at least one side effect that received the intervention / treated "
                         "sessions. 'No intervention': a session with a side effect recorded without one, even if another "
                         "of its side effects received one. A session counts under each bar that applies, so the bars "
                         "overlap and do not add up.", "Safety › Interventions")
    data = df[(df["sessions"] > 0) | df["sessions"].isna()] if not df.empty else df
    if data.empty:
        treated = _treated(df)
        return empty(title=title, subtitle=subtitle_text(n_label(treated, "treated sessions"), ctx), footnote=foot,
                     message=no_data("intervention"))
    # An intervention an export hides (1-10 sessions) keeps its row, marked, after the ones shown (in the
    # labels' order, not by a rate nobody sees): a board reading "Infusion stopped" nowhere would take it
    # for none.
    names = data["intervention"].map(lambda i: labels.label(labels.INTERVENTIONS, i))
    data = (data.assign(_name=names, _hidden=data["rate"].isna())
            .sort_values(["_hidden", "rate", "_name"], ascending=[True, False, True]))
    treated = _treated(data)
    colours = [theme.MUTED if i == "none" else theme.OKABE_ITO["purple"] for i in data["intervention"]]
    text = [f"{fmt.pct(r, 1)} ({fmt.count(s)} sessions)" if known(r) and known(s) else NOT_SHOWN
            for r, s in zip(data["rate"], data["sessions"], strict=True)]
    fig = go.Figure(go.Bar(x=data["rate"].fillna(0), y=data["_name"],
                           orientation="h", marker_color=colours, text=text, textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    top = data["rate"].max()
    percent_axis(fig, "x", (0, min(1.0, (0.0 if pd.isna(top) else float(top)) * 1.3 + 0.01)), "Share of treated sessions")
    sub = subtitle_text(n_label(treated, "treated sessions"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 36))


REMS_CHECKS = [
    ("monitored_2h", "Monitored ≥ 2 h"),
    ("bp_before_dosing", "BP before dosing"),
    ("bp_minute_40", "BP around minute 40"),
    ("bp_at_end", "BP at the end"),
    ("complete", "All four (complete)"),
]


def rems_checks(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Esketamine sessions meeting each REMS monitoring check (rems_completeness, no breakdown)."""
    title = title_text("Esketamine REMS monitoring completeness", ctx)
    foot = footnote_text("Treated esketamine sessions monitored ≥ 2 h (treatment start to discharge) with a BP reading in the "
                         "60 min before dosing, at 30–50 min and in the last 15 min before discharge.",
                         "Safety › REMS completeness")
    row = df.iloc[0] if not df.empty else None
    if row is not None and not known(row["esketamine_sessions"]):
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message=hidden_data("esketamine sessions"))
    if row is None or int(row["esketamine_sessions"]) == 0:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "esketamine sessions"), ctx), footnote=foot,
                     message=no_data("esketamine session"))
    total_n = int(row["esketamine_sessions"])
    counts = [int(row[c]) if known(row[c]) else None for c, _ in REMS_CHECKS]
    missing = [total_n - c if c is not None else None for c in counts]
    names = [n for _, n in REMS_CHECKS]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=counts, orientation="h", name="Met", marker_color=theme.OKABE_ITO["green"],
                         hovertemplate="%{y}: %{x:,} sessions met it<extra></extra>"))
    fig.add_trace(go.Bar(y=names, x=missing, orientation="h", name="Not met", marker_color=theme.OKABE_ITO["vermillion"],
                         hovertemplate="%{y}: %{x:,} sessions did not<extra></extra>"))
    # A check an export hides (its misses are 1-10) stood as an empty row with no word: exactly where the REMS
    # failures are. It says so, across the row.
    mark_not_shown(fig, [name for name, c in zip(names, counts, strict=True) if c is None])
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title=dict(text="Esketamine sessions"), tickformat=",", range=[0, total_n])
    extra = "complete " + (fmt.pct_ci(row["complete_rate"], row["complete_ci_low"], row["complete_ci_high"], total_n, digits=1)
                           if known(row["complete_rate"]) else NOT_SHOWN)
    sub = subtitle_text(n_label(total_n, "esketamine sessions"), ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=330)


def rems_by_clinic(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """REMS completeness per clinic with Wilson intervals (rems_completeness by clinic, names joined)."""
    foot = footnote_text("Complete REMS monitoring / treated esketamine sessions, per clinic, with Wilson 95% intervals.",
                         "Safety › REMS completeness")
    data = df.copy() if not df.empty else df
    if not data.empty and "clinic_name" in data:
        data["group_value"] = data["clinic_name"]
    fig = _rate_by(data, ctx, title_what="REMS completeness by clinic", axis_title="", noun="esketamine sessions",
                   foot=foot, dots=True, colour=theme.OKABE_ITO["green"], rate="complete_rate", low="complete_ci_low",
                   high="complete_ci_high", n="esketamine_sessions", events="complete", groups="clinics")
    if data is not None and not data.empty and data["complete_ci_low"].notna().any():
        low = max(0.0, float(data["complete_ci_low"].min()) - 0.05)
        fig.update_yaxes(range=[low, 1.01], tickmode="array", tickvals=ticks_to_100(low))  # room above 100%, no 101% tick
        if len(data) > 6:
            fig.update_xaxes(tickangle=-30)
            # Slanted names reach further down than the frame's margin: Plotly grows the margin to fit
            # them, but the footnote hangs a fixed distance below the plot and was written over them.
            depth = int(data["group_value"].astype(str).str.len().max() * TICK_CHAR_PX * 0.5) + 24  # sin 30° x name, + "n=" line
            _room_below(fig, max(0, depth - FOOTNOTE_ROOM))
    return fig


TICK_CHAR_PX = 6.0  # the width of a tick label's character, generously (the template's 11 px font)
FOOTNOTE_ROOM = 60  # the depth under the plot that the frame already leaves above its footnote


def _room_below(fig: go.Figure, pixels: int) -> None:
    """Move the footnote down by `pixels` and grow the margin and the height to match."""
    fig.update_layout(margin=dict(b=fig.layout.margin.b + pixels), height=fig.layout.height + pixels)
    for ann in fig.layout.annotations:
        if ann.name == "footnote":
            ann.update(yshift=ann.yshift - pixels)

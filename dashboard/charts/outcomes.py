"""Outcome charts: response and remission, non-evaluable courses, trajectories, early signal,
induction funnel, clinic funnel plots and PHQ-9 item-9 flags."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import labels, theme
from dashboard.charts.base import (
    ALL_HIDDEN, NOT_SHOWN, PERCENT_TICKS, SPLIT_NOT_SHOWN, rows_height,
    ChartContext, empty, footnote_text, frame, hidden_data, known, n_label, no_data, percent_axis, singular,
    not_shown_marker, shown_n_label, subtitle_text,
    title_text, total,
)
from dashboard.charts.label_layout import place_labels

RESPONSE_DEF = (
    "Response: drop from baseline ≥ 50% (Pain NRS ≥ 30%); remission: follow-up ≤ 4 (PHQ-9, GAD-7), ≤ 10 (MADRS), "
    "< 33 (PCL-5), ≤ 3 (Pain NRS). Both over evaluable courses (baseline ≥ minimum and a follow-up), Wilson 95% intervals."
)
# PCL-5 is evaluable from a baseline of 33 and remits below 33 (the contract): 33 to 32 is a remission
PCL5_NOTE = ("PCL-5 remission can exceed response: a course evaluable from a baseline of 33 remits below 33, "
             "so a one-point drop can be a remission.")
SECTION = "Outcomes (per course and instrument)"

GROUP_LABELS = {
    "clinic": "clinic", "indication": "indication", "modality": "modality", "modality_family": "modality family",
    "month": "month of course start", "maoi": "MAOI use", "lamotrigine": "lamotrigine use",
    "benzodiazepine": "benzodiazepine use", "opioid": "opioid use",
}


def _instrument_order(df: pd.DataFrame) -> pd.DataFrame:
    order = {code: i for i, code in enumerate(labels.INSTRUMENT_ORDER)}
    return df.assign(_o=df["instrument"].map(order).fillna(99)).sort_values("_o").drop(columns="_o")


def _rate_traces(fig: go.Figure, df: pd.DataFrame, names: list[str], *, show_legend: bool = True) -> bool:
    """Response and remission dots with their Wilson intervals, one row per group, side by side. A group of
    fewer than FEW_COURSES evaluable courses is drawn open with a thin bar, as on the trajectory and the
    Safety charts ("MADRS (n=1)" at 0% looked like PHQ-9 over 828). Returns whether any group is that small."""
    rows = pd.Series(range(len(names)), index=df.index)
    few = df["evaluable"] < FEW_COURSES
    for kind, colour, offset in (("response", theme.OKABE_ITO["blue"], -0.17), ("remission", theme.OKABE_ITO["orange"], 0.17)):
        symbol = "circle" if kind == "response" else "diamond"
        for small in (False, True):
            part = df[few == small]
            if part.empty:
                continue
            rate, low, high = part[f"{kind}_rate"], part[f"{kind}_ci_low"], part[f"{kind}_ci_high"]
            text = [f"{names[i]}<br>{kind.capitalize()}: {fmt.pct_ci(r, lo, hi, n)}"
                    for i, r, lo, hi, n in zip(rows[part.index], rate, low, high, part["evaluable"], strict=True)]
            fig.add_trace(go.Scatter(
                x=rate, y=[r + offset for r in rows[part.index]], mode="markers",
                name=f"{kind.capitalize()}, n < {FEW_COURSES}" if small else kind.capitalize(), legendgroup=kind,
                marker=dict(size=10, color=colour, symbol=f"{symbol}-open" if small else symbol,
                            line=dict(width=1.5, color=colour)),
                error_x=dict(type="data", symmetric=False, array=(high - rate), arrayminus=(rate - low),
                             color=colour, thickness=1 if small else 2, width=4),
                customdata=text, hovertemplate="%{customdata}<extra></extra>",
                # one legend row (two overran the subtitle at a board pack's width): the open points are named
                # in the legend only when no group of the kind has FEW_COURSES or more; the footnote says it
                showlegend=show_legend and (not small or bool((~few).sum() == 0)),
            ))
    fig.update_yaxes(tickvals=list(rows), ticktext=names, range=[len(names) - 0.5, -0.5], showgrid=False, title=None,
                     zeroline=False)
    return bool(few.any())


def _few_note(foot: str) -> str:
    """The small-n sentence, in the words of the trajectory's and the Safety charts' footnotes."""
    return foot.replace(" Definition:", f" Open points: fewer than {FEW_COURSES} evaluable courses. Definition:", 1)


def _with_evaluable(df: pd.DataFrame) -> pd.Series:
    """Rows to draw: groups with evaluable courses, and groups whose count an export hides (NaN). Those
    dropped off the axis (a pack's Fibromyalgia and Other were simply not there): they stay, marked."""
    return (df["evaluable"] > 0) | df["evaluable"].isna()


def _n_text(n: object) -> str:
    return f"n={fmt.count(n)}" if known(n) else "n not shown"


def _mark_hidden(fig: go.Figure, df: pd.DataFrame) -> None:
    """On each row whose rates an export hides, what is missing: 'not shown (small counts)' for both,
    'remission not shown' for one (a row with a response dot and no remission read as a remission of none)."""
    marks = []
    for i, (response, remission) in enumerate(zip(df["response_rate"], df["remission_rate"], strict=True)):
        missing = [kind for kind, rate in (("response", response), ("remission", remission)) if not known(rate)]
        if missing:
            marks.append((i, NOT_SHOWN if len(missing) == 2 else f"{missing[0]} not shown"))
    if marks:
        fig.add_trace(go.Scatter(x=[0.01] * len(marks), y=[i for i, _ in marks], mode="text",
                                 text=[t for _, t in marks], textposition="middle right",
                                 textfont=dict(size=11, color=theme.MUTED), showlegend=False, hoverinfo="skip"))


def rates_by_instrument(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Response and remission per instrument with Wilson intervals (outcome_rates, breakdown none)."""
    title = title_text("Response and remission by instrument", ctx)
    foot = footnote_text(RESPONSE_DEF + " Courses belong to the period of their first session.", SECTION)
    data = df[_with_evaluable(df)] if not df.empty else df
    if not data.empty and (data["instrument"] == "PCL5").any():
        foot = foot.replace(" Definition:", f" {PCL5_NOTE} Definition:", 1)
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "evaluable courses"), ctx), footnote=foot,
                     message=no_data("evaluable course"))
    data = _instrument_order(data)
    names = [f"{labels.instrument(i)}  ({_n_text(n)})" for i, n in zip(data["instrument"], data["evaluable"], strict=True)]
    fig = go.Figure()
    if _rate_traces(fig, data, names):
        foot = _few_note(foot)
    _mark_hidden(fig, data)
    percent_axis(fig, "x", (0, 1), "Share of evaluable courses")
    # A recent period's courses are mostly scored while their follow-up window is still open: say how many, as
    # the Overview's cards do (an audit found 454 of 521 provisional under a chart that never said so)
    provisional = data["provisional"] if "provisional" in data else pd.Series(dtype=float)
    extra = None
    # a count an export hides is not a zero: 73 of 83 provisional, hidden beside 10 settled, dropped the caveat
    hidden_provisional = bool((provisional.isna() & data["evaluable"].gt(0)).any()) if len(provisional) else False
    if hidden_provisional or (provisional.notna().all() and provisional.sum() > 0):
        extra = (f"{fmt.count(provisional.sum())} provisional (follow-up window still open)" if not hidden_provisional
                 else "provisional courses (follow-up window still open) not shown (small counts)"
                 if not provisional.fillna(0).gt(0).any()
                 else f"{fmt.count(provisional.sum())} provisional in the instruments shown, the others' not shown "
                      "(small counts)")
        foot = foot.replace(" Definition:", " Provisional: evaluable on a score taken while the course's follow-up "
                            "window is still open; its outcome may change. Definition:", 1)
    sub = subtitle_text(shown_n_label(data["evaluable"], "evaluable course-instrument pairs", "instruments"), ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 60))


def _plural(breakdown: str) -> str:
    return {"clinic": "clinics", "indication": "indications", "modality": "modalities",
            "modality_family": "modality families", "month": "months"}.get(breakdown, "groups")


def rates_by_group(df: pd.DataFrame, ctx: ChartContext, instrument: str = "PHQ9", breakdown: str = "indication") -> go.Figure:
    """Response and remission for one instrument by a breakdown (outcome_rates with that breakdown).
    Groups are listed by name, not ranked: intervals, not positions, carry the comparison."""
    group = GROUP_LABELS.get(breakdown, breakdown)
    title = title_text(f"{labels.instrument(instrument)} response and remission by {group}", ctx)
    foot = footnote_text(RESPONSE_DEF + " Groups are in alphabetical order, not ranked."
                         + (f" {PCL5_NOTE}" if instrument == "PCL5" else ""), SECTION)
    data = df[(df["instrument"] == instrument) & _with_evaluable(df)] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "evaluable courses"), ctx), footnote=foot,
                     message=no_data(f"evaluable {labels.instrument(instrument)} course"))
    data = labels.named_groups(data, breakdown)
    names = [f"{n}  ({_n_text(e)})" for n, e in zip(data["_name"], data["evaluable"], strict=True)]
    fig = go.Figure()
    if _rate_traces(fig, data, names):
        foot = _few_note(foot)
    _mark_hidden(fig, data)
    percent_axis(fig, "x", (0, 1), "Share of evaluable courses")
    sub = subtitle_text(shown_n_label(data["evaluable"], "evaluable courses", _plural(breakdown)), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 34))


NOT_EVALUABLE_COLOURS = {
    "evaluable": theme.OKABE_ITO["blue"],
    "baseline_below_minimum": theme.OKABE_ITO["sky"],
    "follow_up_open": theme.OKABE_ITO["yellow"],
    "no_follow_up": theme.OKABE_ITO["orange"],
    "no_baseline": theme.OKABE_ITO["vermillion"],
    "not_assessed": "#B8BEC7",
}


def evaluability(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Every course of the period per instrument: evaluable, or the reason it is not (outcome_rates)."""
    title = title_text("Evaluable courses, and why the others are not", ctx)
    foot = footnote_text(
        "Every course counts once per instrument. Not assessed: no score in either window; no baseline: none in the "
        "30 days up to course start; no follow-up: none after start up to 14 days after induction; follow-up window "
        "still open: none yet, and that window had not closed by the data's last day; baseline below the "
        "instrument's minimum.", SECTION)
    if df.empty or total(df, "courses") == 0:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "courses"), ctx), footnote=foot, message=no_data("course"))
    data = _instrument_order(df)
    y = [labels.instrument(i) for i in data["instrument"]]
    fig = go.Figure()
    columns = [c for c in ["evaluable", "baseline_below_minimum", "follow_up_open", "no_follow_up", "no_baseline",
                           "not_assessed"] if c in data]  # follow_up_open: not in a warehouse built before it
    for column in columns:
        name = "Evaluable" if column == "evaluable" else labels.NOT_EVALUABLE[column]
        # a hidden part is drawn as 0, not NaN: Plotly starts the next segment on a NaN from the axis, so
        # an export's PCL-5 bar read as all "not assessed" beside 39 evaluable in its key figures
        fig.add_trace(go.Bar(
            x=data[column].fillna(0), y=y, orientation="h", name=name, marker_color=NOT_EVALUABLE_COLOURS[column],
            customdata=[fmt.count(v) if known(v) else NOT_SHOWN for v in data[column]],
            hovertemplate="%{y} · " + name + ": %{customdata} courses<extra></extra>",
        ))
    # what the hidden parts leave of a shown total, as one neutral segment: the bar still reads as its courses
    unsplit = (data["courses"] - data[columns].fillna(0).sum(axis=1)).where(lambda v: v > 0)
    if unsplit.notna().any():
        fig.add_trace(go.Bar(x=unsplit.fillna(0), y=y, orientation="h", name=SPLIT_NOT_SHOWN, marker=not_shown_marker(),
                             hovertemplate="%{y}: the rest of the courses, split not shown (small counts)<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title=dict(text="Courses"), tickformat=",")
    courses = int(data["courses"].max())
    sub = subtitle_text(n_label(courses, "courses started"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 52))


FEW_COURSES = 30  # a mean score over fewer courses than this is drawn as an open point


TRAJECTORY_MEASURES = ("score", "change")


def _instrument_value(data: pd.DataFrame, column: str) -> float | None:
    """One of the instrument's rules carried on every row of score_trajectory (None when absent)."""
    if column not in data:
        return None
    values = data[column].dropna()
    return float(values.iloc[0]) if not values.empty else None


def trajectory(df: pd.DataFrame, ctx: ChartContext, instrument: str = "PHQ9", measure: str = "score") -> go.Figure:
    """Mean score by session number with its t-based 95% interval (score_trajectory); with measure="change",
    each course's change from its own baseline, averaged over the courses scored at that session number.

    The mean score at a session number is a mean over whichever courses were scored there: at 8 clinics it
    rose from 10.0 at session 3 to 11.1 at session 4 because other patients were measured, not because
    anyone got worse (medical-director audit). The change from each course's own baseline takes out where
    those courses started (not how they respond: the courses are still not the same at every point)."""
    if measure not in TRAJECTORY_MEASURES:
        raise ValueError(f"measure must be one of {TRAJECTORY_MEASURES}, not {measure!r}")
    change = measure == "change"
    name = labels.instrument(instrument)
    title = title_text(f"{name} change from baseline by session" if change else f"{name} mean score by session", ctx)
    foot = footnote_text(
        "Session 0 is the baseline; the score at session k is the last one after session k and up to session k+1 "
        "(at most 30 days). "
        + ("Change: each course's score minus its own baseline, averaged over the courses scored at that session "
           "number: a point does not move because the courses scored there started higher or lower, though they "
           "may still respond differently. " if change else "")
        + "Band and bars: 95% interval of the mean (Student's t); a single course has none.",
        "Outcomes › Score trajectory")
    value, low, high, count = (("mean_change", "change_ci_low", "change_ci_high", "courses_with_baseline") if change
                               else ("mean_score", "ci_low", "ci_high", "courses"))
    if isinstance(df, dict):  # the query's parts: the trajectory, and the outcome table that decides what it may show
        df = df.get("", pd.DataFrame())
    # sessions whose mean an export hides (small counts, or the outcome table's hidden courses with a baseline)
    hidden = sorted(int(s) for s in df.loc[df[count].isna(), "session_number"]) if not df.empty and count in df else []
    data = df[df[count] > 0].sort_values("session_number") if not df.empty and count in df else df.iloc[0:0]
    if hidden:
        where = ", ".join("0 (the baseline)" if s == 0 else str(s) for s in hidden)
        foot = foot.replace(" Definition:", f" Not shown (small counts): session{'s' if len(hidden) > 1 else ''} "
                            f"{where}. Definition:", 1)
    if data.empty:
        if hidden:
            return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message=ALL_HIDDEN)
        return empty(title=title, subtitle=subtitle_text(n_label(0, "courses"), ctx), footnote=foot,
                     message=no_data(f"{name} score"))
    x = data["session_number"]
    solid = data[count] >= FEW_COURSES
    # the band follows the line (means of FEW_COURSES courses or more); a mean of fewer courses carries its
    # interval as a bar of its own (below), not as a bulge of the band around a line that does not pass there
    band = data[solid].dropna(subset=[low, high])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=band["session_number"], y=band[high], mode="lines", line=dict(width=0),
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=band["session_number"], y=band[low], mode="lines", line=dict(width=0),
                             fill="tonexty", fillcolor="rgba(0, 114, 178, 0.18)", name="95% interval", hoverinfo="skip"))
    text = [f"{fmt.number(m)} (95% CI {fmt.number(lo)}–{fmt.number(hi)}), n={fmt.count(n)}"
            for m, lo, hi, n in zip(data[value], data[low], data[high], data[count], strict=True)]
    # Few courses score at some session numbers (PHQ-9 is due before infusion 1, after 2 and after 6: one
    # course at session 1 put a mean of 5 on the line between 17 and 10). Those means are open points off
    # the line, as on the Safety page's session-number chart, so one or two patients are not read as a
    # trend; the line joins the means of at least FEW_COURSES courses.
    if not solid.all():
        foot = foot.replace(" Definition:", f" Open points, off the line: fewer than {FEW_COURSES} courses. Definition:", 1)
    line_name = "Mean change" if change else "Mean score"
    if solid.any():
        fig.add_trace(go.Scatter(x=x[solid], y=data[value][solid], mode="lines+markers", name=line_name,
                                 line=dict(color=theme.ACCENT, width=2.5),
                                 marker=dict(size=7, line=dict(width=1.5, color=theme.ACCENT)),
                                 customdata=[t for t, keep in zip(text, solid, strict=True) if keep],
                                 hovertemplate="Session %{x}: %{customdata}<extra></extra>"))
    few = data[~solid]
    if not few.empty:
        fig.add_trace(go.Scatter(x=few["session_number"], y=few[value], mode="markers",
                                 name=f"Mean of fewer than {FEW_COURSES} courses",
                                 marker=dict(size=7, symbol="circle-open", line=dict(width=1.5, color=theme.ACCENT),
                                             color=theme.ACCENT),
                                 error_y=dict(type="data", symmetric=False, array=few[high] - few[value],
                                              arrayminus=few[value] - few[low], color=theme.ACCENT,
                                              thickness=1, width=4),
                                 customdata=[t for t, keep in zip(text, solid, strict=True) if not keep],
                                 hovertemplate="Session %{x}: %{customdata}<extra></extra>"))
    fig.update_xaxes(title=dict(text="Session number (0 = baseline)"), dtick=1 if x.max() <= 20 else 2)
    if 0 in hidden:  # the axis still starts at the baseline, and says why nothing is drawn there
        fig.update_xaxes(range=[-0.5, float(x.max()) + 0.5])
        fig.add_annotation(x=0, y=0.5, xref="x", yref="paper", showarrow=False, align="center",
                           text="Baseline<br>not shown<br>(small counts)", font=dict(size=11, color=theme.MUTED))
    if change:
        fig.add_hline(y=0, line=dict(color=theme.MUTED, width=1), annotation_text="baseline",
                      annotation_position="top left", annotation_font=dict(size=11, color=theme.MUTED))
        lows = [float(data[value].min())] + ([float(band[low].min())] if not band.empty else [])
        highs = [float(data[value].max())] + ([float(band[high].max())] if not band.empty else [])
        span = max(max(highs), 0.0) - min(min(lows), 0.0)
        fig.update_yaxes(title=dict(text=f"{name} change from baseline (points)"),
                         range=[min(min(lows), 0.0) - 0.08 * span, max(max(highs), 0.0) + 0.08 * span])
    else:
        # the remission line and the scale's top come with the data, from the rules the outcomes use
        # (marts.instruments): PCL-5's "below 33" is drawn at 32.5
        remission_line = _instrument_value(data, "remission_line")
        if remission_line is not None:
            fig.add_hline(y=remission_line, line=dict(color=theme.OKABE_ITO["green"], dash="dot", width=1.5),
                          annotation_text="remission threshold", annotation_position="bottom left",
                          annotation_font=dict(size=11, color=theme.OKABE_ITO["green"]))
        top = max(float(data["mean_score"].max()), float(band["ci_high"].max()) if not band.empty else 0) * 1.08
        score_max = _instrument_value(data, "score_max")
        fig.update_yaxes(title=dict(text=f"{name} score"), range=[0, top if score_max is None else min(top, score_max)])
    baseline = data.loc[data["session_number"] == 0, count]
    if 0 in hidden:  # not the largest session's n either: that is not the courses with a baseline
        sub = subtitle_text(f"courses with a baseline {NOT_SHOWN}", ctx)
    else:
        n = int(baseline.iloc[0]) if not baseline.empty else int(data[count].max())
        sub = subtitle_text(n_label(n, "courses with a baseline"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=420)


def early_signal(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Mean change from baseline to the first score within 72 h after infusion 2 (early_signal)."""
    title = title_text("Early signal: change after the second infusion", ctx)
    foot = footnote_text(
        "Change from baseline to the first score within 72 h after session 2 starts. Bars: mean change as a share "
        "of baseline; labels: mean change in points with its 95% interval (Student's t) and the median. Pale bars: "
        "a single course, no interval.",
        "Outcomes › Early signal")
    # An instrument an export hides (1-10 courses) keeps its row, marked "not shown", so the chart does
    # not read as if nobody was scored on it; the n then says it counts the instruments shown.
    data = df[(df["courses"] > 0) | df["courses"].isna()] if not df.empty else df
    if data.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "courses"), ctx), footnote=foot,
                     message=no_data("course with a score after infusion 2"))
    data = _instrument_order(data)
    y = [f"{labels.instrument(i)}  ({_n_text(n)})" for i, n in zip(data["instrument"], data["courses"], strict=True)]
    text = []
    for mean, lo, hi, med in zip(data["mean_change"], data["ci_low"], data["ci_high"], data["median_change"], strict=True):
        if not known(mean):
            text.append(NOT_SHOWN)
            continue
        ci = f" (95% CI {fmt.signed(lo, 1)} to {fmt.signed(hi, 1)})" if pd.notna(lo) else " (one course: no interval)"
        text.append(f"{fmt.signed(mean, 1)} points{ci}, median {fmt.signed(med, 1)}")
    # A mean without an interval (a single course) is drawn pale, so a long bar over one patient is
    # not read like the others.
    colours = [theme.OKABE_ITO["sky"] if pd.notna(lo) else theme.translucent(theme.OKABE_ITO["sky"], 0.3)
               for lo in data["ci_low"]]
    fig = go.Figure(go.Bar(
        x=data["mean_change_fraction"].fillna(0), y=y, orientation="h", marker_color=colours,
        marker_line=dict(color=theme.OKABE_ITO["sky"], width=1),
        customdata=[f"{fmt.pct(f, 0)} of baseline<br>{t}" if known(f) else t
                    for f, t in zip(data["mean_change_fraction"], text, strict=True)],
        hovertemplate="%{y}<br>%{customdata}<extra></extra>",
    ))
    for label, value in zip(y, text, strict=True):
        fig.add_annotation(x=0, y=label, text=value, xanchor="left", xshift=8, showarrow=False,
                           font=dict(size=11, color=theme.INK))
    # The axis follows the means that have an interval: MADRS over one course (-75%) squeezed every other bar
    # into the right half. A longer single-course bar is cut at the axis's edge (its label keeps the number).
    measured = data[data["ci_low"].notna()]
    basis = measured if not measured.empty else data[data["mean_change_fraction"].notna()]
    low = float(min(basis["mean_change_fraction"].min(), 0)) if not basis.empty else 0.0
    low = min(low * 1.1, -0.2)
    if (data["mean_change_fraction"] < low).any():
        foot = foot.replace("a single course, no interval.",
                            "a single course, no interval; one longer than the others is cut at the axis's edge.", 1)
    percent_axis(fig, "x", (low, -low * 1.5), "Mean change as a share of baseline")
    step = 0.25 if low <= -0.75 else 0.1  # at least three ticks on a short axis (not -25% and 0% alone)
    fig.update_xaxes(tickvals=[-k * step for k in range(int(1.0 / step), -1, -1) if -k * step >= low])
    fig.add_vline(x=0, line=dict(color=theme.MUTED, width=1))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    sub = subtitle_text(shown_n_label(data["courses"], "course-instrument pairs", "instruments"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 56))


def induction_funnel(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """Share of courses reaching each induction session, per modality family (induction_funnel)."""
    title = title_text("Induction completion: courses reaching each session", ctx)
    foot = footnote_text(
        "Courses started in the period reaching session k of induction (6 sessions for ketamine, 8 for esketamine), "
        "as a share of the family's courses whose induction has ended. Courses still in induction (last session "
        "under 14 days before the data's last day) are counted apart, not as stopping.",
        "Courses and phases › Induction completion")
    in_induction = (int(df.groupby("modality_family")["still_in_induction"].max().fillna(0).sum())
                    if not df.empty and "still_in_induction" in df else 0)
    # a family whose count an export hides is not a family with none in induction (Denver, June 2026: "47 still
    # in induction, left out" vanished from the subtitle, as if every course had ended its induction)
    waiting_hidden = (not df.empty and "still_in_induction" in df
                      and bool(df.groupby("modality_family")["still_in_induction"].apply(lambda v: v.isna().all()).any()))
    data = df[df["courses"] > 0] if not df.empty else df
    if data.empty:
        sub = n_label(0, "courses") + (f" · {fmt.count(in_induction)} still in induction" if in_induction else "")
        return empty(title=title, subtitle=subtitle_text(sub, ctx), footnote=foot, message=no_data("course"))
    fig = go.Figure()
    colours = {"ketamine": theme.OKABE_ITO["blue"], "esketamine": theme.OKABE_ITO["vermillion"]}
    # Each family's labels in its colour (above for esketamine, below for ketamine); where both families
    # read the same percentage (100% at session 1, often 71% at 3), it is written once, above, in grey:
    # "100%" above and below the joined points read as two figures for one point.
    shown = data.assign(_label=[fmt.pct(v) for v in data["share_of_courses"]])
    same = shown.groupby("session_number")["_label"].agg(lambda v: len(v) > 1 and v.nunique() == 1)
    courses = 0
    for family, part in data.sort_values("session_number").groupby("modality_family", sort=True):
        n = int(part["courses"].max())
        courses += n
        waiting = part["still_in_induction"].max() if "still_in_induction" in part else 0
        name = f"{labels.modality(family)} (n={fmt.count(n)}"
        name += f"; {fmt.count(waiting)} still in induction)" if pd.notna(waiting) and waiting else ")"
        text = [f"{fmt.pct(s)} ({fmt.count(r)} of {fmt.count(c)})"
                for s, r, c in zip(part["share_of_courses"], part["courses_reaching"], part["courses"], strict=True)]
        fig.add_trace(go.Scatter(
            x=part["session_number"], y=part["share_of_courses"], mode="lines+markers+text",
            name=name, line=dict(color=colours.get(str(family))),
            marker=dict(size=8),
            text=[("" if family != "esketamine" else fmt.pct(v)) if same.get(k, False) else fmt.pct(v)
                  for k, v in zip(part["session_number"], part["share_of_courses"], strict=True)],
            textposition="top center" if family == "esketamine" else "bottom center",
            textfont=dict(size=10, color=[theme.MUTED if same.get(k, False) else colours.get(str(family), theme.INK)
                                          for k in part["session_number"]]),
            customdata=text, hovertemplate="Session %{x}: %{customdata}<extra></extra>",
        ))
    percent_axis(fig, "y", (0, 1.08), "Share of courses")
    fig.update_xaxes(title=dict(text="Induction session"), dtick=1)
    sub = n_label(courses, "courses past induction")
    if waiting_hidden:
        sub += (f" · {fmt.count(in_induction)} still in induction in the families shown, the others' {NOT_SHOWN}"
                if in_induction else f" · still in induction, left out: {NOT_SHOWN}")
    elif in_induction:
        sub += f" · {fmt.count(in_induction)} still in induction, left out"
    return frame(fig, title=title, subtitle=subtitle_text(sub, ctx), footnote=foot, height=400)


COMPLETION_DEF = ("Induction completion: courses reaching session 6 (esketamine: 8) / courses whose induction has "
                  "ended, completed or stopped. Courses still in induction (last session under 14 days before the "
                  "data's last day) are left out, not counted as stopping. Wilson 95% intervals.")


def completion_by_group(df: pd.DataFrame, ctx: ChartContext, breakdown: str = "indication") -> go.Figure:
    """Induction completion by a breakdown of the courses (course_counts with that breakdown): who stops before
    completing induction. One dot and Wilson interval per group, listed by name; a group of fewer than
    FEW_COURSES courses whose induction ended is drawn open. Clinics are compared on the funnel plot instead
    (against the network's limits), so the page offers no clinic breakdown here."""
    group = GROUP_LABELS.get(breakdown, breakdown)
    title = title_text(f"Induction completion by {group}", ctx)
    foot = footnote_text(COMPLETION_DEF + " Groups are in alphabetical order, not ranked.",
                         "Courses and phases › Induction completion")
    data = df[(df["induction_ended"] > 0) | df["induction_ended"].isna()] if not df.empty else df
    if data.empty:
        waiting = int(df["still_in_induction"].fillna(0).sum()) if not df.empty else 0
        sub = n_label(0, "courses whose induction ended") + (
            f" · {fmt.count(waiting)} still in induction" if waiting else "")
        return empty(title=title, subtitle=subtitle_text(sub, ctx), footnote=foot,
                     message=no_data("course whose induction ended"))
    data = labels.named_groups(data, breakdown)
    data = data.assign(_row=range(len(data)),
                       _label=[f"{n}  ({_n_text(e)})" for n, e in zip(data["_name"], data["induction_ended"], strict=True)])
    names, rows = list(data["_label"]), list(data["_row"])
    few = data["induction_ended"] < FEW_COURSES
    colour = theme.OKABE_ITO["blue"]
    fig = go.Figure()
    for small in (False, True):
        part = data[few == small]
        if part.empty:
            continue
        rate, low, high = (part["induction_completion_rate"], part["induction_completion_ci_low"],
                           part["induction_completion_ci_high"])
        text = [f"{label}<br>Completed induction: {fmt.pct_ci(r, lo, hi, n)}"
                for label, r, lo, hi, n in zip(part["_label"], rate, low, high, part["induction_ended"], strict=True)]
        fig.add_trace(go.Scatter(
            x=rate, y=part["_row"], mode="markers",
            name=f"Completed induction, n < {FEW_COURSES}" if small else "Completed induction",
            marker=dict(size=10, color=colour, symbol="circle-open" if small else "circle",
                        line=dict(width=1.5, color=colour)),
            error_x=dict(type="data", symmetric=False, array=(high - rate), arrayminus=(rate - low), color=colour,
                         thickness=1 if small else 2, width=4),
            customdata=text, hovertemplate="%{customdata}<extra></extra>",
            showlegend=not small or bool((~few).sum() == 0)))
    # a group whose rate an export hides keeps its row, marked: gone from the axis, it read as no such group
    hidden = [row for row, rate in zip(data["_row"], data["induction_completion_rate"], strict=True) if not known(rate)]
    if hidden:
        fig.add_trace(go.Scatter(x=[0.01] * len(hidden), y=hidden, mode="text", text=[NOT_SHOWN] * len(hidden),
                                 textposition="middle right", textfont=dict(size=11, color=theme.MUTED),
                                 showlegend=False, hoverinfo="skip"))
    fig.update_yaxes(tickvals=rows, ticktext=names, range=[len(names) - 0.5, -0.5], showgrid=False, title=None,
                     zeroline=False)
    percent_axis(fig, "x", (0, 1), "Share of courses whose induction ended")
    if few.any():
        foot = foot.replace(" Definition:", f" Open points: fewer than {FEW_COURSES} courses whose induction ended. "
                            "Definition:", 1)
    # a count an export hides is not a zero: say it is not shown rather than drop the words
    waiting = data["still_in_induction"]
    if waiting.isna().all():
        extra = f"still in induction, left out: {NOT_SHOWN}"
    elif waiting.sum() > 0:
        where = f" in the {_plural(breakdown)} shown" if waiting.isna().any() else ""
        extra = f"{fmt.count(waiting.sum())} still in induction{where}, left out"
    else:
        extra = None
    sub = subtitle_text(shown_n_label(data["induction_ended"], "courses whose induction ended", _plural(breakdown)),
                        ctx, extra)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=rows_height(len(data), 30))


MEASURE_NAMES = {
    "response": "response rate",
    "remission": "remission rate",
    "induction_completion": "induction completion",
    "side_effect": "side-effect rate",
    "severe_side_effect": "severe side-effect rate",
    "bp_elevation": "BP elevation rate",
    "rems_complete": "REMS completeness",
}
MEASURE_UNITS = {
    "response": "evaluable courses", "remission": "evaluable courses", "induction_completion": "courses past induction",
    "side_effect": "treated sessions", "severe_side_effect": "treated sessions", "bp_elevation": "sessions with vitals",
    "rems_complete": "esketamine sessions",
}


ONE_CLINIC = ("Only {name} has {unit} in this selection: {rate} ({events} of {n}).<br>"
              "A funnel plot compares clinics with each other: choose more clinics or widen the period.")
FEW_TO_COMPARE = ("Too few {unit} to compare clinics: {some}.<br>"
                  "A funnel plot is drawn when at least two clinics have {minimum} or more each.<br>"
                  "Widen the period, or choose more clinics, modalities or indications.")
FUNNEL_MIN_N = FEW_COURSES  # a funnel needs two clinics with at least this n (the product's small-n line)
FUNNEL_MIN_SPAN = 0.10  # the shortest rate axis of a funnel plot
RARE_RATE = 0.10  # a network rate below this is a rare event: the rate axis follows the control limits
RARE_MIN_SPAN = 0.02  # ... and spans at least 2 points
LEGEND_ROW = 22  # px: one more row of the legend above the plot
FUNNEL_STATUS = {  # a clinic's place against the limits: legend name, colour, hover
    "within": ("Clinic", theme.ACCENT, "within limits"),
    "95": ("Outside 95%: may be chance", theme.OKABE_ITO["orange"], "outside 95% limits: may be chance"),
    "998": ("Outside 99.8%: unlikely to be chance", theme.OKABE_ITO["vermillion"],
            "outside 99.8% limits: unlikely to be chance"),
    # an export whose network rate is hidden (with it the limits and every clinic's place against them)
    "unknown": ("Clinic (network rate not shown)", theme.MUTED, "not compared: the network rate is not shown"),
}


def _whole_network(clinic: pd.Series) -> bool:
    """The clinic holds every case of the pooled network (a hidden network n is not assumed equal)."""
    return "network_n" not in clinic or (known(clinic["network_n"]) and clinic["n"] == clinic["network_n"])


def clinic_funnel(data: dict[str, pd.DataFrame], ctx: ChartContext, measure: str = "response",
                  instrument: str = "PHQ9") -> go.Figure:
    """Clinics compared on a funnel plot: each clinic's rate against its n, with the network rate and
    exact binomial 95% and 99.8% control limits (clinic_comparison + funnel_limits)."""
    what = MEASURE_NAMES.get(measure, measure)
    if measure in ("response", "remission"):
        what = f"{labels.instrument(instrument)} {what}"
    title = title_text(f"Clinics compared: {what}", ctx)
    foot = footnote_text(
        "Each dot is a clinic: its rate against its n. Lines: the network rate (every clinic you can see pooled, "
        "whichever clinics are shown) and exact binomial control limits around it. Outside the 95% limits (orange): may be chance, as about 1 clinic in 20 "
        "is with no real difference. Outside the 99.8% limits (red): unlikely to be chance. Small clinics sit wide by "
        "nature: read position against the funnel, not rank.",
        "Clinic comparison (funnel plots)")
    clinics = data.get("clinics", pd.DataFrame())
    limits = data.get("limits", pd.DataFrame())
    unit = MEASURE_UNITS.get(measure, "cases")
    # Clinics of the selection with no case at all (n = 0; never a count hidden by suppression, which is
    # NaN): named in the footnote, not silently missing ("6 clinics" of "all 8").
    absent = sorted(str(c) for c in clinics.loc[clinics["n"] == 0, "clinic_name"]) if not clinics.empty else []
    # figures hidden by suppression (NaN n or rate of a clinic with cases)
    hidden = not clinics.empty and bool((clinics["rate"].isna() & (clinics["n"] != 0)).any())
    clinics = clinics[clinics["n"] > 0] if not clinics.empty else clinics
    without = ""
    if absent and not clinics.empty:
        foot = foot.replace(" Definition:", f" Not shown, with no {singular(unit)} in this selection: "
                            f"{', '.join(absent)}. Definition:", 1)
        without = f"{len(absent)} more with no {singular(unit)}, named below"
    # clinics of FUNNEL_MIN_N or more whose rate an export hides (their n shown): "too few sessions, only New York
    # has 30 or more" was false beside Oklahoma City's 967 (an audit, BP elevation, January 2026)
    masked_large = (clinics[clinics["rate"].isna() & (clinics["n"] >= FUNNEL_MIN_N)] if not clinics.empty
                    else clinics)
    if not clinics.empty and clinics["rate"].isna().any():  # suppressed (dashboard.suppression)
        clinics = clinics[clinics["rate"].notna()]
        if clinics.empty:  # "too few sessions with vitals" read wrong beside 371 of them: the events are few
            return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot, message=ALL_HIDDEN)
        clinics = clinics.assign(outside_95=clinics["outside_95"].astype(bool), outside_998=clinics["outside_998"].astype(bool))
    if clinics.empty or limits.empty:
        return empty(title=title, subtitle=subtitle_text(n_label(0, unit), ctx), footnote=foot, message=no_data(singular(unit)))
    if len(clinics) == 1 and _whole_network(clinics.iloc[0]):
        # One clinic is its own network rate: a funnel of one dot on its own line compares nothing.
        only = clinics.iloc[0]
        return empty(title=title, subtitle=subtitle_text(n_label(total(clinics, "n"), unit), ctx,
                                                         "; ".join(p for p in ("1 clinic", without) if p)),
                     footnote=foot, message=ONE_CLINIC.format(
                         name=only["clinic_name"], unit=unit, rate=fmt.pct(only["rate"], 1),
                         events=fmt.count(only["events"]), n=fmt.count(only["n"])))
    large = clinics[clinics["n"] >= FUNNEL_MIN_N]
    # The network pools every clinic the viewer can see, shown or not (queries.clinic_comparison): one clinic
    # chosen on its own is compared with the others, when they hold FUNNEL_MIN_N cases or more between them
    # (not in an export whose other clinics' figures are hidden: it says so instead, as before)
    network_n = clinics["network_n"].iloc[0] if "network_n" in clinics else None
    others = float(network_n) - float(clinics["n"].sum()) if known(network_n) and not hidden else 0.0
    if len(large) < 2 and not (len(large) == 1 and others >= FUNNEL_MIN_N):
        # IM ketamine + PTSD, 8 clinics, Q3 2026: a funnel of 12 courses, clinics at n = 1-4 on 0-100% limits,
        # two dots on one spot at 100%. Fewer than two clinics of FUNNEL_MIN_N or more compare nothing
        # (the one of them is nearly the whole network); a sentence says so. A clinic shown alone because
        # the others' small counts are hidden (an export) is such a case too.
        network = clinics["network_n"].iloc[0] if "network_n" in clinics else total(clinics, "n")
        n_text = n_label(network, unit) if known(network) else None
        count = f"{len(clinics)} clinic" if len(clinics) == 1 else f"{len(clinics)} clinics"
        some = (f"{fmt.count(network)} in all " if known(network) else "") + (
            f"and no clinic has {FUNNEL_MIN_N} or more" if large.empty
            else f"but only {large['clinic_name'].iloc[0]} has {FUNNEL_MIN_N} or more")
        message = FEW_TO_COMPARE.format(unit=unit, some=some, minimum=FUNNEL_MIN_N)
        if not masked_large.empty:  # not too few: enough of them, with their rates hidden
            names = ", ".join(f"{name} (n = {fmt.count(n)})" for name, n in zip(masked_large["clinic_name"],
                                                                                   masked_large["n"], strict=True))
            message = (f"No funnel to draw: the rates of {names} are not shown (small counts: cell-size rule), "
                       f"and a funnel plot needs at least two clinics with {FUNNEL_MIN_N} or more {unit} shown.<br>"
                       "Widen the period, or choose more clinics, modalities or indications.")
        elif hidden:  # the others are there, with figures hidden: say so (base.all_hidden keeps this sentence)
            message = message.replace(".<br>", "; the other clinics' figures are hidden (cell-size rule).<br>", 1)
        return empty(title=title, subtitle=subtitle_text(n_text, ctx, "; ".join(p for p in (count, without) if p)),
                     footnote=foot, message=message)
    # An export may hide the network rate (a small count of clinics' non-events across the network), and with
    # it the limits and whether a clinic lies outside them: those flags are then NaN, which read as true drew
    # every clinic red, "3 outside the 99.8% limits", beside no line at all. The dots stay, compared with nothing.
    compared = known(clinics["network_rate"].iloc[0])
    p = float(clinics["network_rate"].iloc[0]) if compared else float("nan")
    fig = go.Figure()
    lim = limits.sort_values("n") if compared else limits.iloc[0:0]
    for level, dash, colour in (("998", "solid", theme.OKABE_ITO["vermillion"]), ("95", "dash", theme.OKABE_ITO["orange"])):
        if not compared:
            break
        name = "99.8% limits" if level == "998" else "95% limits"
        fig.add_trace(go.Scatter(x=lim["n"], y=lim[f"upper_{level}"], mode="lines", name=name, legendgroup=level,
                                 line=dict(color=colour, dash=dash, width=1.4, shape="spline", smoothing=0.6),
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=lim["n"], y=lim[f"lower_{level}"], mode="lines", name=name, legendgroup=level,
                                 showlegend=False, line=dict(color=colour, dash=dash, width=1.4, shape="spline", smoothing=0.6),
                                 hoverinfo="skip"))
    if compared:
        fig.add_hline(y=p, line=dict(color=theme.MUTED, width=1.5),
                      annotation_text=f"network {fmt.pct(p, 1)}", annotation_position="top left",
                      annotation_font=dict(size=11, color=theme.MUTED))
    # One trace per status, so the legend says what a colour means: orange (outside 95%) was explained
    # only on hover, and read as "the problem clinic" although one clinic in 20 sits there by chance.
    status = pd.Series(["unknown" if not compared else "998" if o998 else ("95" if o95 else "within")
                        for o95, o998 in zip(clinics["outside_95"], clinics["outside_998"], strict=True)], index=clinics.index)
    for key, (name, colour, hover) in FUNNEL_STATUS.items():
        part = clinics[status == key]
        if part.empty:
            continue
        text = [f"{c}<br>{fmt.pct(r, 1)} ({fmt.count(e)} of {fmt.count(n)})<br>{hover}"
                for c, r, e, n in zip(part["clinic_name"], part["rate"], part["events"], part["n"], strict=True)]
        fig.add_trace(go.Scatter(
            x=part["n"], y=part["rate"], mode="markers", name=name,
            marker=dict(size=11, color=colour, line=dict(color="white", width=1)),
            customdata=text, hovertemplate="%{customdata}<extra></extra>",
        ))
    n_min, n_max = float(clinics["n"].min()), float(clinics["n"].max())
    x_range = (n_min * 0.6, n_max * 1.06 + 1)
    few = len(clinics) <= 12
    relevant = lim[lim["n"] >= clinics["n"].min()]
    if relevant.empty:
        relevant = lim
    low = min([float(clinics["rate"].min())] + ([float(relevant["lower_998"].min())] if compared else []))
    high = max([float(clinics["rate"].max())] + ([float(relevant["upper_998"].max())] if compared else []))
    # A rare event (BP elevation about 1%, a severe side effect) is read against limits a few tenths of a
    # point wide: 3 points of margin and a 10-point axis squeezed them into the plot's bottom fifth, where
    # 1% and 2% lay a few pixels apart. Below RARE_RATE the axis follows the limits.
    rare = compared and p < RARE_RATE
    pad = max(0.002, 0.15 * (high - low)) if rare else 0.03
    span = RARE_MIN_SPAN if rare else FUNNEL_MIN_SPAN
    lo, hi = max(0.0, low - pad), min(1.0, high + pad)
    if hi - lo < span:  # e.g. every clinic at 100%: whole-percent ticks would repeat (100%, 100%, 99%)
        lo, hi = (max(0.0, hi - span), hi) if hi >= 1.0 else (lo, min(1.0, lo + span))
    percent_axis(fig, "y", (lo, hi), what[0].upper() + what[1:])
    if few:
        # Each name beside its dot, where it runs into no other name (label_layout); a name moved a line
        # or more away gets a thin leader line to its dot. Eight clinics of similar size wrote their
        # names over each other ('Salt Lake City Mood & WellnessKetamine Institute, New York').
        points = [(float(n), float(r), str(name)) for n, r, name in zip(clinics["n"], clinics["rate"], clinics["clinic_name"], strict=True)]
        y_range = tuple(fig.layout.yaxis.range or (lo, hi))  # as drawn, after percent_axis
        for (n, r, name), placement in zip(points, place_labels(points, x_range, y_range), strict=True):
            fig.add_annotation(x=n, y=r, text=name, **placement.as_kwargs(theme.MUTED),
                               bgcolor="rgba(255,255,255,0.75)",  # readable where a limit line crosses it
                               font=dict(size=10, color=theme.MUTED))
    # (two clinics of FUNNEL_MIN_N or more: the n axis is never short enough for ticks at 0.6, 0.8, 1.2)
    fig.update_xaxes(title=dict(text=f"n ({unit})"), tickformat=",", range=list(x_range))
    outside = int((status == "998").sum())
    chance = int((status == "95").sum())
    count = f"{len(clinics)} clinic" if len(clinics) == 1 else f"{len(clinics)} clinics"
    extra = f"{count}, {outside} outside the 99.8% limits" if compared else \
        f"{count}, the network rate and limits not shown (small counts)"
    if chance:
        extra += f", {chance} outside 95% only (may be chance)"
    extra += "" if few else " (hover for names)"
    if without:
        extra += f"; {without}"
    sub = subtitle_text(n_label(total(clinics, "n"), unit), ctx, extra)
    frame(fig, title=title, subtitle=sub, footnote=foot, height=460)
    if chance and outside:
        # Five legend entries wrap to a second row at a board pack's width (704 px), which grows up over the
        # subtitle: a row's room above the plot.
        fig.update_layout(margin=dict(t=theme.TOP_MARGIN + LEGEND_ROW), height=fig.layout.height + LEGEND_ROW)
    return fig


def item9_flags(df: pd.DataFrame, ctx: ChartContext) -> go.Figure:
    """PHQ-9 item 9 (thoughts of self-harm) flags at baseline and follow-up, and how they changed."""
    title = title_text("PHQ-9 item 9 (self-harm thoughts) flags", ctx)
    foot = footnote_text(
        "A flag is an item-9 answer above 0. Rates are over courses with item 9 recorded at that point. Resolved: "
        "flagged at baseline, not at follow-up; emerged: the reverse; persisted: flagged at both.",
        "Outcomes › PHQ-9 item-9 flag")
    row = df.iloc[0] if not df.empty else None
    if row is not None and not (known(row["courses_with_baseline_item9"]) and known(row["courses_with_follow_up_item9"])):
        return empty(title=title, subtitle=subtitle_text(None, ctx), footnote=foot,
                     message=hidden_data("courses with a PHQ-9 item-9 answer"))
    if row is None or int(row["courses_with_baseline_item9"]) + int(row["courses_with_follow_up_item9"]) == 0:
        return empty(title=title, subtitle=subtitle_text(n_label(0, "courses with item 9"), ctx), footnote=foot,
                     message=no_data("PHQ-9 item-9 answer"))
    fig = go.Figure()
    names = [f"Baseline (n={fmt.count(row['courses_with_baseline_item9'])})",
             f"Follow-up (n={fmt.count(row['courses_with_follow_up_item9'])})"]
    rates = [row["baseline_flag_rate"], row["follow_up_flag_rate"]]
    flagged = [row["flagged_at_baseline"], row["flagged_at_follow_up"]]
    # A rate an export hides stands at 0 with "not shown" on it: an empty column beside "31% (21)" read as no
    # self-harm thoughts at follow-up (an audit, Denver, June 2026).
    fig.add_trace(go.Bar(
        x=names, y=[r if known(r) else 0 for r in rates],
        marker_color=[theme.OKABE_ITO["vermillion"], theme.OKABE_ITO["orange"]],
        text=[f"{fmt.pct(r)} ({fmt.count(f)})" if known(r) else NOT_SHOWN for r, f in zip(rates, flagged, strict=True)],
        textposition="outside",
        cliponaxis=False, showlegend=False, hovertemplate="%{x}: %{text}<extra></extra>", xaxis="x", yaxis="y",
    ))
    transitions = ["Resolved", "Emerged", "Persisted"]
    counts = [row["resolved"], row["emerged"], row["persisted"]]
    shown = [known(c) for c in counts]
    fig.add_trace(go.Bar(
        # Persisted (flagged at both) is the group a clinician follows up first: the darkest warm colour,
        # never the neutral grey that reads as "nothing to see".
        x=transitions, y=[c if k else 0 for c, k in zip(counts, shown, strict=True)],
        marker_color=[theme.OKABE_ITO["green"], theme.OKABE_ITO["vermillion"], theme.PERSISTING_RISK],
        # an export hides small counts: the bar says so rather than standing at 0
        text=[fmt.count(c) if k else "not shown" for c, k in zip(counts, shown, strict=True)],
        textposition="outside", cliponaxis=False, showlegend=False,
        hovertemplate="%{x}: %{text} courses<extra></extra>", xaxis="x2", yaxis="y2",
    ))
    both = row["courses_with_both"]
    fig.update_layout(
        xaxis=dict(domain=[0, 0.44]), xaxis2=dict(domain=[0.56, 1], anchor="y2"),
        yaxis=dict(tickformat=PERCENT_TICKS, title=dict(text="Share of courses flagged"), rangemode="tozero"),
        yaxis2=dict(anchor="x2", title=dict(text=f"Courses with both (n={fmt.count(both)})" if known(both)
                                            else "Courses with both"),
                    tickformat=",", rangemode="tozero"),
    )
    if not any(shown):  # the whole panel hidden: one sentence instead of an empty axis marked "n=—"
        fig.update_layout(yaxis2=dict(showticklabels=False, range=[0, 1]))
        fig.update_traces(text=None, selector=dict(xaxis="x2"))
        fig.add_annotation(x=0.5, y=0.5, xref="x2 domain", yref="y2 domain", showarrow=False, name="hidden",
                           text="Changes not shown:<br>small counts (cell-size rule)",
                           font=dict(size=12, color=theme.MUTED))
    ymax = max(float(r) for r in rates if pd.notna(r)) if any(pd.notna(r) for r in rates) else 1
    fig.update_yaxes(range=[0, min(1, ymax * 1.25 + 0.02)], selector=dict(anchor="x"))
    sub = subtitle_text(n_label(row["courses_with_baseline_item9"], "courses with a baseline item 9"), ctx)
    return frame(fig, title=title, subtitle=sub, footnote=foot, height=380)

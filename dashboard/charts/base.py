"""What every chart shares: the context line, the title/subtitle/footnote frame and the empty state."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import theme

ChartData = pd.DataFrame | dict[str, pd.DataFrame]

DOCS = "docs/metrics.md"


@dataclass(frozen=True)
class ChartContext:
    """What the figure is about, for its title and subtitle: the period ("1 Apr – 30 Jun 2026") and a
    short description of the selection ("3 clinics · IV ketamine")."""

    period: str = "all data"
    selection: str = "all clinics"


def title_text(what: str, ctx: ChartContext) -> str:
    return f"{what}, {ctx.period}"


def subtitle_text(n_text: str | None, ctx: ChartContext, extra: str | None = None) -> str:
    if extra and ctx.selection and re.match(r"\d+ clinics?\b", extra) and \
            ctx.selection.endswith(extra.split(",")[0].split(":")[0]):
        # "all 3 clinics · 3 clinics, 0 outside ...": the selection already counts the clinics drawn
        extra = extra[len(extra.split(",")[0].split(":")[0]):].lstrip(",: ") or None
    parts = [p for p in (n_text, ctx.selection, extra) if p]
    return " · ".join(parts)


def footnote_text(definition: str, section: str) -> str:
    return f"{definition} Definition: {DOCS} › {section}."


def _wrap(text: str, width: int = 125) -> str:
    """Plotly does not wrap annotations: break long footnotes into lines."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "<br>".join(lines)


def frame(fig: go.Figure, *, title: str, subtitle: str, footnote: str, height: int = 420,
          ctx: ChartContext | None = None) -> go.Figure:
    """Apply the template and the title / subtitle / footnote frame. Returns the same figure."""
    foot = _wrap(footnote)
    lines = foot.count("<br>") + 1
    bottom = theme.BOTTOM_MARGIN + 14 * (lines - 1)
    fig.update_layout(
        template=theme.register(),
        title=dict(text=title, subtitle=dict(text=subtitle)),
        height=height,
        margin=dict(b=bottom),
        meta=dict(title=title, subtitle=subtitle, footnote=footnote),
    )
    fig.add_annotation(
        text=foot, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
        yshift=-(bottom - 14 * lines - 6), showarrow=False, align="left",
        font=dict(size=theme.FOOTNOTE_FONT_SIZE, color=theme.MUTED), name="footnote",
    )
    return fig


def add_footnote(fig: go.Figure, text: str) -> go.Figure:
    """Append a sentence to the figure's footnote (e.g. the suppression note): meta, the footnote line
    and the bottom margin. Returns the same figure."""
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    footnote = f"{meta.get('footnote', '')} {text}".strip()
    before = _wrap(str(meta.get("footnote", ""))).count("<br>") + 1
    meta["footnote"] = footnote
    foot = _wrap(footnote)
    lines = foot.count("<br>") + 1
    bottom = theme.BOTTOM_MARGIN + 14 * (lines - 1)
    fig.update_layout(meta=meta, margin=dict(b=bottom))
    if fig.layout.height:
        fig.update_layout(height=fig.layout.height + 14 * max(0, lines - before))
    for ann in fig.layout.annotations:
        if ann.name == "footnote":
            ann.update(text=foot, yshift=-(bottom - 14 * lines - 6))
    return fig


def empty(*, title: str, subtitle: str, footnote: str, message: str, height: int = 320) -> go.Figure:
    """The explained empty state: the chart's frame with a sentence where the data would be."""
    fig = go.Figure()
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(
        text=message, xref="paper", yref="paper", x=0.5, y=0.55, showarrow=False,
        font=dict(size=14, color=theme.MUTED), align="center",
    )
    frame(fig, title=title, subtitle=subtitle, footnote=footnote, height=height)
    fig.update_layout(meta=dict(title=title, subtitle=subtitle, footnote=footnote, empty=True, message=message))
    return fig


def is_empty(fig: go.Figure) -> bool:
    meta = fig.layout.meta
    return bool(isinstance(meta, dict) and meta.get("empty"))


NO_DATA = "No {what} for this selection.<br>Widen the period, or choose more {choices}."
ALL_FILTERS = "clinics, modalities or indications"


def no_data(what: str, choices: str = ALL_FILTERS) -> str:
    """The empty state's sentence. `choices`: the filters that can bring data back (chair charts take
    clinics only; suggesting more modalities there would send the reader to a filter that changes nothing)."""
    return NO_DATA.format(what=what, choices=choices)


def singular(noun: str) -> str:
    """'sessions with vitals' -> 'session with vitals', 'evaluable courses' -> 'evaluable course': the first
    plural word only (stripping the last 's' wrote 'No sessions with vital for this selection')."""
    words = noun.split(" ")
    for i, word in enumerate(words):
        if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
            words[i] = word[:-1]
            break
    return " ".join(words)


HIDDEN = ("Too few {what} to show: small counts are not shown (cell-size rule).<br>"
          "Widen the period, or choose more clinics, modalities or indications.")


def hidden_data(what: str) -> str:
    """The empty state when the figures exist but suppression hides them (dashboard.suppression)."""
    return HIDDEN.format(what=what)


ALL_HIDDEN = ("Nothing to show: every figure here is a small count or would reveal one (cell-size rule).<br>"
              "Widen the period, or choose more clinics, modalities or indications.")


def all_hidden(fig: go.Figure, ctx: ChartContext) -> go.Figure:
    """The empty state of a chart whose data exists but is hidden whole by suppression, in place of the
    builder's "No ... for this selection" and "n = 0" (which would be false): same title, footnote, height.
    A builder that says so itself (hidden_data) keeps its own words."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    if "cell-size rule" in str(meta.get("message", "")):
        return fig
    footnote = str(meta.get("footnote", ""))
    return empty(title=str(meta.get("title", "")), subtitle=subtitle_text(None, ctx), footnote=footnote,
                 message=ALL_HIDDEN, height=int(fig.layout.height or 320))


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def draws_a_value(fig: go.Figure) -> bool:
    """Whether any trace puts a value on the chart: a bar, point or line with both coordinates, or a
    heatmap cell. Text-only traces ("n not shown" written on a row) and traces whose values are all
    missing do not: after suppression a chart can keep its rows, marked, and no dot on any of them."""
    for trace in fig.data:
        if trace.type == "heatmap":
            z = trace.z if trace.z is not None else ()
            if any(_given(v) for row in z for v in (row if isinstance(row, (list, tuple)) else [row])):
                return True
        elif getattr(trace, "mode", None) != "text" and trace.x is not None and trace.y is not None:
            if any(_given(x) and _given(y) for x, y in zip(trace.x, trace.y)):
                return True
    return False


NOT_SHOWN = "not shown (small counts)"
SPLIT_NOT_SHOWN = "Split not shown (small counts)"


def not_shown_marker() -> dict:
    """A neutral, hatched bar segment: the part of a shown total whose split suppression hides, so a
    stacked bar still reads as its total (a month of 800 courses drew as its 365 completed)."""
    return dict(color="white", line=dict(color=theme.MUTED, width=1), pattern=dict(shape="x", fgcolor="#B8BFC9", size=6))


def mark_not_shown(fig: go.Figure, rows, text: str = NOT_SHOWN) -> None:
    """Write "not shown (small counts)" at the start of each row of a horizontal chart whose value suppression
    hides: the row keeps its place, and reads neither as a zero nor as an absence. An annotation, so it
    draws no value (draws_a_value), has no hover and leaves the axis alone."""
    for y in rows:
        fig.add_annotation(x=0, y=y, xref="x", yref="y", text=text, showarrow=False, xanchor="left",
                           font=dict(size=11, color=theme.MUTED), name="hidden")


def known(value: object) -> bool:
    """A figure that is shown (not None / NaN, e.g. not masked by suppression)."""
    return value is not None and not pd.isna(value)


def total(df: pd.DataFrame, column: str) -> int:
    """A count shown in a subtitle (a sum of counts the macro returned, never a rate)."""
    if df is None or df.empty or column not in df:
        return 0
    return int(pd.to_numeric(df[column], errors="coerce").fillna(0).sum())


def n_label(n: object, noun: str) -> str:
    """'n = 1,234 treated sessions'; one of a thing is singular ('n = 1 open day', not '1 open days')."""
    try:
        one = float(n) == 1  # type: ignore[arg-type]
    except (TypeError, ValueError):
        one = False
    return f"n = {fmt.count(n)} {singular(noun) if one else noun}"


def shown_n_label(values: pd.Series, noun: str, where: str, n: object = None) -> str:
    """n_label of the figures a chart shows; when the cell-size rule hides some of them, the sum is of the
    figures shown and says so ('n = 241 treated sessions in the clinics shown'), so it is not read as the
    period's total beside another page's n."""
    shown = pd.to_numeric(values, errors="coerce")
    text = n_label(int(round(shown.fillna(0).sum())) if n is None else n, noun)
    return f"{text} in the {where} shown" if shown.isna().any() else text


def ci_hover(rate: object, low: object, high: object, n: object) -> str:
    return fmt.pct_ci(rate, low, high, n)


def rows_height(rows: int, per_row: int = 30, minimum_plot: int = 140, maximum: int = 1600) -> int:
    """Figure height for a chart with one row per category: margins plus room for every row."""
    return min(theme.TOP_MARGIN + theme.BOTTOM_MARGIN + 40 + max(minimum_plot, per_row * rows), maximum)


# Percent ticks: whole percents where the step allows, decimals where it does not ("0.5%", not a second
# "1%" beside the first: a 472-px board-pack chart of 0-4% gets ticks every 0.5%).
PERCENT_TICKS = ".2~%"


def percent_axis(fig: go.Figure, axis: str = "y", range_: tuple[float, float] | None = None, title: str = "") -> None:
    kwargs = dict(tickformat=PERCENT_TICKS, title=dict(text=title))
    if range_ is not None:
        kwargs["range"] = list(range_)
        # A share of 0% or 100% sits on the plot's edge, where Plotly cuts a marker in half (a clinic
        # at 100% on the funnel, a response rate of 1 of 1). Every range here holds the points it
        # is drawn for, so drawing markers unclipped shows them whole and never outside the plot;
        # lines are left clipped (a funnel limit runs past the range on purpose).
        for trace in fig.data:
            if trace.type == "scatter" and "markers" in (trace.mode or ""):
                trace.cliponaxis = False
    if axis == "y":
        fig.update_yaxes(**kwargs)
    else:
        fig.update_xaxes(**kwargs)


def ticks_to_100(low: float, count: int = 6) -> list[float]:
    """Tick values of a share axis from `low` up to 100% at a round step, none past 100%: an axis drawn
    to 1.01 (so a dot at 100% is whole) got a "101%" tick."""
    span = max(1.0 - low, 0.01)
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25) if span / s <= count), 0.25)
    first = -(-round(low * 10000) // round(step * 10000)) * step  # the first step at or above low
    ticks, v = [], first
    while v <= 1.0 + 1e-9:
        ticks.append(round(v, 4))
        v += step
    return ticks


def week_axis(fig: go.Figure, weeks, title: str = "Week starting") -> None:
    """A date axis of weekly points. Plotly zooms a lone date to milliseconds ('23:59:59.9995'): with one
    week, the axis spans a week either side of it and its date is the only tick."""
    fig.update_xaxes(title=dict(text=title))
    days = pd.Series(pd.to_datetime(pd.Series(list(weeks)), errors="coerce")).dropna().unique()
    if len(days) == 1:
        day = pd.Timestamp(days[0])
        fig.update_xaxes(range=[day - pd.Timedelta(days=7), day + pd.Timedelta(days=7)],
                         tickvals=[day], ticktext=[f"{day.day} {day:%b %Y}"])
    elif len(days) > 1:
        # Plotly's own weekly ticks fall on Sundays (its epoch's weekday) while every week starts on a
        # Monday: ticks every k weeks from the first week shown, at most about 12 of them.
        first, last = pd.Timestamp(min(days)), pd.Timestamp(max(days))
        step = max(1, -(-((last - first).days // 7 + 1) // 12))
        fig.update_xaxes(tick0=first, dtick=step * 7 * 86_400_000)

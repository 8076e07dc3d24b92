"""One catalog chart as a file: its figure as PNG / SVG / PDF, its data as CSV, always after
small-cell suppression, always the same catalog figure the app draws (never recomputed).

    data = spec.data(scope, filters, **opts)            # the query layer (the page already ran it)
    export = chart_file(spec, data, ctx, "png", **opts)  # Export(filename, mime, data)
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace

import pandas as pd
import plotly.graph_objects as go

from dashboard import suppression as sup
from dashboard import theme
from dashboard.charts.base import ChartContext, ChartData
from dashboard.exports import render

FORMATS = ("png", "svg", "pdf", "csv")
MIME = {**render.FORMATS, "csv": "text/csv"}


@dataclass(frozen=True)
class Export:
    filename: str
    mime: str
    data: bytes


def suppressed_figure(spec, data: ChartData, ctx: ChartContext, threshold: int | None = None,
                      result: sup.Result | None = None, **opts) -> tuple[sup.Result, go.Figure]:
    """The chart's data after suppression and the catalog figure drawn from it (note in the footnote).
    `result`: spec.suppressed(data, threshold) when the caller has it already (the app's cache of it)."""
    if result is None:
        result = spec.suppressed(data, threshold)
    return result, spec.figure_of(result, ctx, **opts)


def figure_bytes(fig: go.Figure, fmt: str, *, branded: bool = True, width: int | None = None,
                 height: int | None = None, scale: float | None = None) -> bytes:
    """A figure as an image file, with the network's name and logo (theme.with_branding)."""
    out = theme.with_branding(fig) if branded else fig
    return render.to_bytes(out, fmt, width=width, height=height, scale=scale)


def csv_bytes(result: sup.Result, spec=None) -> bytes:
    """The chart's data after suppression as CSV (UTF-8): hidden cells are empty; counts print as
    whole numbers. A chart whose data has several parts gets one file with a leading `part` column."""
    frames = {"": result.data} if isinstance(result.data, pd.DataFrame) else dict(result.data)
    tables = []
    for part, df in frames.items():
        if not isinstance(df, pd.DataFrame):
            continue
        df = df.copy()
        counts = spec.suppression.count_columns(part) if spec is not None and spec.suppression else ()
        for column in df.columns:
            if column in counts or _whole(df[column]):
                df[column] = pd.to_numeric(df[column], errors="coerce").round().astype("Int64")
        if part:
            df.insert(0, "part", part)
        tables.append(df)
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else (tables[0] if tables else pd.DataFrame())
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, na_rep="", date_format="%Y-%m-%d")
    return buffer.getvalue().encode("utf-8")


def _whole(series: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(series):
        return False
    values = series.dropna()
    return not values.empty and bool(((values - values.round()).abs() < 1e-9).all()) and bool((values.abs() < 2**53).all())


def filename(spec, ctx: ChartContext, fmt: str, **opts) -> str:
    """"outcomes-rates_by_group_phq9-clinic_1-apr-30-jun-2026.png"."""
    parts = [spec.id.replace(".", "-")]
    chosen = [_option_text(v) for k, v in sorted(opts.items()) if v is not None and v != spec.defaults.get(k)]
    if chosen:
        parts.append("-".join(chosen))
    parts.append(ctx.period)
    stem = "_".join(parts)
    stem = re.sub(r"[^A-Za-z0-9_]+", "-", stem).strip("-").lower()
    return f"{stem[:120]}.{fmt}"


def _option_text(value) -> str:
    """A chart option as a file name shows it: a planning scenario by its name (not every field it
    holds), several of them joined."""
    if isinstance(value, (tuple, list)):
        return "-".join(_option_text(v) for v in value)
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(value)


def chart_file(spec, data: ChartData, ctx: ChartContext, fmt: str, threshold: int | None = None,
               result: sup.Result | None = None, **opts) -> Export:
    """One chart as a file in `fmt` (png, svg, pdf or csv), suppressed (`result`: the suppressed data when
    the caller has it already, as suppressed_figure takes it)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    result, fig = suppressed_figure(spec, data, ctx, threshold, result, **opts)
    if fmt == "csv":  # the rows the figure draws, after suppression of the whole (a subset of safe rows is safe)
        payload = csv_bytes(replace(result, data=spec.drawn(result.data, **opts)), spec)
    else:
        payload = figure_bytes(fig, fmt)
    return Export(filename(spec, ctx, fmt, **opts), MIME[fmt], payload)


def export_chart(spec, scope, filters, ctx: ChartContext, fmt: str, threshold: int | None = None,
                 **opts) -> Export:
    """Query (scoped) and export in one call: for scripts and tests."""
    return chart_file(spec, spec.data(scope, filters, **opts), ctx, fmt, threshold, **opts)

"""The product's one look: a Plotly template used by every chart in the app and (issue 5) every export.

Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), one sans-serif font
stack, quiet grids, titles left-aligned with a subtitle line, and a footnote line under the plot.
The network's name and logo come from configuration (dashboard.settings).
"""

from __future__ import annotations

import base64
import mimetypes
from functools import lru_cache

import plotly.graph_objects as go
import plotly.io as pio

from dashboard import settings

TEMPLATE_NAME = "clinic_analytics"

# Okabe & Ito (2008), "Color Universal Design": the eight colours, black replaced by a dark grey.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "grey": "#555555",
}
PALETTE = list(OKABE_ITO.values())

INK = "#1F2A37"  # text
MUTED = "#5B6675"  # subtitles, footnotes, axis titles
GRID = "#E6E9EE"
BAND = "rgba(0, 158, 115, 0.12)"  # benchmark band (green, light)
ACCENT = OKABE_ITO["blue"]
# "Source Sans" is the web font the Streamlit page already loads; exports fall back to the next ones.
FONT_FAMILY = "'Source Sans', 'Source Sans 3', 'Source Sans Pro', Inter, 'Segoe UI', 'Helvetica Neue', Arial, sans-serif"

# sequential scale for heatmaps (light to Okabe-Ito blue), readable in greyscale too
SEQUENTIAL = [[0.0, "#F4F8FB"], [0.35, "#A9CCE3"], [0.7, "#3E8DC4"], [1.0, "#003F63"]]

# Severity colours run light to dark so the order survives greyscale printing.
SEVERITY_COLOURS = {"mild": "#F0C75E", "moderate": "#E69F00", "severe": "#B34700"}
PERSISTING_RISK = SEVERITY_COLOURS["severe"]  # a risk flag present at baseline and still at follow-up

FOOTNOTE_FONT_SIZE = 11
TOP_MARGIN = 92
BOTTOM_MARGIN = 96


def translucent(colour: str, alpha: float) -> str:
    """A '#RRGGBB' colour as rgba with the given opacity (a pale version of a palette colour)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _template() -> go.layout.Template:
    axis = dict(
        showgrid=True,
        gridcolor=GRID,
        zeroline=False,
        linecolor="#C9CED6",
        ticks="outside",
        tickcolor="#C9CED6",
        title=dict(font=dict(color=MUTED, size=12)),
        tickfont=dict(color=MUTED, size=11),
        automargin=True,
    )
    return go.layout.Template(
        layout=go.Layout(
            font=dict(family=FONT_FAMILY, size=13, color=INK),
            colorway=PALETTE,
            paper_bgcolor="white",
            plot_bgcolor="white",
            title=dict(
                x=0,
                xref="paper",
                xanchor="left",
                y=0.98,
                yref="container",
                yanchor="top",
                font=dict(size=16, color=INK),
                subtitle=dict(font=dict(size=12, color=MUTED)),
            ),
            margin=dict(l=64, r=24, t=TOP_MARGIN, b=BOTTOM_MARGIN),
            xaxis=axis,
            yaxis=axis,
            legend=dict(
                orientation="h",
                yanchor="bottom",
                y=1.0,
                xanchor="right",
                x=1,
                font=dict(size=11, color=MUTED),
                bgcolor="rgba(255,255,255,0)",
                title=dict(text=""),
            ),
            hoverlabel=dict(font=dict(family=FONT_FAMILY, size=12), bgcolor="white"),
            colorscale=dict(sequential=SEQUENTIAL),
            separators=".,",
        ),
        data=dict(
            bar=[go.Bar(marker=dict(line=dict(width=0)))],
            scatter=[go.Scatter(line=dict(width=2))],
            heatmap=[go.Heatmap(colorscale=SEQUENTIAL)],
        ),
    )


def register() -> str:
    """Register the template with Plotly (idempotent) and return its name."""
    if TEMPLATE_NAME not in pio.templates:
        pio.templates[TEMPLATE_NAME] = _template()
    return TEMPLATE_NAME


def template() -> go.layout.Template:
    register()
    return pio.templates[TEMPLATE_NAME]


@lru_cache(maxsize=4)
def _data_uri(path: str) -> str:
    mime = mimetypes.guess_type(path)[0] or "image/png"
    with open(path, "rb") as handle:
        return f"data:{mime};base64," + base64.b64encode(handle.read()).decode("ascii")


def logo_data_uri() -> str | None:
    path = settings.logo_path()
    return _data_uri(str(path)) if path else None


def with_branding(fig: go.Figure) -> go.Figure:
    """A copy of a chart with the network's name (and logo, if configured) in the top right corner.

    For exports (issue 5): in the app the sidebar already shows them.
    """
    out = go.Figure(fig)
    out.add_annotation(
        text=settings.network_name(), xref="paper", yref="paper", x=1, y=1, yshift=TOP_MARGIN - 24,
        xanchor="right", yanchor="bottom", showarrow=False, font=dict(size=11, color=MUTED),
    )
    uri = logo_data_uri()
    if uri:
        out.add_layout_image(
            source=uri, xref="paper", yref="paper", x=1, y=1.0, sizex=0.12, sizey=0.12,
            xanchor="right", yanchor="bottom", layer="above",
        )
    return out

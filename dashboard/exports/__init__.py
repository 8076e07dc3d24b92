"""Exports (issue 5): every chart as PNG / SVG / PDF / CSV, board packs as PDF and PowerPoint.

Everything exported is the catalog's own figure and data after small-cell suppression
(dashboard.suppression); images come from Kaleido with one warm Chromium (dashboard.exports.render).
Importing this package starts nothing: the browser starts with the first image.
"""

from dashboard.exports.boardpack import DEFAULT_SECTIONS, SECTIONS, BoardPack, BoardPackRequest, build
from dashboard.exports.charts import FORMATS, Export, chart_file, csv_bytes, export_chart, filename
from dashboard.exports.period import Period, PeriodError

__all__ = [
    "DEFAULT_SECTIONS", "FORMATS", "SECTIONS", "BoardPack", "BoardPackRequest", "Export", "Period", "PeriodError",
    "build", "chart_file", "csv_bytes", "export_chart", "filename",
]

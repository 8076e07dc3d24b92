"""Board packs: one PDF and one PowerPoint for a period, clinics and sections.

    request = BoardPackRequest(period=period.parse("2025Q3"), clinics=("DEN",), sections=("outcomes", "safety"))
    pack = build(Scope.everything(), request)        # BoardPack(pdf=bytes, pptx=bytes, pages=[...])

Each chart is the catalog's own figure of the suppressed data (the same as the app and the single-chart
exports), drawn without its title and footnote and placed on a page (PDF, US Letter landscape) or a
slide (16:9) that carries them as text: the title, the period and n, the key figures in words (from
the chart's rows, dashboard.exports.keyfigures), the definition and the suppression note, and a
generated-at line. A cover lists the contents. The PDF is vector (Chromium via Kaleido draws every
page; pypdf places each chart on its page); the slides hold a 2.5x PNG of each chart.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go

from dashboard import format as fmt
from dashboard import settings, theme
from dashboard import suppression as sup
from dashboard.exports import keyfigures, render
from dashboard.exports.period import Period
from dashboard.filters import Filters
from dashboard.scope import Scope

SECTIONS: dict[str, tuple[str, ...]] = {
    "overview": ("overview.courses_by_month",),
    "outcomes": ("outcomes.rates_by_instrument", "outcomes.rates_by_group", "outcomes.evaluability",
                 "outcomes.trajectory", "outcomes.early_signal", "outcomes.induction_funnel",
                 "outcomes.completion_by_group",
                 "outcomes.clinic_funnel", "outcomes.remission_funnel", "outcomes.completion_funnel",
                 "outcomes.item9"),
    "safety": ("safety.side_effects", "safety.side_effects_by_dose", "safety.side_effects_by_session",
               "safety.interventions", "safety.severe_funnel", "safety.bp_by_dose", "safety.bp_funnel",
               "safety.peak_rise", "safety.vitals", "safety.rems", "safety.rems_by_clinic"),
    "boosters": ("boosters.interval_histogram", "boosters.km", "boosters.per_patient_year",
                 "boosters.intervals_by_clinic"),
    "capacity": ("capacity.by_clinic", "capacity.by_week", "capacity.weekday_hour", "capacity.peak_chairs",
                 "capacity.lost"),
    "quality": ("quality.quarantine_reasons",),
}
SECTION_TITLES = {"overview": "Overview", "outcomes": "Outcomes", "safety": "Safety", "boosters": "Boosters",
                  "capacity": "Capacity", "quality": "Data quality"}
DEFAULT_SECTIONS = ("overview", "outcomes", "safety", "boosters", "capacity")

# page geometry, CSS pixels (96 per inch): US Letter landscape
PAGE_W, PAGE_H, MARGIN = 1056, 816, 44
CHART_X, CHART_Y, CHART_W, CHART_H = MARGIN, 124, 704, 472
NOTES_Y = CHART_Y + CHART_H + 18
CHART_H_TALL = 636  # a chart with many rows (e.g. 50 clinics) takes the page's height; its notes go right
SIDE_W = PAGE_W - MARGIN - (CHART_X + CHART_W + 24)
PX_TO_PT = 0.75
NOTE_PX = 12  # the pages' "How it is counted" and "Small counts" (9 pt printed)
NOTE_PT = 9  # the same on slides
KEY_PT = 11
PNG_SCALE = 2.5  # slides: 704 x 472 px at 2.5x, placed 8.8 x 5.9 in
SLIDE_W_IN, SLIDE_H_IN = 13.333, 7.5
PPTX_FONT = "Arial"  # what PowerPoint has everywhere; the PDF embeds the product font


# A pack shows one period and selection. The Planning charts look forward from the data's last day, for
# one clinic and scenario: in a pack they would show other weeks and another selection than its title.
NOT_IN_PACKS = ("the Planning charts look ahead from the data's last day for one clinic and scenario, not at "
                "the pack's period; download them from the Planning page")


def in_packs(spec) -> bool:
    return spec.page != "Planning"


@dataclass(frozen=True)
class BoardPackRequest:
    period: Period
    clinics: tuple[str, ...] = ()
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    charts: tuple[str, ...] | None = None  # explicit chart ids (overrides sections)
    modalities: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()
    threshold: int | None = None  # small-cell threshold (default: CLINIC_ANALYTICS_MIN_CELL)

    def chart_ids(self) -> list[str]:
        if self.charts:
            from dashboard.charts import catalog

            forward = [c for c in self.charts if not in_packs(catalog.get(c))]
            if forward:
                raise ValueError(f"{forward[0]} is not drawn in packs: {NOT_IN_PACKS}")
            return list(dict.fromkeys(self.charts))
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown:
            raise ValueError(f"unknown section(s) {', '.join(unknown)}; one of {', '.join(SECTIONS)}")
        return [c for s in self.sections for c in SECTIONS[s]]

    def filters(self) -> Filters:
        return Filters(clinics=tuple(self.clinics), start=self.period.start, end=self.period.end,
                       modalities=tuple(self.modalities), indications=tuple(self.indications))


@dataclass
class Page:
    chart_id: str
    section: str
    title: str
    subtitle: str
    key_figures: list[str]
    definition: str
    suppression: str
    hidden: int
    empty: bool
    tall: bool = False
    png: bytes = b""
    pdf: bytes = b""


@dataclass
class BoardPack:
    pdf: bytes
    pptx: bytes
    pages: list[Page]
    title: str
    period: Period
    selection: str
    generated_at: dt.datetime
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return f"board-pack_{self.period.slug}"


# ------------------------------------------------------------------------------------------ pages


def is_tall(fig: go.Figure) -> bool:
    """A chart drawn taller than a page's chart box in the app (one row per clinic, many clinics)."""
    return bool(fig.layout.height and fig.layout.height > CHART_H * 1.3)


def bare(fig: go.Figure, width: int = CHART_W, height: int | None = None) -> go.Figure:
    """The chart without its title, subtitle and footnote (the page carries them), sized for the page."""
    out = go.Figure(fig)
    height = height or (CHART_H_TALL if is_tall(fig) else CHART_H)
    out.update_layout(title=dict(text="", subtitle=dict(text="")), width=width, height=height,
                      margin=dict(t=36, b=60, l=64, r=24, autoexpand=True))
    out.layout.annotations = [a for a in out.layout.annotations if a.name != "footnote"]
    if is_tall(fig):
        names = next((list(t.y) for t in out.data if getattr(t, "orientation", None) == "h" and t.y is not None), None)
        named = bool(names) and all(isinstance(n, str) for n in names)
        # as large as the rows allow, up to the template's 11 px: 11 groups keep it, 50 clinics get 8.6 px
        categories = {y for t in out.data if t.y is not None for y in t.y if isinstance(y, str)}
        rows = len(out.layout.yaxis.ticktext or ()) or len(categories) or 50  # rows named by ticktext, or by y
        size = round(min(11.0, max(7.0, (height - 96) / rows / 1.25)), 1)
        out.update_yaxes(tickfont=dict(size=size))
        out.update_traces(textfont=dict(size=size - 1), selector=dict(type="bar"))
        if named:  # every row named, not every other one
            out.update_yaxes(tickmode="array", tickvals=names, ticktext=names)
    return out


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(fig: go.Figure, text: str, x_px: float, y_px: float, size: float, color: str = theme.INK,
          anchor: str = "left", bold: bool = False) -> None:
    body = f"<b>{text}</b>" if bold else text
    fig.add_annotation(text=body, xref="paper", yref="paper", x=x_px / PAGE_W, y=1 - y_px / PAGE_H,
                       xanchor=anchor, yanchor="top", showarrow=False, align=anchor,
                       font=dict(size=size, color=color))


def _blank_page() -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=theme.register(), width=PAGE_W, height=PAGE_H, margin=dict(l=0, r=0, t=0, b=0),
                      paper_bgcolor="white", plot_bgcolor="white", showlegend=False)
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[0, 1])
    return fig


def _header(fig: go.Figure, pack_label: str) -> None:
    x = MARGIN
    uri = theme.logo_data_uri()
    if uri:
        fig.add_layout_image(source=uri, xref="paper", yref="paper", x=MARGIN / PAGE_W, y=1 - 16 / PAGE_H,
                             sizex=110 / PAGE_W, sizey=30 / PAGE_H, xanchor="left", yanchor="top", layer="above")
        x += 120
    _text(fig, _esc(settings.network_name()), x, 22, 12, theme.MUTED, bold=True)
    _text(fig, _esc(pack_label), PAGE_W - MARGIN, 22, 12, theme.MUTED, anchor="right")
    fig.add_shape(type="line", xref="paper", yref="paper", x0=MARGIN / PAGE_W, x1=1 - MARGIN / PAGE_W,
                  y0=1 - 50 / PAGE_H, y1=1 - 50 / PAGE_H, line=dict(color=theme.GRID, width=1))


def _footer(fig: go.Figure, generated: str, number: int, total: int) -> None:
    _text(fig, _esc(generated), MARGIN, PAGE_H - 30, 9.5, theme.MUTED)
    _text(fig, f"page {number} of {total}", PAGE_W - MARGIN, PAGE_H - 30, 9.5, theme.MUTED, anchor="right")


def _page_figure(page: Page, pack_label: str, generated: str, number: int, total: int) -> go.Figure:
    fig = _blank_page()
    _header(fig, pack_label)
    _text(fig, _esc(page.title), MARGIN, 62, 21, theme.INK, bold=True)
    _text(fig, _esc(page.subtitle), MARGIN, 94, 12.5, theme.MUTED)
    kx = CHART_X + CHART_W + 24
    _text(fig, "Key figures", kx, CHART_Y + 4, 13, theme.INK, bold=True)
    y = CHART_Y + 28
    for sentence in page.key_figures or ["No figure to report for this selection."]:
        lines = _wrap(sentence, 38)
        _text(fig, "• " + "<br>  ".join(_esc(line) for line in lines), kx, y, 11, theme.INK)
        y += 15 * len(lines) + 7
        if y > CHART_Y + (300 if page.tall else CHART_H):
            break
    notes = (("How it is counted", page.definition), ("Small counts", page.suppression))
    # Notes at 12 px (9 pt printed; 10 px could not be read on a projected page); the column beside a tall
    # chart takes 11 px when 12 would run into the footer.
    if page.tall:  # notes under the key figures, in the column beside the chart
        top = max(y + 10, CHART_Y + 330)
        size, chars, step = NOTE_PX, 37, 15
        if top + sum(step * len(_wrap(f"{label}: {note}", chars)) + 6 for label, note in notes) > PAGE_H - 40:
            size, chars, step = NOTE_PX - 1, 41, 14
        y = top
        for label, note in notes:
            lines = _wrap(f"{label}: {note}", chars)
            _text(fig, "<br>".join(_esc(line) for line in lines), kx, y, size, theme.MUTED)
            y += step * len(lines) + 6
    else:
        y = NOTES_Y
        for label, note in notes:
            lines = _wrap(f"{label}: {note}", 145)
            _text(fig, "<br>".join(_esc(line) for line in lines), MARGIN, y, NOTE_PX, theme.MUTED)
            y += 16 * len(lines) + 6
    _footer(fig, generated, number, total)
    return fig


def _cover_figure(pack: BoardPack, pack_label: str, generated: str, total: int) -> go.Figure:
    fig = _blank_page()
    _header(fig, pack_label)
    _text(fig, _esc(settings.network_name()), MARGIN, 150, 34, theme.INK, bold=True)
    _text(fig, "Board pack", MARGIN, 204, 22, theme.ACCENT)
    _text(fig, _esc(period_words(pack.period)), MARGIN, 244, 15, theme.INK)
    _text(fig, _esc(pack.selection), MARGIN, 270, 13, theme.MUTED)
    _text(fig, "Contents", MARGIN, 320, 14, theme.INK, bold=True)
    rows = contents(pack)
    # two columns while they fit (up to 28 lines of 10.5 px above the footer), more only beyond: a third
    # column at 17 entries cut the titles ("When chairs are busy: Denver Interventional Psychi…")
    per_column = min(28, max(16, -(-len(rows) // 2)))
    columns = max(1, -(-len(rows) // per_column))
    width = max(330, (PAGE_W - 2 * MARGIN) // columns)  # the page's width shared by the columns
    chars = int(width / 5.7)  # Liberation Sans at 10.5 px: about 5.3 px a character, with room to spare
    for c in range(0, len(rows), per_column):
        column = rows[c:c + per_column]
        x = MARGIN + (c // per_column) * width
        _text(fig, "<br>".join(_esc(r if len(r) <= chars else r[:chars - 2] + "…") for r in column), x, 344, 10.5,
              theme.INK)
    rule = sup.note(pack_threshold(pack)) or "Small-cell suppression is off (CLINIC_ANALYTICS_MIN_CELL=1)."
    _text(fig, _esc(rule + " Definitions: docs/metrics.md."), MARGIN, PAGE_H - 60, 10, theme.MUTED)
    _footer(fig, generated, 1, total)
    return fig


def period_words(period: Period) -> str:
    """The cover's period: 'Q3 2026 · 1 Jul – 30 Sep 2026'; once when the label already is the dates
    ('September 2026', not 'September 2026 · September 2026')."""
    dates = fmt.period(period.start, period.end)
    return period.label if period.label == dates else f"{period.label} · {dates}"


def contents(pack: BoardPack) -> list[str]:
    """The cover's contents: page number and chart title, without the pack's period that every title
    ends with (the cover states it once; with it, titles were cut mid-date: "Response and remission by
    instrument, 1 Apr – 30 Jun…")."""
    suffix = f", {fmt.period(pack.period.start, pack.period.end)}"
    return [f"{i + 2}.  {p.title.removesuffix(suffix)}" for i, p in enumerate(pack.pages)]


def pack_threshold(pack: BoardPack) -> int:
    return int(pack.timings.get("threshold", sup.DEFAULT_MIN_CELL))


def _shift_patterns(page, tx: float, ty: float) -> None:
    """Move the page's shading patterns with its content. A pattern's matrix maps to the page's default
    space, not to the space the content's transformation makes, so a chart placed lower on a pack page kept
    its gradients where they were: every colour bar of the pack (the heatmaps' legends) read as one solid
    colour, the end of its scale, while the single-chart export was right (operations audit)."""
    from pypdf.generic import ArrayObject, FloatObject, NameObject

    resources = page.get("/Resources")
    patterns = resources.get_object().get("/Pattern") if resources is not None else None
    if patterns is None:
        return
    for ref in patterns.get_object().values():
        pattern = ref.get_object()
        a, b, c, d, e, f = (float(v) for v in pattern.get("/Matrix", [1, 0, 0, 1, 0, 0]))
        pattern[NameObject("/Matrix")] = ArrayObject(FloatObject(v) for v in (a, b, c, d, e + tx, f + ty))


def _merge_pdf(frames: list[bytes], charts: list[bytes | None], heights: list[int], title: str) -> bytes:
    from pypdf import PdfReader, PdfWriter, Transformation

    writer = PdfWriter()
    for frame, chart, height in zip(frames, charts, heights, strict=True):
        page = writer.add_page(PdfReader(io.BytesIO(frame)).pages[0])
        if chart:
            chart_page = PdfReader(io.BytesIO(chart)).pages[0]
            tx = CHART_X * PX_TO_PT
            ty = (PAGE_H - CHART_Y - height) * PX_TO_PT
            _shift_patterns(chart_page, tx, ty)
            page.merge_transformed_page(chart_page, Transformation().translate(tx=tx, ty=ty))
    writer.add_metadata({"/Title": title, "/Author": settings.network_name(), "/Creator": "clinic-analytics"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_height_in(paragraphs: list[str], size_pt: float, width_in: float) -> float:
    """A generous estimate of the height (inches) of Arial paragraphs in a text box of this width: about
    0.5 em a character, 1.2 em a line, and the box's own insets (0.1 in above and below)."""
    chars = max(1, int((width_in - 0.2) * 72 / (size_pt * 0.52)))
    lines = sum(max(1, -(-len(p) // chars)) for p in paragraphs)
    return lines * size_pt * 1.2 / 72 + 0.2


def _pptx(pack: BoardPack, pack_label: str, generated: str) -> bytes:
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    def rgb(hex_colour: str) -> RGBColor:
        return RGBColor.from_string(hex_colour.lstrip("#").upper())

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W_IN), Inches(SLIDE_H_IN)
    blank = prs.slide_layouts[6]
    logo = settings.logo_path()
    logo_ok = logo is not None and logo.suffix.lower() in (".png", ".jpg", ".jpeg")
    total = len(pack.pages) + 1

    def box(slide, left, top, width, height, paragraphs, size=12, colour=theme.INK, bold=False, align=None):
        shape = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
        frame = shape.text_frame
        frame.word_wrap = True
        for i, text in enumerate(paragraphs):
            para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            para.text = text
            if align is not None:
                para.alignment = align
            for run in para.runs:
                run.font.size = Pt(size)
                run.font.name = PPTX_FONT
                run.font.bold = bold
                run.font.color.rgb = rgb(colour)
        return shape

    def chrome(slide, number):
        from pptx.enum.text import PP_ALIGN

        x = 0.5
        if logo_ok:
            slide.shapes.add_picture(str(logo), Inches(0.5), Inches(0.18), height=Inches(0.32))
            x = 1.9
        box(slide, x, 0.18, 6, 0.3, [settings.network_name()], 10, theme.MUTED, bold=True)
        box(slide, 7.3, 0.18, 5.53, 0.3, [pack_label], 10, theme.MUTED, align=PP_ALIGN.RIGHT)
        box(slide, 0.5, 7.05, 9.5, 0.3, [generated], 8, theme.MUTED)
        box(slide, 10.8, 7.05, 2.03, 0.3, [f"{number} / {total}"], 8, theme.MUTED, align=PP_ALIGN.RIGHT)

    cover = prs.slides.add_slide(blank)
    chrome(cover, 1)
    box(cover, 0.5, 1.2, 12.3, 0.8, [settings.network_name()], 36, theme.INK, bold=True)
    box(cover, 0.5, 2.0, 12.3, 0.5, ["Board pack"], 24, theme.ACCENT)
    box(cover, 0.5, 2.6, 12.3, 0.4, [period_words(pack.period)], 16)
    box(cover, 0.5, 3.0, 12.3, 0.4, [pack.selection], 13, theme.MUTED)
    contents_ = contents(pack)
    half = (len(contents_) + 1) // 2 if len(contents_) > 14 else len(contents_)
    box(cover, 0.5, 3.55, 6.1, 3.2, ["Contents"] + contents_[:half], 10)
    if contents_[half:]:
        box(cover, 6.7, 3.55, 6.1, 3.2, [""] + contents_[half:], 10)
    rule = sup.note(pack_threshold(pack)) or "Small-cell suppression is off."
    box(cover, 0.5, 6.7, 12.3, 0.3, [rule], 9, theme.MUTED)

    for number, page in enumerate(pack.pages, start=2):
        slide = prs.slides.add_slide(blank)
        chrome(slide, number)
        box(slide, 0.5, 0.55, 12.3, 0.5, [page.title], 22, theme.INK, bold=True)
        box(slide, 0.5, 1.08, 12.3, 0.35, [page.subtitle], 12, theme.MUTED)
        if page.png:
            h = CHART_H_TALL if page.tall else CHART_H
            height = min(5.45, 8.8 * h / CHART_W)
            slide.shapes.add_picture(io.BytesIO(page.png), Inches(0.5), Inches(1.5), width=Inches(height * CHART_W / h),
                                     height=Inches(height))
        key = ["Key figures"] + [f"• {s}" for s in (page.key_figures or ["No figure to report."])]
        notes = [f"How it is counted: {page.definition}", f"Small counts: {page.suppression}"]
        # Notes at 9 pt under the key figures (7.5 pt could not be read on a projected slide). The column
        # holds 1.5-6.95 in; when the definition does not fit too, it stays in the speaker notes only.
        key_h = _text_height_in(key, KEY_PT, 3.28)
        box(slide, 9.55, 1.5, 3.28, key_h, key, KEY_PT, theme.INK)
        top, room = 1.5 + key_h + 0.1, 6.95 - (1.5 + key_h + 0.1)
        on_slide = notes if _text_height_in(notes, NOTE_PT, 3.28) <= room else [
            "How it is counted: in the speaker notes.", notes[1]]
        box(slide, 9.55, top, 3.28, max(room, 0.3), on_slide, NOTE_PT, theme.MUTED)
        slide.notes_slide.notes_text_frame.text = "\n".join([page.title, page.subtitle, *page.key_figures, *notes])
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------- building


def _section_of(chart_id: str) -> str:
    for name, ids in SECTIONS.items():
        if chart_id in ids:
            return name
    return chart_id.split(".")[0]


# A chart of one clinic (the weekday x hour heatmap) gets one page per clinic of the selection: the board
# pack showed the first clinic by name only, as if it spoke for the network. Up to PER_CLINIC_PAGES pages;
# a larger selection gets the busiest clinics' pages (chair utilization, metrics.utilization), and each
# of those pages says how many clinics were left out and how to draw them.
PER_CLINIC = frozenset({"capacity.weekday_hour"})
PER_CLINIC_PAGES = 12


def _per_clinic(scope: Scope, filters: Filters, data, opts: dict) -> tuple[list[dict], str]:
    """The chart's options once per clinic to draw (clinic-name order), and the note on clinics left out."""
    from dashboard import queries

    if opts.get("clinic_id") is not None or data.empty:
        return [opts], ""
    open_ = data[data["available_minutes"] > 0]
    names = open_.drop_duplicates("clinic_id").set_index("clinic_id")["clinic_name"]
    if names.empty:
        return [opts], ""
    chosen = list(names.index)
    more = ""
    if len(chosen) > PER_CLINIC_PAGES:
        ranked = queries.utilization(scope, filters)
        ranked = ranked[ranked["clinic_id"].isin(chosen)].sort_values(["utilization", "clinic_id"], ascending=[False, True])
        chosen = list(ranked["clinic_id"].head(PER_CLINIC_PAGES))
        more = (f"Pages for the {PER_CLINIC_PAGES} busiest of {len(names)} clinics (chair utilization in the period); "
                "choose clinics when building the pack to draw the others.")
    chosen.sort(key=lambda c: (str(names[c]).lower(), c))
    return [{**opts, "clinic_id": c} for c in chosen], more


def build(scope: Scope, request: BoardPackRequest, *, generated_at: dt.datetime | None = None,
          progress: Callable[[int, int, str], None] | None = None, formats: Sequence[str] = ("pdf", "pptx")) -> BoardPack:
    """Query, suppress, draw and assemble the pack. Scope limits the clinics as in the app."""
    from dashboard import queries
    from dashboard.charts import catalog
    from pipelines.warehouse.publish import version_number

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    threshold = sup.min_cell() if request.threshold is None else int(request.threshold)
    ids = request.chart_ids()
    specs = [catalog.get(i) for i in ids]
    filters = request.filters()
    options = queries.filter_options(scope)
    ctx = catalog.context(filters, options)
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    version = queries.current_version_path()
    version_text = f"warehouse version {version_number(version)}" if version is not None else "no warehouse"
    generated = (f"Generated {generated_at:%-d %b %Y %H:%M} UTC from {version_text} · "
                 f"{settings.network_name()} · definitions: docs/metrics.md")
    pack_label = f"Board pack · {request.period.label}"

    # The capacity pages carry the Capacity page's warning: a quarantined clinics row reaching the period means
    # its figures use the row before it (a board read Oklahoma City at 75% with no caveat)
    capacity_caveat = None
    if any(_section_of(i) == "capacity" for i in ids):
        from dashboard import capacity_inputs

        capacity_caveat = capacity_inputs.warning_text(queries.capacity_quarantine(scope, filters.clinics),
                                                       start=filters.start, until=filters.end,
                                                       see="Data quality in the app lists it.")
    pages: list[Page] = []
    figures: list[go.Figure] = []
    tq = ts = 0.0
    for k, spec in enumerate(specs):
        if progress:
            progress(k, len(specs), spec.title)
        opts = dict(spec.defaults)
        a = time.perf_counter()
        data = spec.data(scope, filters, **opts)
        b = time.perf_counter()
        result = spec.suppressed(data, threshold)
        variants, more = [opts], ""
        if spec.id in PER_CLINIC:
            variants, more = _per_clinic(scope, filters, result.data, opts)
        for variant in variants:
            fig = spec.figure_of(result, ctx, **variant)
            meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
            definition = str(meta.get("footnote", ""))
            if result.note and definition.endswith(result.note):
                definition = definition[: -len(result.note)].strip()
            if threshold <= 1:
                small = "Small-cell suppression is off (CLINIC_ANALYTICS_MIN_CELL=1): every count is shown."
            elif result.hidden:
                # the subtitle says itself when its n is of the figures shown ("... in the clinics shown")
                # values of the chart's data (each count and every rate, interval or mean computed from it),
                # not points of the picture: "386 figures hidden" on a chart of 22 dots read as 386 results
                small = (f"{result.note} On this page {result.hidden} "
                         f"{'value' if result.hidden == 1 else 'values'} of the chart's data (counts and the rates, "
                         f"intervals or means computed from them) {'is' if result.hidden == 1 else 'are'} hidden.")
            else:
                small = f"No count from 1 to {threshold - 1} on this page; none hidden."
            pages.append(Page(
                chart_id=spec.id, section=_section_of(spec.id), title=str(meta.get("title", spec.title)),
                subtitle=str(meta.get("subtitle", "")).replace(" (hover for names)", ""),
                key_figures=(keyfigures.sentences(spec.id, result.data, variant)
                             + ([capacity_caveat] if capacity_caveat and _section_of(spec.id) == "capacity" else [])
                             + ([more] if more else [])),
                definition=definition, suppression=small, hidden=result.hidden, empty=bool(meta.get("empty")),
            ))
            pages[-1].tall = is_tall(fig)
            figures.append(bare(fig))
        tq += b - a
        ts += time.perf_counter() - b
    timings["queries_s"] = tq
    timings["suppression_s"] = ts
    a = time.perf_counter()
    for page, fig in zip(pages, figures, strict=True):
        if "pdf" in formats:
            page.pdf = render.to_bytes(fig, "pdf", width=CHART_W, height=fig.layout.height)
        if "pptx" in formats:
            page.png = render.to_bytes(fig, "png", width=CHART_W, height=fig.layout.height, scale=PNG_SCALE)
    timings["chart_images_s"] = time.perf_counter() - a
    pack = BoardPack(pdf=b"", pptx=b"", pages=pages, title=f"{settings.network_name()} board pack, {request.period.label}",
                     period=request.period, selection=ctx.selection, generated_at=generated_at,
                     timings={**timings, "threshold": threshold})
    total = len(pages) + 1
    if "pdf" in formats:
        a = time.perf_counter()
        frames = [render.to_bytes(_cover_figure(pack, pack_label, generated, total), "pdf", width=PAGE_W, height=PAGE_H)]
        frames += [render.to_bytes(_page_figure(p, pack_label, generated, i + 2, total), "pdf", width=PAGE_W, height=PAGE_H)
                   for i, p in enumerate(pages)]
        timings["page_frames_s"] = time.perf_counter() - a
        a = time.perf_counter()
        heights = [0] + [CHART_H_TALL if p.tall else CHART_H for p in pages]
        pack.pdf = _merge_pdf(frames, [None] + [p.pdf for p in pages], heights, pack.title)
        timings["pdf_assembly_s"] = time.perf_counter() - a
    if "pptx" in formats:
        a = time.perf_counter()
        pack.pptx = _pptx(pack, pack_label, generated)
        timings["pptx_assembly_s"] = time.perf_counter() - a
    timings["total_s"] = time.perf_counter() - t0
    pack.timings.update(timings)
    if progress:
        progress(len(specs), len(specs), "done")
    return pack

"""Board packs from the command line on the sample warehouse: the PDF (pypdf) and the PowerPoint
(python-pptx) of a sample quarter, the pages as pictures (pdftoppm, kept in test-artifacts/board-pack/),
usage errors, and a filtered pack (one small clinic, two weeks) in which no count from 1 to 10 can be
read from any text, slide or CSV, nor worked out by subtracting shown parts from shown totals."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))

from disclosure import csv_leaks, leaks_in_text  # noqa: E402

from dashboard.exports import boardpack  # noqa: E402
from pipelines import config  # noqa: E402
from pipelines.cli import main  # noqa: E402
from pipelines.load.loader import load_batch  # noqa: E402
from pipelines.load.pseudonymize import Pseudonymizer  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts" / "board-pack"
QUARTER_CHARTS = [c for s in boardpack.DEFAULT_SECTIONS for c in boardpack.SECTIONS[s]]


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    pointer = tmp_path_factory.mktemp("board-pack-wh") / "clinic_analytics.duckdb"
    load_batch(config.SAMPLE_DIR, db=pointer, pseudonymizer=Pseudonymizer(b"k" * 32))
    return pointer


@pytest.fixture(scope="session")
def quarter_pack(warehouse, tmp_path_factory) -> dict:
    """The default sections for Q2 2026, all clinics, written by the CLI."""
    out = tmp_path_factory.mktemp("pack-quarter")
    assert main(["board-pack", "--period", "2026Q2", "--out", str(out), "--db", str(warehouse)]) == 0
    pdf, pptx = out / "board-pack_2026Q2.pdf", out / "board-pack_2026Q2.pptx"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("page-*.png"):
        stale.unlink()
    shutil.copyfile(pdf, ARTIFACTS / pdf.name)
    shutil.copyfile(pptx, ARTIFACTS / pptx.name)
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(ARTIFACTS / "page")], check=True)
    return {"pdf": pdf, "pptx": pptx}


@pytest.fixture(scope="session")
def small_pack(warehouse, tmp_path_factory) -> dict:
    """Every section, one clinic, the last two weeks of the data: small counts everywhere."""
    out = tmp_path_factory.mktemp("pack-small")
    args = ["board-pack", "--start", "2026-06-17", "--end", "2026-06-30", "--clinic", "DEN",
            "--sections", ",".join(boardpack.SECTIONS), "--out", str(out), "--db", str(warehouse)]
    assert main(args) == 0
    stem = "board-pack_2026-06-17_2026-06-30"
    return {"pdf": out / f"{stem}.pdf", "pptx": out / f"{stem}.pptx", "warehouse": warehouse}


def _pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(str(path)).pages]


def _slides(path: Path) -> list:
    return list(Presentation(str(path)).slides)


def _slide_text(slide) -> str:
    parts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
    if slide.has_notes_slide:
        parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def _titles(warehouse: Path, monkeypatch, start, end, clinics=()) -> list[str]:
    """The chart titles the catalog gives for that period (what each page must carry)."""
    from dashboard import queries
    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope

    monkeypatch.setenv(config.ENV_DB, str(warehouse))
    f = Filters(clinics=tuple(clinics), start=start, end=end)
    ctx = catalog.context(f, queries.filter_options(Scope.everything()))
    titles = []
    for chart in QUARTER_CHARTS:
        spec = catalog.get(chart)
        data = spec.data(Scope.everything(), f)
        if chart in boardpack.PER_CLINIC:  # a page per clinic open in the period, in name order
            open_ = data[data["available_minutes"] > 0].drop_duplicates("clinic_id")
            ids = open_.sort_values("clinic_name", key=lambda s: s.str.lower())["clinic_id"]
            titles += [spec.figure(data, ctx, clinic_id=c).layout.meta["title"] for c in ids]
        else:
            titles.append(spec.figure(data, ctx).layout.meta["title"])
    return titles


def test_quarter_pdf(quarter_pack, warehouse, monkeypatch):
    import datetime as dt

    pages = _pdf_pages(quarter_pack["pdf"])
    titles = _titles(warehouse, monkeypatch, dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    # a cover, then one chart per page (the weekday x hour chart once per clinic)
    assert len(pages) == len(titles) + 1 > len(QUARTER_CHARTS) + 1
    assert "Board pack" in pages[0] and "Q2 2026" in pages[0] and "Contents" in pages[0]
    for number, (title, text) in enumerate(zip(titles, pages[1:], strict=True), start=2):
        flat = " ".join(text.split())
        assert " ".join(title.split()) in flat, (number, title)
        assert "1 Apr – 30 Jun 2026" in flat  # the period
        assert "n = " in flat or "n=" in flat  # n
        assert "Key figures" in flat and "How it is counted" in flat and "Small counts" in flat
        assert "Generated" in flat and f"page {number} of {len(pages)}" in flat
    rates = " ".join(pages[2].split())
    # key figures in words, from the macro's row: the same n as the chart's label
    label_n = re.search(r"PHQ-9 \(n=([\d,]+)\)", rates).group(1)
    assert re.search(r"PHQ-9: response \d+% \(\d+–\d+%, n=" + label_n + r"\)", rates), rates


def test_cover_lists_every_title_whole(quarter_pack, warehouse, monkeypatch):
    """The contents repeated the period after every title and cut them at 58 characters, mid-date
    ("Response and remission by instrument, 1 Apr – 30 Jun…"); the cover states the period once."""
    import datetime as dt

    period = ", 1 Apr – 30 Jun 2026"
    titles = [t.removesuffix(period) for t in _titles(warehouse, monkeypatch, dt.date(2026, 4, 1), dt.date(2026, 6, 30))]
    cover = " ".join(_pdf_pages(quarter_pack["pdf"])[0].split())
    slide = " ".join(_slide_text(_slides(quarter_pack["pptx"])[0]).split())
    for text in (cover, slide):
        assert "…" not in text and text.count("30 Jun 2026") == 1  # the period once, beside "Q2 2026"
        for number, title in enumerate(titles, start=2):
            assert f"{number}. {' '.join(title.split())}" in text, title


def test_quarter_pptx(quarter_pack, warehouse, monkeypatch):
    import datetime as dt

    slides = _slides(quarter_pack["pptx"])
    titles = _titles(warehouse, monkeypatch, dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert len(slides) == len(titles) + 1
    assert "Board pack" in _slide_text(slides[0]) and "Q2 2026" in _slide_text(slides[0])
    for title, slide in zip(titles, slides[1:], strict=True):
        pictures = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pictures) == 1, title
        assert pictures[0].image.content_type == "image/png" and pictures[0].image.size[0] >= 1700
        text = _slide_text(slide)
        assert title in text and "Key figures" in text and "Small counts" in text and "Generated" in text


def test_pages_as_pictures_are_kept(quarter_pack):
    pictures = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pictures) == len(_pdf_pages(quarter_pack["pdf"]))
    assert all(p.stat().st_size > 10_000 for p in pictures)


@pytest.mark.parametrize("args, message", [
    (["--period", "2026Q5"], "is not a period"),
    (["--period", "2026-13"], "month 13"),
    (["--start", "2026-01-01"], "both --start and --end"),
    (["--start", "2026-02-01", "--end", "2026-01-01"], "after it ends"),
    (["--period", "2026Q2", "--start", "2026-01-01", "--end", "2026-01-31"], "not both"),
    (["--period", "2026Q2", "--sections", "finance"], "unknown section"),
    (["--period", "2026Q2", "--charts", "outcomes.nope"], "unknown chart"),
    (["--period", "2026Q2", "--charts", "overview.courses_by_month,planning.new_patients"],
     "planning.new_patients is not drawn in packs: the Planning charts look ahead"),
    (["--period", "2026Q2", "--clinic", "XYZ"], "unknown clinic"),
    (["--period", "2031Q1"], "no data in Q1 2031"),
    (["--period", "2026Q2", "--sections", ""], "--sections '' names no section"),
    (["--period", "2026Q2", "--sections", " , "], "names no section"),
    (["--period", "2026Q2", "--charts", ""], "--charts '' names no chart"),
    (["--period", "2026Q2", "--sections", "capacity", "--charts", "capacity.by_week"],
     "argument --charts: not allowed with argument --sections"),
    (["--start", "0001-01-01", "--end", "9999-12-31", "--sections", "capacity"], "at most 10 years"),
    ([], "say which period"),
])
def test_usage_errors_are_one_line(args, message, warehouse, tmp_path, capsys):
    code = main(["board-pack", *args, "--out", str(tmp_path), "--db", str(warehouse)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_a_chart_too_big_to_draw_is_one_line_and_writes_nothing(warehouse, tmp_path, capsys, monkeypatch):
    from dashboard.exports import render

    def too_slow(*args, **kwargs):
        raise render.RenderTimeout("drawing a chart of 832,772 points took longer than 90 s; choose a shorter "
                                   "period or fewer clinics")

    monkeypatch.setattr(render, "to_bytes", too_slow)
    code = main(["board-pack", "--period", "2026-06", "--charts", "capacity.by_week", "--out", str(tmp_path),
                 "--db", str(warehouse)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: board-pack: nothing written: drawing a chart of 832,772 points took longer")
    assert "\n" not in err and "internal error" not in err
    assert not list(tmp_path.iterdir())


def test_an_unusable_out_folder_is_refused_before_the_pack_is_drawn(warehouse, tmp_path, capsys, monkeypatch):
    """`--out` under a plain file (or where we may not write) built the whole pack, then failed."""
    from dashboard.exports import boardpack

    drawn = []
    monkeypatch.setattr(boardpack, "build", lambda *a, **k: drawn.append(a) or pytest.fail("pack drawn"))
    (tmp_path / "file.txt").write_text("x")
    code = main(["board-pack", "--period", "2026Q2", "--out", str(tmp_path / "file.txt" / "packs"),
                 "--db", str(warehouse)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not drawn
    assert "\n" not in err and "file.txt" in err and "internal error" not in err


def test_a_failed_pack_leaves_no_new_folder_behind(warehouse, tmp_path, monkeypatch):
    from dashboard.exports import render

    def too_slow(*args, **kwargs):
        raise render.RenderTimeout("drawing a chart took longer than 90 s")

    monkeypatch.setattr(render, "to_bytes", too_slow)
    out = tmp_path / "new" / "packs"
    assert main(["board-pack", "--period", "2026-06", "--charts", "capacity.by_week", "--out", str(out),
                 "--db", str(warehouse)]) == 2
    assert not (tmp_path / "new").exists()


def test_min_cell_setting_must_be_a_number(warehouse, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CLINIC_ANALYTICS_MIN_CELL", "ten")
    assert main(["board-pack", "--period", "2026Q2", "--out", str(tmp_path), "--db", str(warehouse)]) == 2
    assert "CLINIC_ANALYTICS_MIN_CELL" in capsys.readouterr().err


def test_cli_does_not_need_a_streamlit_run(warehouse, tmp_path):
    """A scheduled run: a fresh interpreter, no Streamlit server, nothing on stderr."""
    proc = subprocess.run([sys.executable, "-m", "pipelines", "board-pack", "--period", "2026-06", "--charts",
                           "outcomes.rates_by_instrument,safety.rems", "--format", "pdf", "--out", str(tmp_path),
                           "--db", str(warehouse)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""
    assert (tmp_path / "board-pack_2026-06.pdf").exists() and not (tmp_path / "board-pack_2026-06.pptx").exists()
    assert len(PdfReader(str(tmp_path / "board-pack_2026-06.pdf")).pages) == 3


# ------------------------------------------------------------------------ nothing small can be read


def test_small_pack_texts_reveal_no_small_count(small_pack):
    pages = _pdf_pages(small_pack["pdf"])
    slides = _slides(small_pack["pptx"])
    assert len(pages) == len(slides) == sum(len(v) for v in boardpack.SECTIONS.values()) + 1
    problems = []
    for number, text in enumerate(pages, start=1):
        problems += [f"PDF page {number}: {p}" for p in leaks_in_text(text)]
    for number, slide in enumerate(slides, start=1):
        problems += [f"slide {number}: {p}" for p in leaks_in_text(_slide_text(slide))]
    assert not problems, problems
    hidden_pages = [t for t in pages if "are not shown (CMS cell-size rule)" in t]
    assert len(hidden_pages) >= 10  # the rule had work to do, and says so
    # how many values of the chart's data, not "figures" (386 "figures hidden" on a chart of 22 dots);
    # the cover states the rule too, with no count
    flat = [" ".join(t.split()) for t in hidden_pages if t is not pages[0]]
    assert all("of the chart's data (counts and the rates, intervals or means computed from them)" in t
               for t in flat), flat[0][-400:]


def test_small_pack_csvs_reveal_no_small_count(small_pack, monkeypatch):
    """The CSV of every chart of that pack: no count from 1 to 10 shown, and none worked out from the
    chart's sums (declared, and found by search in the raw data) by exact elimination."""
    import datetime as dt

    from dashboard.charts import catalog
    from dashboard.exports import charts as exports
    from dashboard.filters import Filters
    from dashboard.scope import Scope
    from dashboard import queries

    monkeypatch.setenv(config.ENV_DB, str(small_pack["warehouse"]))
    f = Filters(clinics=("DEN",), start=dt.date(2026, 6, 17), end=dt.date(2026, 6, 30))
    ctx = catalog.context(f, queries.filter_options(Scope.everything()))
    problems = []
    for chart_id in [c for ids in boardpack.SECTIONS.values() for c in ids]:
        spec = catalog.get(chart_id)
        raw = spec.data(Scope.everything(), f, **spec.defaults)
        table = pd.read_csv(io.BytesIO(exports.chart_file(spec, raw, ctx, "csv", **spec.defaults).data))
        raw_parts = {"": raw} if isinstance(raw, pd.DataFrame) else raw
        if "part" in table:
            shown = {p: table[table["part"] == p].reset_index(drop=True) for p in raw_parts}
        else:
            shown = {"": table}
        problems += csv_leaks(shown, {k: v.reset_index(drop=True) for k, v in raw_parts.items()}, spec)
    assert not problems, problems[:20]


def test_slide_text_is_readable_and_stays_on_the_slide(quarter_pack):
    """The slides' "How it is counted" and "Small counts" box was 7.5 pt: unreadable when projected. Every
    run of text on a chart slide is now 9 pt or more, and every text box ends above the slide's footer."""
    from pptx.util import Emu, Pt

    for slide in _slides(quarter_pack["pptx"])[1:]:
        boxes = [s for s in slide.shapes if s.has_text_frame and s.text_frame.text.strip()]
        sizes = [run.font.size for s in boxes for p in s.text_frame.paragraphs for run in p.runs if run.font.size]
        text = _slide_text(slide)
        assert min(sizes) >= Pt(8), text[:80]  # the footer's "Generated …" and page number are 8 pt
        body = [s for s in boxes if s.top < Emu(int(7.0 * 914400))]  # all but the footer
        assert min(run.font.size for s in body for p in s.text_frame.paragraphs for run in p.runs) >= Pt(9), text[:80]
        assert max(s.top + s.height for s in body) <= Emu(int(7.0 * 914400)), text[:80]
        assert "Small counts:" in text and "How it is counted:" in text


def test_capacity_pages_carry_the_warning_of_a_quarantined_capacity_row(quarter_pack):
    """The sample's Oklahoma City row from 14 Feb 2026 (0 chairs) is in quarantine: the Capacity page warned of
    it, the pack's capacity pages read 75% with no caveat. They carry it now; other sections do not."""
    warning = "A capacity row is in quarantine (Oklahoma City Mood & Wellness from 14 Feb 2026"
    pages = [" ".join(p.split()) for p in _pdf_pages(quarter_pack["pdf"])]
    capacity = [p for p in pages[1:] if "Peak concurrent chairs, " in p or "Capacity lost to no-shows" in p]
    assert len(capacity) == 2 and all(warning in p for p in capacity)
    assert not any(warning in p for p in pages if "Response and remission" in p or "Side effects by" in p)

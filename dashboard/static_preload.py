"""Streamlit's own web page, with the scripts of the app's first page announced up front.

Streamlit's index.html lists only the scripts of its frame. The script of each element (a chart, a
multiselect, a metric) is fetched when the first such element arrives over the websocket, and a new
browser then waits for it: Plotly's alone is 4.7 MB, fetched about 1 s after the page was asked for and
then run in one 0.65 s main-thread task. Announcing those scripts as `<link rel="modulepreload">` in the
page's head lets the browser fetch and compile them while it is still loading Streamlit's frame, and
Plotly's is run right after Streamlit's own (EVALUATED_EARLY), before the page's first element has
arrived. Over a real network, not the loopback, each script fetched late would also cost a round trip.

`install()` points Streamlit's static folder at a copy made at start: Streamlit's own files linked, and
index.html rewritten with the extra links. Which scripts: the ones whose element names are in
FIRST_PAGE_ELEMENTS, with every script they import, as the files of the installed Streamlit name them
(the hashed names change with each release; nothing here hard-codes one). If Streamlit ever serves its
files differently, `install()` leaves it alone and the page loads as before, only slower.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

# The elements of the first page a visitor sees (the Overview, the sidebar's filters, the footer), by the
# name of the script Streamlit bundles each in. Measured in headless Chromium: these are the scripts a
# new browser fetched only after the websocket's first message (benchmarks/dashboard.py times it).
FIRST_PAGE_ELEMENTS = (
    "PlotlyChart", "Metric", "Multiselect", "Selectbox", "DateInput", "Button", "rehype-raw",
)
# Scripts also run as soon as Streamlit's own has (a module script runs after the ones before it): Plotly's
# takes 0.65 s of the main thread to run in headless Chromium on the 2-core machine. Run then, it holds back
# the opening of the data stream (a trace shows the stream's handshake handled after it), but it no longer
# follows the page's last element: with only the preload the first chart came 0.15-0.2 s later. Starting it
# after the app's first message on the stream, so that the server runs the page meanwhile, measured no
# faster (benchmarks/dashboard.py's demo mode, new browser).
EVALUATED_EARLY = ("PlotlyChart",)

_IMPORT = re.compile(r'(?:from|import)\s*"\./([^"/]+\.js)"')
_LISTED = re.compile(r'"\./static/js/([^"/]+\.js)"')  # a <script src> or a <link href> of the page
_HEAD_END = "</head>"


def scripts_for(js_dir: Path, elements=FIRST_PAGE_ELEMENTS) -> list[str]:
    """File names of the elements' scripts and of everything they import, dependencies first."""
    by_stem: dict[str, list[str]] = {}
    for path in js_dir.glob("*.js"):
        by_stem.setdefault(path.name.split(".", 1)[0], []).append(path.name)
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or not (js_dir / name).is_file():
            return
        seen.add(name)
        for imported in _IMPORT.findall((js_dir / name).read_text(encoding="utf-8", errors="replace")):
            visit(imported)
        ordered.append(name)

    for element in elements:
        # One file per element name; two would mean a release bundles it differently: skip, do not guess.
        names = by_stem.get(element, [])
        if len(names) == 1:
            visit(names[0])
    return ordered


def rewrite_index(html: str, scripts: list[str]) -> str:
    """index.html with a modulepreload link for each script it does not load already, and an import of
    each EVALUATED_EARLY one."""
    listed = set(_LISTED.findall(html))
    links = "".join(
        f'    <link rel="modulepreload" crossorigin href="./static/js/{name}">\n'
        for name in scripts if name not in listed
    )
    links += "".join(
        f'    <script type="module">import("./static/js/{name}")</script>\n'
        for name in scripts if name.split(".", 1)[0] in EVALUATED_EARLY
    )
    if not links or _HEAD_END not in html:
        return html
    return html.replace(_HEAD_END, links + "  " + _HEAD_END, 1)


def build(source: Path, dest: Path, elements=FIRST_PAGE_ELEMENTS) -> Path:
    """A static folder in `dest`: links to `source`'s entries, and index.html with the preloads."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name != "index.html":
            os.symlink(entry, dest / entry.name)
    html = (source / "index.html").read_text(encoding="utf-8")
    scripts = scripts_for(source / "static" / "js", elements)
    (dest / "index.html").write_text(rewrite_index(html, scripts), encoding="utf-8")
    return dest


def install() -> Path | None:
    """Serve the rewritten page from now on; returns its folder, or None when left as it was."""
    try:
        from streamlit import file_util

        source = Path(file_util.get_static_dir())
        if not (source / "index.html").is_file() or not (source / "static" / "js").is_dir():
            return None
        dest = Path(tempfile.mkdtemp(prefix="clinic-analytics-static-"))
        atexit.register(shutil.rmtree, dest, True)
        build(source, dest / "static")
    except (ImportError, OSError):
        return None
    file_util.get_static_dir = lambda: str(dest / "static")
    return dest / "static"

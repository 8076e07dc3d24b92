"""dashboard.static_preload: Streamlit's page with the first page's element scripts announced up front."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit import file_util

from dashboard import static_preload

INDEX = """<!DOCTYPE html>
<html><head>
    <script type="module" crossorigin src="./static/js/index.AAA.js"></script>
    <link rel="modulepreload" crossorigin href="./static/js/runtime.BBB.js">
  </head><body><div id="root"></div></body></html>
"""


def _chunk(js: Path, name: str, body: str) -> None:
    (js / name).write_text(body, encoding="utf-8")


@pytest.fixture
def static(tmp_path) -> Path:
    """A small copy of how Streamlit bundles its scripts: hashed names, static and dynamic imports."""
    root = tmp_path / "static"
    js = root / "static" / "js"
    js.mkdir(parents=True)
    (root / "index.html").write_text(INDEX, encoding="utf-8")
    (root / "favicon.png").write_bytes(b"png")
    _chunk(js, "index.AAA.js", 'import{t}from"./runtime.BBB.js";const p=()=>import("./PlotlyChart.CCC.js");')
    _chunk(js, "runtime.BBB.js", "export const t=1;")
    _chunk(js, "PlotlyChart.CCC.js",
           'import{t}from"./runtime.BBB.js";import"./withFullScreen.DDD.js";import{a}from"./index.AAA.js";'
           'const later=()=>import("./Lazy.EEE.js");')
    _chunk(js, "withFullScreen.DDD.js", 'import{u}from"./util.FFF.js";')
    _chunk(js, "util.FFF.js", "export const u=1;")
    _chunk(js, "Lazy.EEE.js", "export const l=1;")
    _chunk(js, "Metric.GGG.js", 'import{u}from"./util.FFF.js";')
    _chunk(js, "Twice.HHH.js", "")
    _chunk(js, "Twice.III.js", "")
    return root


def test_an_elements_scripts_come_with_what_they_import_dependencies_first(static):
    scripts = static_preload.scripts_for(static / "static" / "js", ("PlotlyChart", "Metric"))
    assert scripts == ["runtime.BBB.js", "util.FFF.js", "withFullScreen.DDD.js", "index.AAA.js",
                       "PlotlyChart.CCC.js", "Metric.GGG.js"]
    # A dynamic import() is fetched only when the element asks for it: not announced.
    assert "Lazy.EEE.js" not in scripts


def test_an_element_name_the_release_bundles_differently_is_skipped_not_guessed(static):
    js = static / "static" / "js"
    assert static_preload.scripts_for(js, ("Twice", "NoSuchElement")) == []


def test_the_page_announces_each_script_once_and_runs_plotly_early():
    scripts = ["runtime.BBB.js", "util.FFF.js", "index.AAA.js", "PlotlyChart.CCC.js"]
    html = static_preload.rewrite_index(INDEX, scripts)
    head = html.split("</head>")[0]
    # Already on the page (as the entry script or a preload): not announced a second time.
    assert head.count("./static/js/index.AAA.js") == 1
    assert head.count("./static/js/runtime.BBB.js") == 1
    assert '<link rel="modulepreload" crossorigin href="./static/js/util.FFF.js">' in head
    assert '<link rel="modulepreload" crossorigin href="./static/js/PlotlyChart.CCC.js">' in head
    assert '<script type="module">import("./static/js/PlotlyChart.CCC.js")</script>' in head
    # Module scripts run in document order: the early import comes after Streamlit's own script.
    assert head.index('import("./static/js/PlotlyChart') > head.index('src="./static/js/index.AAA.js"')
    assert html.split("</head>")[1] == INDEX.split("</head>")[1]


def test_a_page_without_a_head_is_left_as_it_is():
    assert static_preload.rewrite_index("<html><body></body></html>", ["a.js"]) == "<html><body></body></html>"
    assert static_preload.rewrite_index(INDEX, []) == INDEX


def test_the_folder_serves_streamlits_own_files_and_the_rewritten_page(static, tmp_path):
    dest = static_preload.build(static, tmp_path / "served", ("PlotlyChart",))
    assert sorted(p.name for p in dest.iterdir()) == ["favicon.png", "index.html", "static"]
    for name in ("favicon.png", "static"):
        assert (dest / name).is_symlink() and (dest / name).resolve() == (static / name).resolve()
    assert not (dest / "index.html").is_symlink()
    assert 'href="./static/js/PlotlyChart.CCC.js"' in (dest / "index.html").read_text(encoding="utf-8")
    assert (static / "index.html").read_text(encoding="utf-8") == INDEX  # Streamlit's copy untouched


def test_the_installed_streamlit_bundles_every_first_page_element_once():
    """On a Streamlit upgrade that renames or splits an element's script, this fails instead of the
    page silently losing its preload."""
    js = Path(file_util.get_static_dir()) / "static" / "js"
    stems = [p.name.split(".", 1)[0] for p in js.glob("*.js")]
    for element in static_preload.FIRST_PAGE_ELEMENTS:
        assert stems.count(element) == 1, element
    scripts = static_preload.scripts_for(js)
    assert any(name.startswith("PlotlyChart.") for name in scripts)
    assert all((js / name).is_file() for name in scripts)


def test_install_points_streamlit_at_the_rewritten_folder(monkeypatch):
    original = file_util.get_static_dir
    monkeypatch.setattr(file_util, "get_static_dir", original)  # restored after the test
    served = static_preload.install()
    assert served is not None and file_util.get_static_dir() == str(served)
    html = (served / "index.html").read_text(encoding="utf-8")
    assert 'rel="modulepreload" crossorigin href="./static/js/PlotlyChart.' in html
    assert os.path.samefile(served / "static", Path(original()) / "static")

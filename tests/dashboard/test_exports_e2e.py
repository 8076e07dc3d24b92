"""End to end in headless Chromium against a `streamlit run` server: a chart's Download menu hands out
a PNG and a CSV made on click (in the download thread, through the warm Kaleido browser of the server),
and the Board pack page hands out a PDF and a PowerPoint. Screenshot in test-artifacts/dashboard/."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from pypdf import PdfReader

from dashboard.exports import boardpack
from pipelines import config
from browser import EXCEPTION_SELECTOR, chromium, streamlit_server, wait_until_drawn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(sample_db, artifacts):
    with streamlit_server(sample_db, artifacts / "exports-e2e-server.log") as url:
        yield url


def test_download_menu_and_board_pack_in_the_browser(server, artifacts, tmp_path):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
        page.goto(f"{server}/boosters")
        wait_until_drawn(page)
        page.get_by_role("button", name="Download", exact=True).first.click()
        with page.expect_download(timeout=90_000) as png:
            page.get_by_role("button", name="PNG", exact=True).first.click()
        path = tmp_path / png.value.suggested_filename
        png.value.save_as(path)
        assert path.read_bytes()[:4] == b"\x89PNG" and path.name.startswith("boosters-interval_histogram")
        with page.expect_download(timeout=90_000) as csv:
            page.get_by_role("button", name="CSV", exact=True).first.click()
        table = pd.read_csv(io.BytesIO(open(csv.value.path(), "rb").read()))
        assert "part" in table and set(table["part"]) == {"histogram", "summary"}
        page.screenshot(path=str(artifacts / "download-menu.png"))
        assert page.locator(EXCEPTION_SELECTOR).count() == 0

        page.goto(f"{server}/board-pack")
        page.get_by_role("button", name="Build the board pack").wait_for(timeout=60_000)
        page.get_by_role("button", name="Build the board pack").click()
        page.get_by_role("button", name="PDF", exact=True).wait_for(timeout=180_000)
        with page.expect_download(timeout=90_000) as pdf:
            page.get_by_role("button", name="PDF", exact=True).click()
        reader = PdfReader(pdf.value.path())
        charts = sum(len(boardpack.SECTIONS[name]) for name in boardpack.DEFAULT_SECTIONS)
        # a cover, a page per chart, and the weekday x hour chart once per clinic (each sample clinic is open)
        clinics = len(set(pd.read_csv(config.SAMPLE_DIR / "clinics.csv")["clinic_id"]))
        assert len(reader.pages) == 1 + charts - 1 + clinics and "Board pack" in reader.pages[0].extract_text()
        assert page.get_by_text(f"{charts - 1 + clinics} pages and a cover").count() == 1
        page.screenshot(path=str(artifacts / "board-pack-page.png"), full_page=True)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0

"""End to end in real headless Chromium against a `streamlit run` server started here: every page,
a filter changed in the sidebar, the URL reloaded with the filter still applied, navigation keeps
it, bad links explained, an empty warehouse explained, and no Streamlit exception anywhere.
Screenshots go to test-artifacts/dashboard/ (look at them)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from browser import (PAGES, VIEWPORT, chart_titles, choose, full_screenshot, no_exception, streamlit_server, url_params,
                     wait_until_drawn)
from dashboard_testing import SECTIONS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(sample_db, artifacts):
    with streamlit_server(sample_db, artifacts / "e2e-server.log") as url:
        yield url


def test_every_page_draws_without_exception(server, page, artifacts):
    for slug, title in PAGES.items():
        page.goto(f"{server}/{slug}")
        wait_until_drawn(page, charts=True)
        no_exception(page, title)
        assert page.get_by_role("heading", name=title).count() >= 1, title
        assert url_params(page).get("start"), title  # the default period is in the URL
        full_screenshot(page, artifacts / f"e2e-{slug or 'overview'}.png")


def test_no_request_leaves_this_computer(server, page):
    """Patient-data analytics must not tell anyone else who opens which page: every request the
    browser makes (scripts, fonts, the favicon, the data stream) goes to the app's own server."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for slug, title in PAGES.items():
        page.goto(f"{server}/{slug}")
        wait_until_drawn(page, charts=True)
        no_exception(page, title)
    icon = page.evaluate("Array.from(document.querySelectorAll('link[rel~=icon]')).map(l => l.href)")
    assert icon and all(href.startswith(server) for href in icon), icon
    assert len(requested) > len(PAGES)
    own_host = urlparse(server).netloc
    outside = sorted({url for url in requested if urlparse(url).scheme not in ("data", "blob")
                      and urlparse(url).netloc != own_host})
    assert not outside, outside


def test_a_new_browser_fetches_the_chart_script_before_the_page_runs(server, page):
    """The served page announces the first page's element scripts (dashboard.static_preload): a
    browser with nothing cached asks for Plotly's script while it loads Streamlit's own, not after the
    first chart arrives over the data stream."""
    events: list[tuple[str, str]] = []
    page.on("request", lambda request: events.append(("request", request.url)))
    page.on("websocket", lambda ws: events.append(("websocket", ws.url)))
    page.goto(server)
    wait_until_drawn(page, charts=True)
    no_exception(page, "Overview")
    stream = next(i for i, (kind, url) in enumerate(events) if kind == "websocket" and "_stcore/stream" in url)
    plotly = [i for i, (kind, url) in enumerate(events)
              if kind == "request" and re.search(r"/static/js/PlotlyChart\.[^/]+\.js$", url)]
    assert plotly and plotly[0] < stream, events[: stream + 1]
    assert len(plotly) == 1  # announced once, and the chart used that very fetch


def test_filter_change_survives_reload_and_navigation(server, page, artifacts):
    page.goto(f"{server}/outcomes")
    wait_until_drawn(page)
    clinics = page.get_by_test_id("stMultiSelect").filter(has_text="Clinics")
    clinics.locator("input").click()
    page.get_by_role("option", name="Denver Interventional Psychiatry").click()
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"clinic=DEN"), timeout=60_000)
    wait_until_drawn(page)
    no_exception(page, "after the filter change")
    main = page.get_by_test_id("stMain")
    assert "Denver Interventional Psychiatry" in main.inner_text()

    filtered = page.url
    page.reload()
    wait_until_drawn(page)
    no_exception(page, "after reload")
    assert url_params(page)["clinic"] == ["DEN"]
    assert "Denver Interventional Psychiatry" in page.get_by_test_id("stSidebar").inner_text()
    assert "Denver Interventional Psychiatry" in page.get_by_test_id("stMain").inner_text()
    full_screenshot(page, artifacts / "e2e-outcomes-filtered-reloaded.png")

    page.get_by_test_id("stSidebarNav").get_by_text("Capacity").click()
    page.wait_for_url(re.compile(r"/capacity\?"), timeout=60_000)
    wait_until_drawn(page)
    no_exception(page, "capacity after navigation")
    assert url_params(page)["clinic"] == ["DEN"], page.url
    assert url_params(page)["start"] == parse_qs(urlparse(filtered).query)["start"]
    full_screenshot(page, artifacts / "e2e-capacity-filtered.png")


@pytest.mark.parametrize("slug", ["outcomes", "safety"])
def test_a_long_pages_sections_open_one_at_a_time_and_stay_in_the_link(server, page, artifacts, slug):
    """Outcomes and Safety are sections (tabs) of which only the open one is drawn: clicking one draws its charts
    and puts it in the URL, a reload keeps it, another page drops it, and coming back opens it again."""
    key, labels = SECTIONS[slug]
    page.goto(f"{server}/{slug}?clinic=NYC")
    wait_until_drawn(page, charts=True)
    no_exception(page, slug)
    tabs = page.get_by_test_id("stMain").get_by_role("tab")
    assert tabs.all_inner_texts() == labels
    assert key not in url_params(page)  # the first section is the default: the link stays as it was
    first_titles = chart_titles(page)
    assert first_titles
    for label in labels[1:]:
        tabs.filter(has_text=label).click()
        page.wait_for_url(re.compile(f"{key}="), timeout=60_000)
        wait_until_drawn(page, charts=label != "Sessions to review")
        no_exception(page, f"{slug} / {label}")
        assert url_params(page)[key] == [label], page.url
        assert page.get_by_role("tab", selected=True).inner_text() == label
        titles = chart_titles(page)
        assert not set(titles) & set(first_titles), (label, titles)  # the first section's charts are gone
        full_screenshot(page, artifacts / f"e2e-{slug}-{label.lower().replace(' ', '-')}.png")
    opened = labels[-1]
    # a filter changed with a section open: the sidebar rewrote the whole URL, section included, and Streamlit
    # refused to set a parameter bound to a widget ("Cannot directly set query parameter 'out_tab'")
    choose(page, page.get_by_test_id("stMultiSelect").filter(has_text="Clinics"), "Denver Interventional Psychiatry")
    page.wait_for_url(re.compile(r"clinic=DEN"), timeout=60_000)
    wait_until_drawn(page, charts=True)
    no_exception(page, f"{slug} / {opened} after a filter change")
    assert page.get_by_role("tab", selected=True).inner_text() == opened
    assert url_params(page)[key] == [opened] and url_params(page)["clinic"] == ["NYC", "DEN"], page.url
    assert "2 clinics" in page.get_by_test_id("stMain").inner_text()
    page.reload()
    wait_until_drawn(page, charts=True)
    assert page.get_by_role("tab", selected=True).inner_text() == opened
    assert url_params(page)["clinic"] == ["NYC", "DEN"]
    page.get_by_test_id("stSidebarNav").get_by_text("Capacity").click()
    page.wait_for_url(re.compile(r"/capacity\?"), timeout=60_000)
    wait_until_drawn(page, charts=True)
    assert key not in url_params(page), page.url
    page.get_by_test_id("stSidebarNav").get_by_text(PAGES[slug], exact=True).click()
    page.wait_for_url(re.compile(f"/{slug}\\?"), timeout=60_000)
    wait_until_drawn(page, charts=True)
    no_exception(page, f"{slug} again")
    assert page.get_by_role("tab", selected=True).inner_text() == opened
    assert url_params(page)["clinic"] == ["NYC", "DEN"]
    page.goto(f"{server}/{slug}?{key}=No+such+section&clinic=NYC")  # a link to a section the page does not have
    wait_until_drawn(page, charts=True)
    no_exception(page, f"{slug} with an unknown section")
    assert page.get_by_role("tab", selected=True).inner_text() == labels[0]


def test_the_overview_by_its_name_is_the_default_page(server, page):
    """Every page is at /<its name>; the Overview, served at "/", is found at /overview too, with the
    selection of the link kept (not Streamlit's "Page not found")."""
    page.goto(f"{server}/overview?clinic=DEN&clinic=OKC")
    wait_until_drawn(page, charts=True)
    no_exception(page, "overview by name")
    assert urlparse(page.url).path == "/", page.url
    assert url_params(page)["clinic"] == ["DEN", "OKC"], page.url
    assert page.get_by_role("heading", name="Overview").count() >= 1
    assert "Page not found" not in page.locator("body").inner_text()


def test_bad_link_is_explained(server, page, artifacts):
    page.goto(f"{server}/safety?clinic=NOPE&clinic=OKC&start=2026-02-30&modality=%3Cscript%3E")
    wait_until_drawn(page)
    no_exception(page, "bad link")
    alerts = page.get_by_test_id("stAlert").all_inner_texts()
    text = " ".join(alerts)
    assert "NOPE" in text and "YYYY-MM-DD" in text, alerts
    assert url_params(page)["clinic"] == ["OKC"]  # the URL now says what is shown
    full_screenshot(page, artifacts / "e2e-safety-bad-link.png")


def test_selection_with_nothing_explains_itself(server, page, artifacts):
    page.goto(f"{server}/outcomes?clinic=DEN&start=2025-01-05&end=2025-01-05&modality=esketamine_nasal"
              "&indication=postpartum_depression")
    wait_until_drawn(page)
    no_exception(page, "empty selection")
    assert "No evaluable course for this selection" in page.get_by_test_id("stMain").inner_text()
    full_screenshot(page, artifacts / "e2e-outcomes-nothing-selected.png")


def test_empty_warehouse_explains_itself(empty_db, browser, artifacts):
    with streamlit_server(empty_db, artifacts / "e2e-server-empty.log") as url:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        try:
            for slug, title in PAGES.items():
                page.goto(f"{url}/{slug}")
                wait_until_drawn(page, charts=False)
                page.get_by_test_id("stAlert").first.wait_for(timeout=60_000)
                no_exception(page, title)
                assert "loaded yet" in page.get_by_test_id("stMain").inner_text(), title
            full_screenshot(page, artifacts / "e2e-empty-warehouse.png")
        finally:
            context.close()


def test_no_chart_toolbar_button_downloads_an_image(server, page):
    """Every download is suppressed and logged, so nothing may leave the app but through its Download menus:
    Plotly's toolbar kept "Download plot as a PNG", which saved the figure on screen (e.g. "PCL-5 (n=6)"),
    unsuppressed and unlogged. Each toolbar button of each chart is clicked; none downloads anything, and
    zoom, pan and reset are still there."""
    downloads = []
    page.on("download", lambda d: downloads.append(d.suggested_filename))
    page.goto(f"{server}/outcomes")
    wait_until_drawn(page, charts=True)
    no_exception(page, "outcomes")
    charts = page.locator('[data-testid="stPlotlyChart"]')
    assert charts.count() >= 2
    titles_seen: set[str] = set()
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        buttons = chart.locator(".modebar-btn")
        titles = [buttons.nth(i).get_attribute("data-title") or "" for i in range(buttons.count())]
        assert titles, f"chart {index} has no toolbar"
        titles_seen |= set(titles)
        for i in range(buttons.count()):
            # the button's own click handler (Plotly shows the toolbar on hover only, and a chart's drag layer
            # can lie over the next chart's toolbar)
            buttons.nth(i).dispatch_event("click")
            page.wait_for_timeout(300)
        page.wait_for_timeout(1000)  # a download starts asynchronously
        assert not downloads, (index, titles, downloads)
        assert not [t for t in titles if "download" in t.lower() or "png" in t.lower()], titles
    assert any("zoom" in t.lower() for t in titles_seen) and any("pan" in t.lower() for t in titles_seen)
    assert any("reset" in t.lower() for t in titles_seen), titles_seen
    no_exception(page, "after the toolbar clicks")

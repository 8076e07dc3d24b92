"""The planning page end to end in headless Chromium against a real `streamlit run` (tests/dashboard/
browser.py): drawn with no exception, a scenario planned from the form and kept in the URL across a
reload, saved and compared with the plan on screen, its parameters dropped on other pages, a bad link
explained. Screenshots go to test-artifacts/dashboard/e2e-planning*.png (look at them)."""

from __future__ import annotations

import re

import pytest

from browser import chart_titles, choose, full_screenshot, no_exception, streamlit_server, url_params, wait_until_drawn

pytestmark = pytest.mark.e2e

# The plan's charts are in three sections (tabs), only the open one drawn: the first has two.
SECTIONS = {"Utilization and chairs": ["Projected chair utilization by week, 6 Jul – 4 Oct 2026", "How many chairs"],
            "Busy hours": ["When chairs will be busy", "Peak-hour overflow"],
            "Demand and waits": ["Wait for a first infusion", "New patients per week", "Projected sessions per week"]}
PLAN_CHARTS = len(SECTIONS["Utilization and chairs"])


def _main(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def _charts(page) -> int:
    """Drawn charts (wait_until_drawn has checked that every chart container holds a drawn figure)."""
    return page.locator('[data-testid="stPlotlyChart"]').count()


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e-scenarios")


@pytest.fixture(scope="module")
def server(sample_db, artifacts, scenarios):
    mp = pytest.MonkeyPatch()
    mp.setenv("CLINIC_ANALYTICS_SCENARIOS", str(scenarios))  # the server inherits it
    try:
        with streamlit_server(sample_db, artifacts / "e2e-planning-server.log") as url:
            yield url
    finally:
        mp.undo()


def test_the_planning_page_draws(server, page, artifacts):
    page.goto(f"{server}/planning")
    wait_until_drawn(page)
    no_exception(page, "planning")
    assert page.get_by_role("heading", name="Planning").count() >= 1
    assert url_params(page)["plan_clinic"] == ["DEN"]
    assert _charts(page) == PLAN_CHARTS
    text = _main(page)
    for fragment in ("Fewest chairs for 80%", "Peak week, booked", "Wait for a first infusion", "Peak-hour overflow",
                     "Induction rules kept", *SECTIONS["Utilization and chairs"]):
        assert fragment in text, fragment
    full_screenshot(page, artifacts / "e2e-planning.png")
    tabs = page.get_by_test_id("stMain").get_by_role("tab")
    assert tabs.all_inner_texts() == list(SECTIONS)
    for label, charts in list(SECTIONS.items())[1:]:
        tabs.filter(has_text=label).click()
        page.wait_for_url(re.compile(r"planning_tab="), timeout=60_000)
        wait_until_drawn(page)
        no_exception(page, label)
        assert _charts(page) == len(charts), label
        titles = chart_titles(page)
        assert all(any(t.startswith(c) for t in titles) for c in charts), (label, titles)
        assert url_params(page)["plan_clinic"] == ["DEN"]
        full_screenshot(page, artifacts / f"e2e-planning-{label.lower().replace(' ', '-')}.png")
    tabs.filter(has_text="Utilization and chairs").click()
    page.wait_for_url(lambda url: "planning_tab" not in url, timeout=60_000)
    wait_until_drawn(page)


def test_a_scenario_planned_saved_reloaded_and_compared(server, page, artifacts, scenarios):
    page.goto(f"{server}/planning?plan_clinic=OKC")
    wait_until_drawn(page)
    chairs = page.get_by_test_id("stNumberInput").filter(has_text="Chairs").first.locator("input")
    assert chairs.input_value() == "8"
    chairs.fill("6")
    page.get_by_role("button", name="Plan this scenario").click()
    page.wait_for_url(re.compile(r"plan_chairs=6"), timeout=120_000)
    wait_until_drawn(page)
    no_exception(page, "after planning a scenario")
    assert "6 chairs (now 8)" in _main(page)

    page.reload()  # the link holds the clinic and what the scenario changes
    wait_until_drawn(page)
    no_exception(page, "after reload")
    assert url_params(page)["plan_clinic"] == ["OKC"] and url_params(page)["plan_chairs"] == ["6"]
    assert "6 chairs (now 8)" in _main(page)
    assert page.get_by_test_id("stNumberInput").filter(has_text="Chairs").first.locator("input").input_value() == "6"

    page.get_by_test_id("stTextInput").filter(has_text="Name").locator("input").fill("Six chairs")
    page.get_by_role("button", name="Save the scenario on screen").click()
    page.get_by_text("Saved “Six chairs”").wait_for(timeout=120_000)
    wait_until_drawn(page)
    assert (scenarios / "six-chairs.json").exists()

    page.get_by_role("button", name="Back to no change").click()
    page.wait_for_url(lambda url: "plan_chairs" not in url, timeout=120_000)
    wait_until_drawn(page)
    compare = page.get_by_test_id("stMultiSelect").filter(has_text="Scenarios side by side")
    for option in ("On screen: current", "Six chairs"):
        choose(page, compare, option)
        wait_until_drawn(page)
    page.get_by_text("Scenarios compared: booked utilization").wait_for(timeout=120_000)
    wait_until_drawn(page)
    no_exception(page, "comparison")
    assert _charts(page) == PLAN_CHARTS + 1
    assert page.get_by_test_id("stDataFrame").count() == 2  # the saved scenarios and the comparison table
    full_screenshot(page, artifacts / "e2e-planning-compare.png")

    page.get_by_test_id("stSidebarNav").get_by_text("Capacity").click()
    page.wait_for_url(re.compile(r"/capacity"), timeout=60_000)
    wait_until_drawn(page)
    assert not any(k.startswith("plan_") for k in url_params(page)), page.url  # the page's own parameters stay there
    page.get_by_test_id("stSidebarNav").get_by_text("Planning").click()
    page.wait_for_url(re.compile(r"/planning\?.*plan_clinic=OKC"), timeout=60_000)
    wait_until_drawn(page)
    no_exception(page, "back on planning")


def test_a_bad_planning_link_is_explained(server, page, artifacts):
    page.goto(f"{server}/planning?plan_chairs=999&plan_days=Funday&plan_noshow=0.08&plan_name=%3Cb%3Ehi%3C%2Fb%3E")
    wait_until_drawn(page)
    no_exception(page, "bad planning link")
    alerts = " ".join(page.get_by_test_id("stAlert").all_inner_texts())
    assert "999" in alerts and "Funday" in alerts, alerts
    assert url_params(page)["plan_clinic"] == ["DEN"] and "plan_chairs" not in url_params(page)
    assert url_params(page)["plan_noshow"] == ["0.08"]  # the good part of the link is kept
    assert "<b>hi</b>" in _main(page)  # shown as text, not as HTML
    full_screenshot(page, artifacts / "e2e-planning-bad-link.png")

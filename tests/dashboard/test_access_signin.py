"""Real sign-in in headless Chromium: a local OpenID provider (oidc-provider-mock) started here, a
`streamlit run` server with sign-in configured by a secrets file of the test, one person per role.
Each signs in through the provider, lands on the role's pages, sees only what the role allows, and
signs out (through the provider's end-session page) back to the sign-in screen; a person without a
grant gets the no-access page; demo mode refuses a warehouse that is not the bundled sample.
Screenshots: test-artifacts/access/ (look at them)."""

from __future__ import annotations

import re

import pytest

from access_testing import app_server, oidc_provider, sign_in, write_secrets
from browser import EXCEPTION_SELECTOR, VIEWPORT, free_port, full_screenshot, wait_until_drawn
from dashboard_testing import ROOT
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer
from pipelines.users.audit import AccessLog
from pipelines.users.store import RolesStore

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts" / "access"
PEOPLE = {
    "medical_director": ("director@clinic.test", ()),
    "operations": ("ops@clinic.test", ()),
    "clinic_manager": ("denver.manager@clinic.test", ("DEN",)),
    "board": ("trustee@clinic.test", ()),
}
NO_GRANT = "new.hire@clinic.test"
NAV = {
    "medical_director": ["Overview", "Outcomes", "Safety", "Boosters", "Capacity", "Planning", "Data quality",
                         "Board pack", "Access log"],
    "operations": ["Overview", "Outcomes", "Boosters", "Capacity", "Planning", "Data quality"],
    "clinic_manager": ["Overview", "Outcomes", "Safety", "Boosters", "Capacity", "Planning"],
    "board": ["Overview", "Outcomes", "Safety", "Boosters", "Capacity", "Board pack"],
}
FORBIDDEN_PATH = {"operations": "safety", "clinic_manager": "data-quality", "board": "data-quality"}


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def access(tmp_path_factory):
    store = RolesStore(tmp_path_factory.mktemp("signin") / "access")
    for role, (email, clinics) in PEOPLE.items():
        store.grant(email, role, clinics)
    return store


@pytest.fixture(scope="module")
def server(sample_db, access, artifacts):
    with oidc_provider([email for email, _ in PEOPLE.values()] + [NO_GRANT]) as issuer:
        port = free_port()
        secrets = write_secrets(access.folder.parent / "secrets.toml", issuer, port)
        with app_server(sample_db, access.folder, artifacts / "signin-server.log", secrets=secrets, port=port) as url:
            yield url


def _nav(page) -> list[str]:
    # each link reads "<icon name>\n\n<title>": keep the title
    return [t.strip().splitlines()[-1].strip() for t in page.get_by_test_id("stSidebarNav").locator("a").all_inner_texts()]


def _main(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def _sign_out(page, base: str) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click(timeout=60_000)  # the provider's end-session page
    page.wait_for_url(re.compile(re.escape(base) + r"/?(\?.*)?$"), timeout=60_000)
    wait_until_drawn(page, charts=False)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)


@pytest.mark.parametrize("role", list(PEOPLE))
def test_each_role_signs_in_sees_its_pages_and_signs_out(role, server, page, access, artifacts):
    email, _ = PEOPLE[role]
    page.goto(server)
    wait_until_drawn(page, charts=False)
    # Streamlit loads a widget's script when it first draws one: the button may come a moment after the run.
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Sign in").count() == 1
    assert page.locator(".js-plotly-plot").count() == 0  # nothing before sign-in
    if role == "medical_director":
        full_screenshot(page, artifacts / "signin-screen.png")

    sign_in(page, server, email)
    wait_until_drawn(page, charts=True)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    assert _nav(page) == NAV[role]
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert email in sidebar
    main = _main(page)
    assert "Overview" in main
    if role == "clinic_manager":
        assert "Denver Interventional Psychiatry" in main
        assert "Oklahoma" not in main and "New York" not in main
        assert "rows in quarantine" not in main.lower()
    full_screenshot(page, artifacts / f"{role}-overview.png")

    if role in FORBIDDEN_PATH:  # a page of another role, typed into the address bar
        page.goto(f"{server}/{FORBIDDEN_PATH[role]}")
        wait_until_drawn(page, charts=False)
        main = _main(page)
        assert "Quarantined rows" not in main and "Side effects by effect" not in main
        assert _nav(page) == NAV[role]
        dialog = page.get_by_role("dialog")
        assert "Page not found" in dialog.inner_text()  # Streamlit: the page is not in this viewer's navigation
        full_screenshot(page, artifacts / f"{role}-forbidden-{FORBIDDEN_PATH[role]}.png")
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached", timeout=30_000)

    if role == "clinic_manager":  # a link naming other clinics
        page.goto(f"{server}/outcomes?clinic=OKC&clinic=NYC&clinic=DEN")
        wait_until_drawn(page, charts=True)
        main = _main(page)
        assert "Oklahoma" not in main and "New York" not in main
        assert "Ignored clinic" in " ".join(page.get_by_test_id("stAlert").all_inner_texts())
        full_screenshot(page, artifacts / "clinic_manager-link-to-other-clinics.png")
    if role == "operations":
        page.get_by_test_id("stSidebarNav").get_by_text("Data quality").click()
        wait_until_drawn(page, charts=True)
        assert "medical director only" in _main(page)
        full_screenshot(page, artifacts / "operations-data-quality.png")
    if role == "medical_director":
        page.get_by_test_id("stSidebarNav").get_by_text("Access log").click()
        page.get_by_role("heading", name="Access log").wait_for(timeout=60_000)
        wait_until_drawn(page, charts=False)
        signins = re.search(r"Sign-ins\s+(\d+)", _main(page))  # the table itself is drawn on a canvas
        assert signins and int(signins.group(1)) >= 1, _main(page)
        full_screenshot(page, artifacts / "medical_director-access-log.png")
    if role == "board":
        page.get_by_test_id("stSidebarNav").get_by_text("Board pack").click()
        page.get_by_role("heading", name="Board pack").wait_for(timeout=60_000)
        wait_until_drawn(page, charts=False)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        full_screenshot(page, artifacts / "board-board-pack.png")

    _sign_out(page, server)
    assert page.get_by_test_id("stSidebarNav").count() == 0
    events = [(e["event"], e["actor"]) for e in AccessLog(access.folder).read()]
    assert ("sign_in", email) in events and ("sign_out", email) in events


def test_signed_in_without_a_grant_gets_the_no_access_page(server, page, access, artifacts):
    sign_in(page, server, NO_GRANT)
    main = _main(page)
    assert "No access yet" in main and NO_GRANT in main and "users grant" in main
    assert page.locator(".js-plotly-plot").count() == 0 and page.get_by_test_id("stSidebarNav").count() == 0
    page.goto(f"{server}/outcomes?clinic=DEN")  # a deep link changes nothing
    wait_until_drawn(page, charts=False)
    assert "No access yet" in _main(page) and page.locator(".js-plotly-plot").count() == 0
    full_screenshot(page, artifacts / "no-grant.png")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click(timeout=60_000)
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    assert ("no_access", NO_GRANT) in [(e["event"], e["actor"]) for e in AccessLog(access.folder).read()]


def test_a_download_clicked_after_the_grant_was_revoked_serves_nothing(server, page, access, artifacts):
    """A chart's file is made when its Download button is clicked, maybe long after the page was drawn. The
    board member downloads a CSV; is revoked; clicks again on the page still open: no file, a short error under
    the button, no export in the access log, and the next click on the app shows the no-access page."""
    email, _ = PEOPLE["board"]

    def exports() -> int:
        return sum(1 for e in AccessLog(access.folder).read() if e["event"] == "export" and e["actor"] == email)

    sign_in(page, server, email)
    page.goto(f"{server}/outcomes")
    wait_until_drawn(page, charts=True)
    try:
        page.get_by_role("button", name="Download").first.click()
        csv = page.get_by_role("button", name="CSV", exact=True)
        csv.wait_for(timeout=30_000)
        before = exports()
        with page.expect_download(timeout=60_000) as got:
            csv.click()
        assert got.value.suggested_filename.endswith(".csv")
        assert exports() == before + 1
        downloads: list[str] = []
        page.on("download", lambda d: downloads.append(d.suggested_filename))
        access.revoke(email)
        csv.click()
        page.get_by_test_id("stDownloadButton").get_by_text(re.compile("fail", re.I)).first.wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        assert not downloads and exports() == before + 1
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        full_screenshot(page, artifacts / "board-download-after-revocation.png")
        page.keyboard.press("Escape")
        page.get_by_test_id("stSidebarNav").get_by_text("Capacity").click()  # the next click on the app
        page.get_by_text("No access yet").wait_for(timeout=60_000)
    finally:
        access.grant(email, "board", ())


def test_demo_mode_banner_and_refusal(sample_db, browser, artifacts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    batch = folder / "batch"
    batch.mkdir()
    (batch / "clinics.csv").write_text((ROOT / "data_samples" / "clinics.csv").read_text().replace("Denver Interventional Psychiatry", "Denver Ketamine"))
    foreign = folder / "wh" / "clinic_analytics.duckdb"
    load_batch(batch, db=foreign, pseudonymizer=Pseudonymizer(b"k" * 32))
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        with app_server(sample_db, folder / "access", artifacts / "demo-server.log") as url:
            page.goto(url)
            wait_until_drawn(page, charts=True)
            assert "Demo mode" in _main(page) and "Access log" not in _nav(page)
            full_screenshot(page, artifacts / "demo-sample.png")
        with app_server(foreign, folder / "access", artifacts / "demo-refused-server.log") as url:
            page.goto(f"{url}/outcomes")
            wait_until_drawn(page, charts=False)
            main = _main(page)
            assert "Sign-in is not configured" in main and "secrets.toml" in main and "clinics.csv" in main
            assert page.locator(".js-plotly-plot").count() == 0 and page.locator(EXCEPTION_SELECTOR).count() == 0
            full_screenshot(page, artifacts / "demo-refused-foreign-warehouse.png")
    finally:
        context.close()

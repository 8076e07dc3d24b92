"""Entry point: `streamlit run streamlit_app.py` (or `make run`).

The sign-in gate runs first (dashboard.auth: sign-in, the viewer's role and Scope, demo mode); the
navigation then offers only the pages of the viewer's role (auth.ROLE_PAGES, by the keys below: a page
added here without a role in ROLE_PAGES is shown to the medical director only). The sidebar filters
live here, in the entry point, so they persist across pages and stay in the URL; pages in
dashboard/app_pages/ are layout only.
"""

from pathlib import Path

import streamlit as st

from dashboard import auth, prefetch, settings, ui, warmup

# A file served by the app itself: a material-icon or emoji page icon makes the browser fetch the
# favicon from Google's or a CDN's servers, an outside call on every page load.
FAVICON = str(Path(__file__).parent / "dashboard" / "assets" / "favicon.png")
st.set_page_config(page_title=f"{settings.network_name()} · Clinic analytics", page_icon=FAVICON, layout="wide")

PAGES = {  # key (auth.ROLE_PAGES) -> page
    # The default page is served at "/"; its own url_path is never shown, and "overview" is taken
    # by the forwarding page below (Streamlit names a page by its url_path, so two cannot share one).
    "overview": st.Page("dashboard/app_pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="home", default=True),
    "outcomes": st.Page("dashboard/app_pages/outcomes.py", title="Outcomes", icon=":material/trending_down:", url_path="outcomes"),
    "safety": st.Page("dashboard/app_pages/safety.py", title="Safety", icon=":material/health_and_safety:", url_path="safety"),
    "boosters": st.Page("dashboard/app_pages/boosters.py", title="Boosters", icon=":material/event_repeat:", url_path="boosters"),
    "capacity": st.Page("dashboard/app_pages/capacity.py", title="Capacity", icon=":material/event_seat:", url_path="capacity"),
    "planning": st.Page("dashboard/app_pages/planning.py", title="Planning", icon=":material/event_upcoming:", url_path="planning"),
    "data_quality": st.Page("dashboard/app_pages/data_quality.py", title="Data quality", icon=":material/fact_check:", url_path="data-quality"),
    "board_pack": st.Page("dashboard/app_pages/board_pack.py", title="Board pack", icon=":material/picture_as_pdf:", url_path="board-pack"),
    "access_log": st.Page("dashboard/app_pages/access_log.py", title="Access log", icon=":material/policy:", url_path="access-log"),
}


def _forward_to_overview() -> None:
    st.switch_page(PAGES["overview"], query_params={key: st.query_params.get_all(key) for key in st.query_params})


# "/overview" typed or bookmarked (every other page is at "/<its name>") would show Streamlit's
# "Page not found" before the Overview: a hidden page of that name forwards to "/", selection kept.
OVERVIEW_BY_NAME = st.Page(_forward_to_overview, title="Overview", url_path="overview", visibility="hidden")

warmup.start()  # slow imports of later pages, in the background, once per process
viewer = auth.gate(settings.network_name())  # a screen and a stop for anyone not allowed in
pages = auth.pages_for(viewer, PAGES)
page = st.navigation(pages + ([OVERVIEW_BY_NAME] if PAGES["overview"] in pages else []))
state = ui.sidebar()
auth.sidebar_account(viewer)
try:
    ui.run_page(page)  # a page that fails on a warehouse built by an earlier release says what to do
finally:  # the page is on its way to the browser: prepare the other pages' results in the background
    if state.ready:
        prefetch.after_page([key for key in PAGES if viewer.may_open(key)], state.scope, state.filters)

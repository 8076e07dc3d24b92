"""Exports in the app (AppTest): the download menu under every chart, the Board pack page, and the
suppression hook for viewers who see aggregates only (the board role)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth
from dashboard_testing import ROOT
from pipelines.users.audit import AccessLog
from pipelines.users.store import ENV_ACCESS_DIR, RolesStore

APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 240
AUTH = {"auth": {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 40, "client_id": "analytics",
    "client_secret": "s" * 20, "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}}
RULE = "are not shown (CMS cell-size rule)"


def _signed_in(email: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets = AUTH
    at.user = {"is_logged_in": True, "email": email, "email_verified": True, "iat": int(time.time()) - 60}
    return at


@pytest.fixture
def access(tmp_path, monkeypatch) -> RolesStore:
    folder = tmp_path / "access"
    monkeypatch.setenv(ENV_ACCESS_DIR, str(folder))
    store = RolesStore(folder)
    store.grant("board@clinic.test", "board", ())
    store.grant("md@clinic.test", "medical_director", ())
    return store


def _figures(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


def test_every_chart_has_a_download_menu(sample_db, use_db):
    use_db(sample_db)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/safety.py").run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    buttons = [b for b in at.get("download_button")]
    assert charts and len(buttons) == 4 * len(charts)
    labels = {b.proto.label for b in buttons}
    assert labels == {"PNG", "SVG", "PDF", "CSV"}


def test_board_sees_suppressed_charts_and_the_medical_director_does_not(access, sample_db, use_db):
    use_db(sample_db)
    board = _signed_in("board@clinic.test").run()
    board.switch_page("dashboard/app_pages/outcomes.py").run()
    assert not board.exception, [e.value for e in board.exception]
    assert board.session_state["_page_state"].scope.aggregates_only
    assert any(RULE in spec for spec in _figures(board))
    md = _signed_in("md@clinic.test").run()
    md.switch_page("dashboard/app_pages/outcomes.py").run()
    assert not md.session_state["_page_state"].scope.aggregates_only
    assert not any(RULE in spec for spec in _figures(md))


def _build_pack(sections: list[str]) -> AppTest:
    """The Board pack page with these sections chosen, after a click on its build button."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    at.multiselect(key="bp_sections").set_value(sections).run()
    [build] = [b for b in at.button if b.label == "Build the board pack"]
    build.click().run()
    return at


def test_board_pack_page_builds_both_files(sample_db, use_db):
    use_db(sample_db)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="bp_quarter").value.label == "Q2 2026"
    at.multiselect(key="bp_sections").set_value(["overview", "boosters"]).run()
    [build] = [b for b in at.button if b.label == "Build the board pack"]
    build.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("5 pages and a cover" in s.value for s in at.success)
    result = at.session_state["bp_result"]
    assert result["pdf"].startswith(b"%PDF") and result["pptx"][:2] == b"PK"
    downloads = {b.proto.label for b in at.get("download_button")}
    assert {"PDF", "PowerPoint"} <= downloads


def test_board_pack_page_says_when_the_files_no_longer_match_the_choices(sample_db, use_db):
    """After a build, choosing another quarter left "Board pack for Q2 2026" and its downloads under
    "Q1 2026" with nothing to say they were not the pack chosen."""
    use_db(sample_db)
    at = _build_pack(["overview"])
    assert not at.exception, [e.value for e in at.exception]
    assert any("Board pack for Q2 2026" in s.value for s in at.success) and not at.warning
    at.selectbox(key="bp_quarter").select_index(at.selectbox(key="bp_quarter").options.index("Q1 2026")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("for Q2 2026" in w.value and "not for the choices above" in w.value for w in at.warning)
    at.selectbox(key="bp_quarter").select_index(at.selectbox(key="bp_quarter").options.index("Q2 2026")).run()
    assert not at.warning  # back to the choices it was built for


def test_board_pack_page_says_so_when_a_chart_is_too_big_to_draw(sample_db, use_db, monkeypatch):
    from dashboard.exports import render

    def too_slow(*args, **kwargs):
        raise render.RenderTimeout("drawing a chart of 900,000 points took longer than 90 s; choose a shorter "
                                   "period or fewer clinics")

    monkeypatch.setattr(render, "to_bytes", too_slow)
    use_db(sample_db)
    at = _build_pack(["overview"])
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value.replace("\\", "") for e in at.error] == ["The board pack was not built: drawing a chart of 900,000 points took "
                                                               "longer than 90 s; choose a shorter period or fewer "
                                                               "clinics."]
    assert "bp_result" not in at.session_state and not at.get("download_button")


def test_board_pack_page_for_a_month_and_custom_days(sample_db, use_db):
    use_db(sample_db)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    at.segmented_control(key="bp_kind").set_value("Month").run()
    assert at.selectbox(key="bp_month").value.label == "June 2026"
    at.segmented_control(key="bp_kind").set_value("Custom").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.date_input(key="bp_days").value


def test_board_pack_page_on_an_empty_warehouse(empty_db, use_db):
    use_db(empty_db)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    assert not at.exception, [e.value for e in at.exception]




def test_board_pack_page_with_clinics_but_no_sessions(clinics_only_db, use_db):
    use_db(clinics_only_db)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no period to report on" in i.value for i in at.info)


def test_board_pack_page_does_not_head_itself_with_the_sidebars_period(sample_db, use_db):
    """The page's header said the sidebar's period and clinics ('1 Oct – 31 Dec 2025 · Denver ...') above a
    Quarter box set to Q2 2026 and a clinics box of its own: it read as the pack's period."""
    use_db(sample_db)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"start": ["2025-10-01"], "end": ["2025-12-31"]})
    at.run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [m.value for m in at.markdown]
    assert not any("1 Oct – 31 Dec 2025" in t for t in texts), texts
    at.switch_page("dashboard/app_pages/safety.py").run()  # the other pages still say it
    assert any("1 Oct – 31 Dec 2025" in m.value for m in at.markdown)


def test_board_pack_page_says_the_weekday_hour_chart_takes_a_page_per_clinic(sample_db, use_db):
    """The pack draws the weekday x hour heatmap once per clinic, so "N charts, one per page" undercounts the
    pages when Capacity is chosen: the caption says so, and says nothing of it without Capacity."""
    use_db(sample_db)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    at.multiselect(key="bp_sections").set_value(["capacity"]).run()
    assert any("a page per clinic" in c.value for c in at.caption)
    at.multiselect(key="bp_sections").set_value(["outcomes"]).run()
    assert not any("a page per clinic" in c.value for c in at.caption)


# ------------------------------------------------------------------- the chart toolbar (modebar)


def test_the_chart_toolbar_offers_no_image_download():
    """Plotly's toolbar button "Download plot as a PNG" saved the figure on screen: unsuppressed for the
    board and not in the access log. Downloads go through the app's Download menu only."""
    from dashboard import ui

    removed = set(ui.PLOTLY_CONFIG.get("modeBarButtonsToRemove", []))
    assert "toImage" in removed and "toImageButtonOptions" not in ui.PLOTLY_CONFIG
    assert ui.PLOTLY_CONFIG.get("displayModeBar", True) is not False  # zoom, pan and reset stay
    assert not {"zoom2d", "pan2d", "resetScale2d"} & removed


def test_every_chart_drawn_by_the_app_has_its_toolbar_without_an_image_download(access, sample_db, use_db):
    import json

    use_db(sample_db)
    board = _signed_in("board@clinic.test").run()
    board.switch_page("dashboard/app_pages/outcomes.py").run()
    assert not board.exception, [e.value for e in board.exception]
    charts = board.get("plotly_chart")
    assert charts
    for chart in charts:
        config = json.loads(chart.proto.config)
        assert "toImage" in config.get("modeBarButtonsToRemove", []), config
        assert "toImageButtonOptions" not in config, config


# ------------------------------------------------------------------- a download clicked later


def _download_callables(monkeypatch) -> dict:
    """key -> the `data` callable of every download button drawn (Streamlit runs it when the button is
    clicked, in a thread of its own and possibly long after the page was drawn; AppTest has no runtime to
    register it with, so it is caught on its way in)."""
    from streamlit.elements.widgets import button

    captured: dict = {}
    real = button.ButtonMixin.download_button

    def spy(self, label, data, *args, **kwargs):
        if callable(data):
            captured[kwargs.get("key")] = data
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(button.ButtonMixin, "download_button", spy)
    return captured


@pytest.mark.parametrize("change", ["revoked", "role changed", "clinics changed", "sign-in too old", "store damaged"])
def test_a_download_clicked_after_access_was_withdrawn_serves_nothing_and_logs_no_export(
        change, access, sample_db, use_db, monkeypatch):
    """The download menu's files are made when clicked, from a page drawn earlier: a person revoked since then
    still got the file, logged under the old role. The grant and the sign-in's age are checked again at the
    click; when they no longer hold, nothing is served and nothing is logged as an export."""
    use_db(sample_db)
    access.grant("den@clinic.test", "clinic_manager", ("DEN",))
    email = "den@clinic.test" if change == "clinics changed" else "md@clinic.test"
    captured = _download_callables(monkeypatch)
    at = _signed_in(email).run()
    at.switch_page("dashboard/app_pages/outcomes.py").run()
    assert not at.exception, [e.value for e in at.exception]
    csv = next(make for key, make in captured.items() if key.endswith("-download-csv"))

    def exports() -> list[dict]:
        return [e for e in AccessLog(access.folder).read() if e["event"] == "export"]

    assert csv() and len(exports()) == 1  # while the grant holds: the file, logged
    if change == "revoked":
        access.revoke(email)
    elif change == "role changed":
        access.grant(email, "board", ())
    elif change == "clinics changed":
        access.grant(email, "clinic_manager", ("DEN", "OKC"))
    elif change == "sign-in too old":
        monkeypatch.setenv(auth.ENV_SIGNIN_MAX_HOURS, str(30 / 3600))  # the sign-in is 60 s old
    else:
        access.path.write_text("{not json")
    with pytest.raises(auth.AccessWithdrawn):
        csv()
    assert len(exports()) == 1  # the refused click is no export


def test_a_download_in_demo_mode_is_served_without_a_grant(sample_db, use_db, monkeypatch, tmp_path):
    """Demo mode has no sign-in and no grant to check: its downloads are served (and, like everything in demo
    mode, not logged)."""
    monkeypatch.setenv(ENV_ACCESS_DIR, str(tmp_path / "access"))
    use_db(sample_db)
    captured = _download_callables(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("dashboard/app_pages/outcomes.py").run()
    assert not at.exception, [e.value for e in at.exception]
    csv = next(make for key, make in captured.items() if key.endswith("-download-csv"))
    assert csv()
    assert not AccessLog(tmp_path / "access").read()


def test_a_board_pack_built_before_access_was_withdrawn_is_not_handed_out_after(access, sample_db, use_db, monkeypatch):
    """The pack's files stay in the session once built; a board member revoked since could still click them.
    They are handed out only while the grant that built them holds (the chart menus' check)."""
    use_db(sample_db)
    captured = _download_callables(monkeypatch)
    at = _signed_in("board@clinic.test").run()
    at.switch_page("dashboard/app_pages/board_pack.py").run()
    at.multiselect(key="bp_sections").set_value(["boosters"]).run()
    [build] = [b for b in at.button if b.label == "Build the board pack"]
    build.click().run()
    assert not at.exception, [e.value for e in at.exception]
    pdf, pptx = captured["bp_download_pdf"], captured["bp_download_pptx"]
    assert pdf().startswith(b"%PDF") and pptx()[:2] == b"PK"
    access.revoke("board@clinic.test")
    for make in (pdf, pptx):
        with pytest.raises(auth.AccessWithdrawn):
            make()

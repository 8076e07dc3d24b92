"""The sign-in gate, roles and demo mode through Streamlit's AppTest: each role gets its pages and its
Scope; a person without a grant, without a verified e-mail or with a sign-in that is too old gets one
polite screen; a misconfigured [auth] never falls back to demo mode; demo mode refuses a warehouse
that is not the bundled sample and a non-loopback address; the access log records sign-ins,
refusals and views of row-level data, and only the medical director sees it.

The viewer is injected the way Streamlit's own test harness allows: `AppTest.secrets` holds an
[auth] section (sign-in configured) and `AppTest.user` the identity claims st.user would carry."""

from __future__ import annotations

import shutil
import time

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from dashboard import auth
from dashboard.scope import Scope
from dashboard_testing import ROOT, open_section
from pipelines import config
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer
from pipelines.users.audit import AccessLog
from pipelines.users.store import ENV_ACCESS_DIR, RolesStore

APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 180
AUTH = {"auth": {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 40, "client_id": "analytics",
    "client_secret": "s" * 20, "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}}
GRANTS = {
    "md@clinic.test": ("medical_director", ()),
    "ops@clinic.test": ("operations", ()),
    "den@clinic.test": ("clinic_manager", ("DEN",)),
    "board@clinic.test": ("board", ()),
}
PAGES_OF = {
    "md@clinic.test": {"Overview", "Outcomes", "Safety", "Boosters", "Capacity", "Planning", "Data quality",
                       "Board pack", "Access log"},
    "ops@clinic.test": {"Overview", "Outcomes", "Boosters", "Capacity", "Planning", "Data quality"},
    "den@clinic.test": {"Overview", "Outcomes", "Safety", "Boosters", "Capacity", "Planning"},
    "board@clinic.test": {"Overview", "Outcomes", "Safety", "Boosters", "Capacity", "Board pack"},
}
OTHER_CLINIC_NAMES = ("Oklahoma City Mood & Wellness", "Infusion Clinic, New York")


@pytest.fixture
def access(tmp_path, monkeypatch) -> RolesStore:
    folder = tmp_path / "access"
    monkeypatch.setenv(ENV_ACCESS_DIR, str(folder))
    store = RolesStore(folder)
    for email, (role, clinics) in GRANTS.items():
        store.grant(email, role, clinics)
    return store


@pytest.fixture(scope="module")
def foreign_db(tmp_path_factory):
    """A warehouse loaded from a file that is not byte for byte the bundled sample."""
    batch = tmp_path_factory.mktemp("foreign-batch")
    text = (config.SAMPLE_DIR / "clinics.csv").read_text().replace("Denver Interventional Psychiatry", "Denver Ketamine")
    (batch / "clinics.csv").write_text(text)
    pointer = tmp_path_factory.mktemp("foreign-wh") / "clinic_analytics.duckdb"
    load_batch(batch, db=pointer, pseudonymizer=Pseudonymizer(b"k" * 32))
    return pointer


def _user(email: str | None, **claims) -> dict:
    user = {"is_logged_in": email is not None, "email_verified": True, "iat": int(time.time()) - 60}
    if email is not None:
        user["email"] = email
    user.update(claims)
    return user


def _app(user: dict | None = None, secrets: dict | None = AUTH, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if secrets is not None:
        at.secrets = secrets
    if user is not None:
        at.user = user
    if query:
        at.query_params.update(query)
    return at


def _pages(at: AppTest) -> set[str]:
    return {p["page_name"] for p in at._registered_pages.values()}


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _text(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "markdown", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts).replace("\\", "")  # markdown escapes removed


# ------------------------------------------------------------------------------------------- roles


@pytest.mark.parametrize("email", list(GRANTS))
def test_each_role_lands_on_its_pages_with_its_scope(email, access, sample_db, use_db):
    use_db(sample_db)
    at = _app(_user(email)).run()
    _ok(at)
    assert _pages(at) == PAGES_OF[email]
    assert [t.value for t in at.title] == ["Overview"]
    role, clinics = GRANTS[email]
    assert at.session_state[auth.K_VIEWER] == auth.Viewer(email, role, clinics)
    sidebar = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert email in sidebar and auth.ROLE_LABELS[role] in sidebar
    assert any(b.label == "Sign out" for b in at.sidebar.button)
    if role == "clinic_manager":
        assert at.session_state["f_clinics"] == [] and "Denver Interventional Psychiatry" in _text(at)
        for name in OTHER_CLINIC_NAMES:
            assert name not in _text(at)
        assert "rows in quarantine" not in _text(at).lower()  # a network-wide figure
    events = AccessLog(access.folder).read()
    signins = [e for e in events if e["event"] == "sign_in"]
    assert len(signins) == 1 and signins[0]["actor"] == email and signins[0]["role"] == role
    at.run()  # a rerun of the same session is not a new sign-in
    assert len([e for e in AccessLog(access.folder).read() if e["event"] == "sign_in"]) == 1


def test_scopes_of_the_roles():
    md, ops = auth.scope_for("medical_director"), auth.scope_for("operations")
    den, board = auth.scope_for("clinic_manager", ("DEN",)), auth.scope_for("board")
    assert md.all_clinics and md.row_level and not md.aggregates_only
    assert ops.all_clinics and ops.whole_network and not ops.row_level
    assert den.clinics == frozenset({"DEN"}) and not den.row_level and not den.whole_network
    assert board.aggregates_only and not board.row_level and not board.whole_network
    assert auth.scope_for("clinic_manager", ()).restrict(None) == []  # a manager without clinics sees nothing
    assert auth.scope_for("owner").restrict(["DEN"]) == []
    assert auth.scope_for(auth.DEMO) == Scope.everything()


def test_pages_added_later_are_for_the_medical_director_only():
    pages = {"overview": "O", "brand_new": "N"}
    assert auth.pages_for(auth.Viewer("a@b.org", "medical_director"), pages) == ["O", "N"]
    for role, clinics in (("operations", ()), ("clinic_manager", ("DEN",)), ("board", ())):
        assert auth.pages_for(auth.Viewer("a@b.org", role, clinics), pages) == ["O"]
    assert auth.pages_for(auth.Viewer(None, auth.DEMO), {"overview": "O", "access_log": "L"}) == ["O"]


def test_medical_director_sees_quarantined_values_and_the_view_is_logged(access, sample_db, use_db):
    use_db(sample_db)
    at = _app(_user("md@clinic.test")).run()
    at.switch_page("dashboard/app_pages/data_quality.py").run()
    _ok(at)
    rows = at.dataframe[-1].value
    assert rows["original_values"].notna().any()
    views = [e for e in AccessLog(access.folder).read() if e["event"] == "view_row_level"]
    assert len(views) == 1 and views[0]["actor"] == "md@clinic.test"
    assert views[0]["details"] == {"kind": "all", "open_only": True, "rows": len(rows), "search_given": False,
                                   "what": "quarantined rows"}
    at.text_input(key="dq_search").set_value("EHR-12345 Jane Doe").run()  # what was typed is never logged
    log_text = "".join(p.read_text() for p in AccessLog(access.folder).files())
    assert "Jane" not in log_text and "EHR-12345" not in log_text


def _two_sessions_quarantined_once(db) -> tuple[str, str]:
    """Two session ids that each appear in the values of exactly one open quarantined row of the sample."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            """with open_rows as (select original::VARCHAR as text from audit.quarantine
                                  where resolved_by_load is null and original is not null),
                    ids as (select distinct regexp_extract(text, 'S-[0-9]{8}') as id from open_rows)
               select id from ids
               where id <> '' and (select count(*) from open_rows where text ilike '%' || id || '%') = 1
               order by id limit 2"""
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 2, "the sample's quarantine should name at least two sessions once each"
    return rows[0][0], rows[1][0]


def test_each_quarantine_search_of_the_director_is_logged_once_and_never_its_text(access, sample_db, use_db):
    """Two searches returning as many rows (one session id, then another) were logged once: the log was keyed by
    kind, open only, whether there was a search and the row count, not by the search. Each selection is logged
    once per session now; what was typed never reaches the log (it could be an identifier), only which search
    of the session it was."""
    use_db(sample_db)
    at = _app(_user("md@clinic.test")).run()
    at.switch_page("dashboard/app_pages/data_quality.py").run()
    _ok(at)

    def views() -> list[dict]:
        return [e["details"] for e in AccessLog(access.folder).read() if e["event"] == "view_row_level"]

    def search(text: str) -> int:
        at.text_input(key="dq_search").set_value(text).run()
        _ok(at)
        return len(at.dataframe[-1].value)

    one_id, other_id = _two_sessions_quarantined_once(sample_db)
    assert len(views()) == 1
    first, second = search(one_id), search(other_id)
    assert first == second >= 1  # the same kind, open-only and row count: only the search differs
    assert len(views()) == 3
    one, two = views()[1:]
    assert one["search_given"] and two["search_given"] and one["rows"] == two["rows"]
    assert one != two  # which search of the session it was
    search(one_id)
    search(f"  {one_id.lower()} ")  # the same rows: the search ignores case and surrounding spaces
    assert len(views()) == 3  # once per session and selection
    at.toggle(key="dq_open_only").set_value(False).run()  # another selection with the same search
    assert len(views()) == 4 and views()[-1]["open_only"] is False
    log_text = "".join(p.read_text() for p in AccessLog(access.folder).files())
    assert one_id[2:] not in log_text and other_id[2:] not in log_text


def test_operations_sees_data_quality_without_row_values(access, sample_db, use_db):
    use_db(sample_db)
    at = _app(_user("ops@clinic.test")).run()
    at.switch_page("dashboard/app_pages/data_quality.py").run()
    _ok(at)
    rows = at.dataframe[-1].value
    assert not rows.empty
    # no row values, and nothing that points at one row: no key (session, vital, side effect), no row number
    for column in ("original_values", "record_key", "row_number", "quarantine_id"):
        assert column not in rows.columns or rows[column].isna().all(), column
    assert not rows.astype(str).apply(lambda c: c.str.contains(r"S-\d{5}")).any().any()
    assert {"file", "kind", "reasons"} <= set(rows.columns)
    assert "medical director only" in _text(at)
    assert not [e for e in AccessLog(access.folder).read() if e["event"] == "view_row_level"]


def test_row_level_data_is_not_shown_when_the_log_cannot_record_it(access, sample_db, use_db, monkeypatch):
    use_db(sample_db)
    at = _app(_user("md@clinic.test")).run()
    shutil.rmtree(access.folder / "access-log")
    (access.folder / "access-log").write_text("not a folder")
    at.switch_page("dashboard/app_pages/data_quality.py").run()
    _ok(at)
    assert any("not shown" in e.value for e in at.error)
    assert all("original_values" not in d.value.columns or d.value.empty for d in at.dataframe[-1:])


def test_access_log_page_for_the_medical_director(access, sample_db, use_db):
    use_db(sample_db)
    AccessLog(access.folder).record("no_access", "eve@elsewhere.test")
    at = _app(_user("md@clinic.test")).run()
    at.switch_page("dashboard/app_pages/access_log.py").run()
    _ok(at)
    table = at.dataframe[0].value
    assert {"sign in", "no access", "grant"} <= set(table["event"])
    assert "eve@elsewhere.test" in set(table["who"])
    assert any("every line is as written" in c.value for c in at.caption)
    at.text_input(key="acl_person").set_value("eve@").run()
    assert set(at.dataframe[0].value["who"]) == {"eve@elsewhere.test"}


def test_access_log_page_finds_the_newest_line_removed(access, sample_db, use_db):
    use_db(sample_db)
    at = _app(_user("md@clinic.test")).run()  # logs the sign-in: the newest line
    log = AccessLog(access.folder)
    newest = log.files()[-1]
    newest.write_bytes(b"".join(newest.read_bytes().splitlines(keepends=True)[:-1]))  # sed -i '$d'
    at.switch_page("dashboard/app_pages/access_log.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("every line is as written" in c.value for c in at.caption)
    assert any("does not check out in 1 place" in e.value and "the last line written" in e.value for e in at.error)


# ------------------------------------------------------------------------------- polite refusals


def test_signed_out_visitor_sees_only_the_sign_in_screen(access, sample_db, use_db):
    use_db(sample_db)
    at = _app(_user(None)).run()
    _ok(at)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.get("plotly_chart") and not at.sidebar.multiselect
    assert "Clinic analytics" in at.title[0].value


def test_signed_in_without_grant_gets_a_polite_no_access_page(access, sample_db, use_db, monkeypatch):
    use_db(sample_db)
    monkeypatch.setenv(auth.ENV_ACCESS_CONTACT, "Dr Rivera (medical.director@clinic.test)")
    at = _app(_user("stranger@clinic.test")).run()
    _ok(at)
    assert at.title[0].value == "No access yet"
    text = _text(at)
    assert "stranger@clinic" in text and "Dr Rivera" in text and "users grant" in text
    assert not at.get("plotly_chart") and not at.sidebar.multiselect and not at.dataframe
    assert [b.label for b in at.button] == ["Sign out"]
    assert [e["event"] for e in AccessLog(access.folder).read()][-1] == "no_access"
    at.button[0].click().run()  # sign out
    assert at.user == {"is_logged_in": False}


def test_a_revoked_grant_applies_at_the_next_click(access, sample_db, use_db):
    use_db(sample_db)
    at = _app(_user("den@clinic.test")).run()
    assert at.title[0].value == "Overview"
    access.revoke("den@clinic.test")
    at.run()
    assert at.title[0].value == "No access yet" and not at.get("plotly_chart")


@pytest.mark.parametrize("claims", [{"email_verified": False}, {"email_verified": "false"}, {"email": ""},
                                    {"email": "not an address"}])
def test_unverified_or_missing_email_is_refused(claims, access, sample_db, use_db):
    use_db(sample_db)
    user = _user("md@clinic.test")
    user.update(claims)
    at = _app(user).run()
    _ok(at)
    assert at.title[0].value == "Your sign-in cannot be used" and not at.get("plotly_chart")
    assert [e["event"] for e in AccessLog(access.folder).read()][-1] == "sign_in_refused"


@pytest.mark.parametrize("iat", [None, "soon", time.time() - 13 * 3600])
def test_an_old_sign_in_must_be_renewed(iat, access, sample_db, use_db):
    use_db(sample_db)
    user = _user("md@clinic.test")
    user.pop("iat")
    if iat is not None:
        user["iat"] = iat
    at = _app(user).run()
    _ok(at)
    assert any("sign in again" in i.value for i in at.info)
    assert [b.label for b in at.button] == ["Sign in"] and not at.get("plotly_chart")


def test_a_grant_store_that_cannot_be_read_lets_nobody_in(access, sample_db, use_db):
    use_db(sample_db)
    access.path.write_text("{damaged")
    at = _app(_user("md@clinic.test")).run()
    _ok(at)
    assert at.title[0].value == "Access cannot be checked" and not at.get("plotly_chart")


@pytest.mark.parametrize("section", [
    {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "client_id": "a", "client_secret": "b",
     "server_metadata_url": "http://127.0.0.1:9/x"},  # no cookie_secret
    {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 40},  # no provider
])
def test_incomplete_auth_never_falls_back_to_demo(section, access, sample_db, use_db):
    use_db(sample_db)
    at = _app(_user("md@clinic.test"), secrets={"auth": section}).run()
    _ok(at)
    assert at.title[0].value == "Sign-in is misconfigured" and not at.get("plotly_chart")


def test_named_providers_each_get_a_button(access, sample_db, use_db):
    use_db(sample_db)
    provider = {k: AUTH["auth"][k] for k in ("client_id", "client_secret", "server_metadata_url")}
    secrets = {"auth": {"redirect_uri": AUTH["auth"]["redirect_uri"], "cookie_secret": "c" * 40,
                        "microsoft": provider, "okta": dict(provider)}}
    at = _app(_user(None), secrets=secrets).run()
    assert [b.label for b in at.button] == ["Sign in with Microsoft", "Sign in with Okta"]


# ---------------------------------------------------------------------------------------- demo mode


def test_demo_mode_on_the_sample_has_a_banner_and_no_access_log(sample_db, use_db, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_ACCESS_DIR, str(tmp_path / "access"))
    use_db(sample_db)
    at = _app(secrets=None).run()
    _ok(at)
    assert any("Demo mode" in m.value for m in at.markdown)
    assert "Access log" not in _pages(at) and "Data quality" in _pages(at)
    assert at.session_state[auth.K_VIEWER].demo
    assert not (tmp_path / "access").exists()  # demo mode writes no access log


def test_demo_mode_refuses_a_warehouse_that_is_not_the_sample(foreign_db, use_db):
    use_db(foreign_db)
    at = _app(secrets=None).run()
    _ok(at)
    assert at.title[0].value == "Sign-in is not configured"
    text = _text(at)
    assert "clinics.csv" in text and "secrets.toml" in text and "docs/access.md" in text
    assert not at.get("plotly_chart") and not at.sidebar.multiselect and not at.dataframe


def test_demo_mode_accepts_a_warehouse_of_sample_files_and_an_empty_one(clinics_only_db, empty_db, use_db):
    for db in (clinics_only_db, empty_db):
        use_db(db)
        at = _app(secrets=None).run()
        _ok(at)
        assert at.title[0].value == "Overview", db


@pytest.mark.parametrize("address", ["0.0.0.0", "", "192.168.1.20", "::"])
def test_demo_mode_refuses_a_non_loopback_address(address, sample_db, use_db):
    use_db(sample_db)
    with patch_config_options({"server.address": address}):
        at = _app(secrets=None).run()
    _ok(at)
    assert at.title[0].value == "Sign-in is not configured"
    assert "127.0.0.1" in _text(at) and not at.get("plotly_chart")


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_addresses(address):
    assert auth._is_loopback(address)


def test_signed_in_app_serves_any_warehouse(access, foreign_db, use_db):
    use_db(foreign_db)
    at = _app(_user("md@clinic.test")).run()
    _ok(at)
    assert at.title[0].value == "Overview"


def test_a_page_run_without_the_gate_sees_nothing(sample_db, use_db):
    use_db(sample_db)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app_pages" / "capacity.py"), default_timeout=TIMEOUT).run()
    _ok(at)
    assert at.session_state["_page_state"].scope.restrict(None) == []


def test_sessions_to_review_for_the_medical_director_only_and_the_view_is_logged(access, sample_db, use_db):
    """The severe side-effect and BP counts as the sessions behind them: listed when the medical director asks
    (a row-level view, logged with what was listed), never for a clinic manager or the board."""
    use_db(sample_db)
    at = _app(_user("md@clinic.test")).run()
    at.switch_page("dashboard/app_pages/safety.py").run()
    _ok(at)
    assert not [t for t in at.toggle if t.key == "safety_cases"]  # in its own section, not the first
    open_section(at, "safety", "Sessions to review")
    _ok(at)
    assert not [e for e in AccessLog(access.folder).read() if e["event"] == "view_row_level"]  # not until asked
    at.toggle(key="safety_cases").set_value(True).run()
    _ok(at)
    table = at.dataframe[-1].value
    assert not table.empty and {"Session", "Severe side effects", "BP elevated", "Peak BP"} <= set(table.columns)
    views = [e for e in AccessLog(access.folder).read() if e["event"] == "view_row_level"]
    assert len(views) == 1 and views[0]["details"]["what"] == "safety sessions"
    assert views[0]["details"]["rows"] == len(table) and views[0]["details"]["clinics"] == ""
    assert "(recorded in the access log)" in at.toggle(key="safety_cases").label
    at.segmented_control(key="safety_cases_kind").set_value("bp").run()
    _ok(at)
    assert at.dataframe[-1].value["BP elevated"].all() and len(at.dataframe[-1].value) < len(table)
    # the list beside the rates it makes up
    assert "In this selection: a severe side effect in " in _text(at) and "BP elevated in " in _text(at)
    for email in ("den@clinic.test", "board@clinic.test"):
        other = _app(_user(email)).run()
        other.switch_page("dashboard/app_pages/safety.py").run()
        open_section(other, "safety", "Sessions to review")
        _ok(other)
        assert not [t for t in other.toggle if t.key == "safety_cases"]
        assert "listed for the medical director only" in _text(other)

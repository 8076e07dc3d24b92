"""The planning page (dashboard/app_pages/planning.py) through Streamlit's AppTest, and its data module
(dashboard/plan_queries.py): on the sample, after changing inputs, from a link, on an empty warehouse,
with a scope that excludes the clinic, with no or too little history, and saving / loading / comparing /
deleting scenarios in a temporary scenarios folder. No timing asserts: laziness is checked by counting
plans made."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil

import pandas as pd
import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

from dashboard import plan_queries as pq
from dashboard.charts import catalog
from dashboard.charts.base import is_empty
from dashboard.filters import Filters
from dashboard.scope import Scope
from dashboard_testing import ROOT, SECTIONS, open_section
from pipelines import config
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer
from pipelines.plan.protocol import MODALITIES, WEEKDAYS
from pipelines.plan.scenario import Scenario, save_scenario

APP = str(ROOT / "streamlit_app.py")
PAGE = "dashboard/app_pages/planning.py"
TIMEOUT = 240
ON_SCREEN = "screen"  # the page's compare options: the scenario on screen, "saved:<name>"


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture
def scenarios_dir(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    monkeypatch.setenv("CLINIC_ANALYTICS_SCENARIOS", str(folder))
    return folder


@pytest.fixture(scope="module")
def short_db(tmp_path_factory):
    """The sample's clinics plus TUL (a clinic with no session), and only the sessions from 1 Feb 2026:
    about 17 complete weeks of history after the first 4 (too little for a season), none for TUL."""
    batch = tmp_path_factory.mktemp("short-history-batch")
    clinics = (config.SAMPLE_DIR / "clinics.csv").read_text()
    clinics = clinics.rstrip("\n") + '\nTUL,Tulsa Ketamine Clinic,America/Chicago,3,08:00,17:00,"Mon,Tue,Wed,Thu,Fri",2025-01-01\n'
    (batch / "clinics.csv").write_text(clinics)
    shutil.copyfile(config.SAMPLE_DIR / "patients.csv.gz", batch / "patients.csv.gz")
    sessions = pd.read_csv(config.SAMPLE_DIR / "sessions.csv.gz", dtype=str, keep_default_na=False)
    sessions = sessions[sessions["scheduled_start"] >= "2026-02-01"]
    with gzip.open(batch / "sessions.csv.gz", "wt", newline="") as out:
        sessions.to_csv(out, index=False)
    pointer = tmp_path_factory.mktemp("dashboard-short") / "clinic_analytics.duckdb"
    load_batch(batch, db=pointer, pseudonymizer=Pseudonymizer(b"k" * 32))
    return pointer


def _sign_in(monkeypatch, role: str, clinics: tuple[str, ...] = ()) -> None:
    """Stand in for the sign-in gate (dashboard.auth.gate): a signed-in viewer with this role."""
    from dashboard import auth

    def gate(network):
        viewer = auth.Viewer("planner@example.org", role, clinics)
        st.session_state[auth.K_VIEWER] = viewer
        return viewer

    monkeypatch.setattr(auth, "gate", gate)
    monkeypatch.setattr(auth, "sidebar_account", lambda viewer: None)


def _open(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if query:
        at.query_params.update(query)
    at.run()
    return at.switch_page(PAGE).run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [x.value for x in (*at.info, *at.warning, *at.success)]
    return " ".join(str(p) for p in parts).replace("\\", "")


def _param(at: AppTest, key: str):
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) and value else value


PLAN_SECTIONS = SECTIONS["planning"][1]


def _titles(at: AppTest) -> list[str]:
    import json

    return [json.loads(chart.proto.spec)["layout"]["meta"]["title"] for chart in at.get("plotly_chart")]


def _plan_charts(at: AppTest) -> list[str]:
    """The titles of every chart of the plan: its charts are in sections of which only the open one is drawn, so
    each is opened in turn (then the first again); a chart beside them (the scenario comparison) counts once."""
    if [t.label for t in at.tabs] != PLAN_SECTIONS:  # no plan drawn
        return _titles(at)
    titles: list[str] = []
    for label in PLAN_SECTIONS:
        open_section(at, "planning", label)
        titles += [t for t in _titles(at) if t not in titles]
    open_section(at, "planning", PLAN_SECTIONS[0])
    return titles


# ------------------------------------------------------------------------------------ the page


def test_the_page_renders_on_the_sample(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    at = _open()
    _ok(at)
    assert at.title[0].value == "Planning"
    assert set(at.selectbox(key="pl_clinic").options) == {
        "Denver Interventional Psychiatry", "Infusion Clinic, New York", "Oklahoma City Mood & Wellness"}
    metrics = _metrics(at)
    for label in ("Fewest chairs for 80%", "Peak week, booked", "Utilization", "Wait for a first infusion",
                  "Peak-hour overflow"):
        assert label in metrics
    assert metrics["Fewest chairs for 80%"].isdigit()
    titles = _plan_charts(at)
    assert len(titles) == 7
    assert all("6 Jul – 4 Oct 2026" in t for t in titles), titles  # the plan's 13 weeks, not the sidebar period
    assert "Scenario “current”" in _text(at) and "no change" in _text(at)
    # which days those are, and why not from 1 Jul (operations audit: "next quarter" read as 1 Jul - 30 Sep)
    assert ("Weeks reported: 6 Jul – 4 Oct 2026, whole weeks from the first Monday after the data's last day "
            "(30 Jun 2026).") in _text(at)
    assert any("Induction rules kept" in s.value for s in at.success)
    assert _param(at, "plan_clinic") == "DEN"  # the first clinic by name, in the URL
    assert _param(at, "start") == "2026-04-01"  # the sidebar's filters stay in the URL beside it
    # Denver has no capacity row in quarantine; Oklahoma City's from 14 Feb 2026 is, and its plan starts from
    # the row before it: the page says so
    assert "capacity row is in quarantine" not in _text(at)
    okc = _open({"plan_clinic": "OKC"})
    _ok(okc)
    assert ("A capacity row is in quarantine (Oklahoma City Mood & Wellness from 14 Feb 2026: chairs must be between "
            "1 and 60): the plan starts from the row valid before it") in _text(okc)


def test_beside_the_fewest_chairs_the_page_gives_the_hours_or_day_that_meet_the_target_with_the_chairs_now(
        sample_db, use_db, scenarios_dir):
    """DEN peaks over 80% with 4 chairs: a longer day by an hour (or Mondays too) meets it; planned, that day
    meets the target and the suggestion goes; a clinic within the target (NYC, its Labor Day weeks apart) gets
    none."""
    use_db(sample_db)
    at = _open()
    _ok(at)
    assert _metrics(at)["Fewest chairs for 80%"] == "5"
    notes = [i.value.replace("\\", "") for i in at.info]
    assert any(n.startswith("Or keep 4 chairs and open 08:00–19:00 (+1 h a day; peak week booked 76.")
               and "or also open on Mon (peak week booked" in n for n in notes), notes
    at.time_input(key="pl_closes").set_value(dt.time(19, 0))
    _button(at, "Plan this scenario").click().run()
    _ok(at)
    assert _metrics(at)["Fewest chairs for 80%"] == "4" and "Or keep" not in _text(at)
    at.selectbox(key="pl_clinic").set_value("NYC").run()
    _ok(at)
    assert "Or keep" not in _text(at) and "neither a day" not in _text(at)
    # within the target because the weeks around Labor Day, which it closes on, are shown apart
    assert ("Weeks around a closed holiday are not held to the target" in _text(at)
            and "(Labor Day)" in _text(at))


def test_changing_inputs_plans_the_scenario_and_puts_it_in_the_url(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    at = _open()
    before = _metrics(at)
    at.number_input(key="pl_chairs").set_value(8)
    at.number_input(key="pl_noshow").set_value(10.0)
    at.multiselect(key="pl_days").set_value(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"])
    at.number_input(key="pl_min_iv_ketamine").set_value(100.0)
    at.slider(key="pl_target").set_value(75)
    _button(at, "Plan this scenario").click().run()
    _ok(at)
    text = _text(at)
    assert "Scenario “what-if”" in text and "8 chairs (now 4)" in text and "no-shows 10.0%" in text
    after = _metrics(at)
    assert "Fewest chairs for 75%" in after
    assert after["Peak week, booked"] != before["Peak week, booked"]
    assert _param(at, "plan_chairs") == "8"
    assert _param(at, "plan_noshow") == "0.1"
    assert _param(at, "plan_days") == "Mon,Tue,Wed,Thu,Fri,Sat"
    assert _param(at, "plan_minutes") == "iv_ketamine=100"
    assert _param(at, "plan_target") == "0.75"
    assert _param(at, "plan_hours") is None  # unchanged hours are not written

    # the clinic: a new clinic starts from no change, with its own capacity in the form
    at.selectbox(key="pl_clinic").set_value("OKC").run()
    _ok(at)
    assert _param(at, "plan_clinic") == "OKC" and _param(at, "plan_chairs") is None
    assert at.number_input(key="pl_chairs").value == 8  # OKC has 8 chairs now
    assert at.multiselect(key="pl_days").value == ["Mon", "Tue", "Wed", "Thu", "Fri"]

    at.number_input(key="pl_chairs").set_value(10)
    _button(at, "Plan this scenario").click().run()
    assert _param(at, "plan_chairs") == "10"
    _button(at, "Back to no change").click().run()
    _ok(at)
    assert _param(at, "plan_chairs") is None and "no change" in _text(at)
    assert at.number_input(key="pl_chairs").value == 8


def test_a_form_that_cannot_be_planned_is_explained(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    at = _open()
    at.time_input(key="pl_opens").set_value(dt.time(18, 0))
    at.time_input(key="pl_closes").set_value(dt.time(8, 0))
    _button(at, "Plan this scenario").click().run()
    _ok(at)
    assert any("Not planned" in w.value and "open before it closes" in w.value for w in at.warning)
    assert "no change" in _text(at)  # the plan on screen is still the previous one
    at.time_input(key="pl_opens").set_value(dt.time(8, 0))
    at.time_input(key="pl_closes").set_value(dt.time(18, 0))
    at.multiselect(key="pl_days").set_value([])
    _button(at, "Plan this scenario").click().run()
    _ok(at)
    assert any("at least one open day" in w.value for w in at.warning)


def test_a_link_restores_the_scenario_and_bad_values_are_explained(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    at = _open({"plan_clinic": ["OKC"], "plan_chairs": ["9"], "plan_hours": ["07:00-20:00"], "plan_new": ["40"],
                "plan_weeks": ["8"], "plan_name": ["From a link"]})
    _ok(at)
    assert at.selectbox(key="pl_clinic").value == "OKC"
    assert at.number_input(key="pl_chairs").value == 9
    assert at.time_input(key="pl_closes").value == dt.time(20, 0)
    assert at.number_input(key="pl_new").value == 40.0
    assert at.number_input(key="pl_weeks").value == 8
    text = _text(at)
    assert "Scenario “From a link”" in text and "9 chairs (now 8)" in text and "8 weeks" in text
    assert all("6 Jul – 30 Aug 2026" in t for t in _plan_charts(at))

    bad = _open({"plan_clinic": ["NOPE"], "plan_chairs": ["500"], "plan_days": ["Funday"], "plan_noshow": ["nan"],
                 "plan_hours": ["19:00-07:00"], "plan_name": ["[x](https://example.invalid)"], "plan_new": ["1e999"]})
    _ok(bad)
    warnings = " ".join(w.value for w in bad.warning).replace("\\", "")
    for fragment in ("plan_clinic='NOPE'", "plan_chairs='500'", "Funday", "plan_noshow='nan'", "plan_hours",
                     "plan_new"):
        assert fragment in warnings, fragment
    assert "no change" in _text(bad) or "Scenario “[x]" in _text(bad)
    assert all(m.value.count("](https") == 0 for m in bad.markdown)  # a name from a link is never a link
    assert bad.number_input(key="pl_chairs").value == 4  # DEN's chairs: the bad value was dropped

    markup = _open({"plan_clinic": ["NYC"], "plan_chairs": ["9"],
                    "plan_name": ["<a href='https://example.invalid'>click</a> <b>me</b>"]})
    _ok(markup)
    specs = " ".join(chart.proto.spec for chart in markup.get("plotly_chart"))
    assert "<a href" not in specs and "<b>me" not in specs  # Plotly would draw them: names go in as text
    assert "&lt;a href" in specs


@pytest.mark.parametrize("key, value, widget, shown", [
    ("plan_target", "0.01", "pl_target", 80),  # crashed the page: StreamlitValueBelowMinError
    ("plan_target", "0.3", "pl_target", 80),
    ("plan_target", "0.495", "pl_target", 80),
    ("plan_target", "1.5", "pl_target", 80),
    ("plan_target", "8O%", "pl_target", 80),
    ("plan_noshow", "0.895", "pl_noshow", None),
    ("plan_noshow", "-0.1", "pl_noshow", None),
    ("plan_demand", "50", "pl_demand", 1.0),
    ("plan_new", "20000", "pl_new", None),
    ("plan_new", "-3", "pl_new", None),
    ("plan_chairs", "0", "pl_chairs", 8),
    ("plan_chairs", "7.5", "pl_chairs", 8),
    ("plan_weeks", "60", "pl_weeks", 13),
    ("plan_minutes", "1", "pl_min_iv_ketamine", None),
    ("plan_minutes", "iv_ketamine=1000", "pl_min_iv_ketamine", None),
    ("plan_hours", "25:00-26:00", "pl_opens", dt.time(7, 0)),
    ("plan_days", "Mon,Funday", "pl_days", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
    ("plan_name", "x" * 100, "pl_save_name", ""),
])
def test_a_link_value_outside_what_a_planning_widget_can_hold_is_ignored_with_a_notice(
        key, value, widget, shown, sample_db, use_db, scenarios_dir):
    """`?plan_target=0.01` crashed the page (the target slider runs from 50 to 100 %), `?plan_demand=50` put a
    value in the form its box cannot hold: a link never raises an error, and a value the page's form cannot
    show is ignored with the same notice as any other unusable link value; the rest of the link still applies."""
    use_db(sample_db)
    at = _open({"plan_clinic": ["OKC"], "plan_chairs": ["9"] if key != "plan_chairs" else [value], key: [value]})
    _ok(at)
    notices = " ".join(w.value for w in at.warning).replace("\\", "")
    assert f"Ignored {key}=" in notices and "from the link" in notices, notices
    box = at.session_state[widget]
    assert box == shown, (widget, box)  # the clinic's own figure (OKC: 8 chairs, 07:00-19:00, Mon-Fri) or blank
    if key != "plan_chairs":
        assert at.number_input(key="pl_chairs").value == 9  # the rest of the link applies
    assert _param(at, key) is None  # the address no longer carries the ignored value
    assert len(_plan_charts(at)) == 7


def test_a_saved_scenario_the_form_cannot_hold_is_not_loaded_and_the_page_does_not_fail(sample_db, use_db,
                                                                                        scenarios_dir):
    """A scenario saved with `python -m pipelines plan --save-scenario` may ask for a target of 30 %, which the
    page's slider (50 to 100 %) cannot show: loading it crashed the page like a link did."""
    use_db(sample_db)
    save_scenario(Scenario(name="Low target", target_utilization=0.3, clinic_id="OKC"), scenarios_dir)
    at = _open({"plan_clinic": ["OKC"]})
    _ok(at)
    at.selectbox(key="pl_pick").set_value("Low target").run()
    _button(at, "Load").click().run()
    _ok(at)
    assert any("Not loaded" in w.value and "50" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.slider(key="pl_target").value == 80


def test_the_page_on_an_empty_warehouse(empty_db, use_db, scenarios_dir):
    use_db(empty_db)
    at = _open()
    _ok(at)
    assert any("loaded yet" in i.value for i in at.info)


def test_the_page_with_clinics_but_no_sessions(clinics_only_db, use_db, scenarios_dir):
    use_db(clinics_only_db)
    at = _open({"plan_clinic": ["OKC"]})
    _ok(at)
    assert any("No treatment sessions are loaded yet" in i.value for i in at.info)


def test_a_scope_that_excludes_the_clinic(sample_db, use_db, scenarios_dir, monkeypatch):
    use_db(sample_db)
    save_scenario(Scenario(name="OKC secret", clinic_id="OKC", chairs=12))
    save_scenario(Scenario(name="NYC nine", clinic_id="NYC", chairs=9))
    _sign_in(monkeypatch, "clinic_manager", ("NYC",))
    at = _open({"plan_clinic": ["OKC"], "plan_chairs": ["12"]})
    _ok(at)
    assert at.selectbox(key="pl_clinic").options == ["Infusion Clinic, New York"]
    assert at.selectbox(key="pl_clinic").value == "NYC"
    assert any("not a clinic you can plan" in w.value for w in at.warning)
    assert _param(at, "plan_clinic") == "NYC"
    assert at.selectbox(key="pl_pick").options == ["NYC nine"]  # another clinic's scenarios are not even listed
    assert "OKC secret" not in _text(at) and "Oklahoma" not in _text(at)


def test_the_plans_charts_are_in_three_sections_only_the_open_one_drawn(sample_db, use_db, scenarios_dir):
    """The cards answer the question; the seven charts behind them are in sections (ui.sections), only the open one
    drawn: two by default, the others when their tab is opened, and the section is kept in the link."""
    use_db(sample_db)
    at = _open()
    _ok(at)
    assert [t.label for t in at.tabs] == PLAN_SECTIONS
    drawn = {}
    for label in PLAN_SECTIONS:
        open_section(at, "planning", label)
        _ok(at)
        drawn[label] = [t.split(",")[0] for t in _titles(at)]
        assert "Fewest chairs for 80%" in _metrics(at), label  # the cards stay above every section
    assert drawn == {
        "Utilization and chairs": ["Projected chair utilization by week", "How many chairs"],
        "Busy hours": ["When chairs will be busy", "Peak-hour overflow"],
        "Demand and waits": ["Wait for a first infusion", "New patients per week", "Projected sessions per week"],
    }, drawn
    assert _param(at, "planning_tab") == "Demand and waits" and _param(at, "plan_clinic") == "DEN"


def test_no_history_and_too_little_history_are_explained(short_db, use_db, scenarios_dir, monkeypatch):
    use_db(short_db)
    _sign_in(monkeypatch, "medical_director")
    at = _open({"plan_clinic": ["TUL"]})
    _ok(at)
    assert any("no complete week of history" in i.value and "new patients per week" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.number_input(key="pl_new").set_value(12.0)
    _button(at, "Plan this scenario").click().run()
    _ok(at)
    assert len(_plan_charts(at)) == 7 and "12.0 new patients a week" in _text(at)

    at.selectbox(key="pl_clinic").set_value("OKC").run()
    _ok(at)
    assert any("complete weeks of history to forecast from" in w.value for w in at.warning)
    assert len(_plan_charts(at)) == 7


def test_a_saved_scenario_that_plans_after_the_data_is_explained_not_planned(sample_db, use_db, scenarios_dir):
    """As on the command line: a plan cannot start after the day after the data's last day (it planned
    nobody and 1 chair 'with data up to' a day in 2099)."""
    use_db(sample_db)
    save_scenario(Scenario(name="Far future", clinic_id="OKC", chairs=6, as_of="2099-01-01"))
    at = _open({"plan_clinic": ["OKC"]})
    at.selectbox(key="pl_pick").set_value("Far future").run()
    at.button(key="pl_load").click().run()
    _ok(at)
    assert "as of 2099-01-01" in _text(at) and not _plan_charts(at)
    assert any("Cannot plan as of 2099-01-01: the data's last day is 2026-" in i.value.replace("\\", "")
               and "Back to no change" in i.value for i in at.info)
    _button(at, "Back to no change").click().run()
    _ok(at)
    assert "as of 2099" not in _text(at) and len(_plan_charts(at)) == 7


def test_save_load_compare_and_delete_scenarios(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    at = _open({"plan_clinic": ["OKC"]})
    assert at.caption and any("No saved scenario" in c.value for c in at.caption)
    # a change, saved
    at.number_input(key="pl_chairs").set_value(6)
    _button(at, "Plan this scenario").click().run()
    at.text_input(key="pl_save_name").set_value("Six chairs")
    at.text_input(key="pl_save_note").set_value("if two chairs go to the new site")
    _button(at, "Save the scenario on screen").click().run()
    _ok(at)
    assert (scenarios_dir / "six-chairs.json").exists()
    assert any("Saved “Six chairs”" in s.value for s in at.success)
    assert "Scenario “Six chairs”" in _text(at) and _param(at, "plan_name") == "Six chairs"
    # a second one
    at.time_input(key="pl_closes").set_value(dt.time(21, 0))
    _button(at, "Plan this scenario").click().run()
    assert "Scenario “Six chairs (edited)”" in _text(at)
    at.text_input(key="pl_save_name").set_value("Late close")
    _button(at, "Save the scenario on screen").click().run()
    _ok(at)
    assert at.selectbox(key="pl_pick").options == ["Late close", "Six chairs"]
    # load the first again
    _button(at, "Back to no change").click().run()
    at.selectbox(key="pl_pick").set_value("Six chairs").run()
    at.button(key="pl_load").click().run()
    _ok(at)
    assert "Scenario “Six chairs”" in _text(at) and at.number_input(key="pl_chairs").value == 6
    assert at.time_input(key="pl_closes").value == dt.time(19, 0)
    # compare three: on screen + two saved
    at.multiselect(key="pl_compare").set_value([ON_SCREEN, "saved:Six chairs", "saved:Late close"]).run()
    _ok(at)
    table = at.dataframe[-1].value
    assert list(table.columns) == ["Six chairs", "Six chairs (2)", "Late close"]
    assert table.loc["Chairs", "Late close"] == "6" and table.loc["Opening hours", "Late close"] == "07:00-21:00"
    compared = [t for t in _plan_charts(at) if t.startswith("Scenarios compared")]
    assert compared == ["Scenarios compared: booked utilization, 6 Jul – 4 Oct 2026"]
    at.selectbox(key="pl_compare_column").set_value("mean_wait_days").run()
    _ok(at)
    assert any(t.startswith("Scenarios compared: mean wait") for t in _plan_charts(at))
    # a name taken by another clinic is refused
    at.selectbox(key="pl_clinic").set_value("NYC").run()
    at.text_input(key="pl_save_name").set_value("six CHAIRS")
    _button(at, "Save the scenario on screen").click().run()
    assert any("Not saved" in w.value and "already uses the name" in w.value for w in at.warning)
    # delete
    at.selectbox(key="pl_clinic").set_value("OKC").run()
    at.selectbox(key="pl_pick").set_value("Late close").run()
    at.button(key="pl_delete").click().run()
    _ok(at)
    assert not (scenarios_dir / "late-close.json").exists() and (scenarios_dir / "six-chairs.json").exists()
    assert at.selectbox(key="pl_pick").options == ["Six chairs"]


def test_saving_and_deleting_a_scenario_goes_to_the_access_log(sample_db, use_db, scenarios_dir, monkeypatch,
                                                              tmp_path):
    """Saved scenarios are shared with everyone who plans the clinic: who saved, replaced or deleted
    one is in the access log; when the log cannot be written the change is made and the notice says so."""
    from pipelines.users.audit import AccessLog

    access = tmp_path / "access"
    monkeypatch.setenv("CLINIC_ANALYTICS_ACCESS_DIR", str(access))
    use_db(sample_db)
    _sign_in(monkeypatch, "operations")
    at = _open({"plan_clinic": ["OKC"], "plan_chairs": ["6"]})
    for _ in range(2):  # new, then the same name again
        at.text_input(key="pl_save_name").set_value("Six chairs")
        _button(at, "Save the scenario on screen").click().run()
        _ok(at)
    at.selectbox(key="pl_pick").set_value("Six chairs").run()
    at.button(key="pl_delete").click().run()
    _ok(at)
    events = [(e["event"], e["actor"], e["role"], e["details"]) for e in AccessLog(access).read()]
    who = ("planner@example.org", "operations")
    assert events == [
        ("scenario_saved", *who, {"what": "Six chairs", "clinics": ["OKC"], "kind": "new"}),
        ("scenario_saved", *who, {"what": "Six chairs", "clinics": ["OKC"], "kind": "replaced"}),
        ("scenario_deleted", *who, {"what": "Six chairs", "clinics": ["OKC"]}),
    ]
    assert not AccessLog(access).verify()

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the access folder should be")
    monkeypatch.setenv("CLINIC_ANALYTICS_ACCESS_DIR", str(blocked))
    at.text_input(key="pl_save_name").set_value("Seven")
    _button(at, "Save the scenario on screen").click().run()
    assert (scenarios_dir / "seven.json").exists()
    assert any("Saved “Seven”" in w.value and "access log could not record it" in w.value for w in at.warning)


def test_a_plan_is_made_once_and_not_on_unrelated_reruns(sample_db, use_db, scenarios_dir, monkeypatch):
    from pipelines.plan import engine

    made = []
    real = engine.plan_scenarios

    def counting(clinic_id, scenarios, **kwargs):
        made.append((clinic_id, len(scenarios)))
        return real(clinic_id, scenarios, **kwargs)

    monkeypatch.setattr(engine, "plan_scenarios", counting)
    pq._plans.clear()
    use_db(sample_db)
    at = _open({"plan_clinic": ["NYC"]})
    _ok(at)
    assert made == [("NYC", 1)]  # seven charts and five cards from one plan
    at.multiselect(key="f_modalities").set_value(["iv_ketamine"]).run()  # the sidebar: no new plan
    at.selectbox(key="f_preset").set_value("Last 12 months").run()
    _ok(at)
    assert made == [("NYC", 1)]
    at.number_input(key="pl_chairs").set_value(9)  # in a form: nothing runs until it is submitted
    _button(at, "Plan this scenario").click().run()
    assert made == [("NYC", 1), ("NYC", 1)]
    _button(at, "Back to no change").click().run()  # back to a plan already made
    assert len(made) == 2


# ------------------------------------------------------------------------------ the data module


def test_plan_queries_refuse_clinics_outside_the_scope(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    nyc = Scope.for_clinics(["NYC"])
    with pytest.raises(pq.PlanUnavailable, match="not one you can plan"):
        pq.plan(nyc, "OKC")
    with pytest.raises(pq.PlanUnavailable):
        pq.save(nyc, "OKC", Scenario(name="x", chairs=3))
    save_scenario(Scenario(name="Theirs", clinic_id="OKC", chairs=3))
    with pytest.raises(pq.PlanUnavailable):
        pq.delete(nyc, "OKC", "Theirs")
    with pytest.raises(pq.PlanUnavailable, match="not a saved scenario of this clinic"):
        pq.delete(nyc, "NYC", "Theirs")
    assert (scenarios_dir / "theirs.json").exists()
    assert pq.saved_scenarios(nyc).scenarios == []
    assert [s.name for s in pq.saved_scenarios(Scope.everything()).scenarios] == ["Theirs"]
    assert set(pq.plannable_clinics(nyc)) == {"NYC"}
    assert pq.current_capacity(nyc, "OKC") is None
    assert pq.current_capacity(nyc, "NYC")["chairs"] == 8
    assert pq.plan(nyc, "NYC").clinic_id == "NYC"


def test_saving_into_a_scenarios_folder_that_is_a_file_is_explained(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "scenarios"
    not_a_folder.write_text("")
    monkeypatch.setenv("CLINIC_ANALYTICS_SCENARIOS", str(not_a_folder))
    with pytest.raises(pq.PlanUnavailable, match="is not a folder: point CLINIC_ANALYTICS_SCENARIOS at a folder"):
        pq.save(Scope.everything(), "OKC", Scenario(name="Six chairs", chairs=6))
    assert pq.saved_scenarios(Scope.everything(), "OKC").scenarios == []


def test_unreadable_scenario_files_are_skipped_not_fatal(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    scenarios_dir.mkdir(parents=True)
    (scenarios_dir / "broken.json").write_text("{not json")
    (scenarios_dir / "typo.json").write_text('{"name": "typo", "chiars": 3}')
    (scenarios_dir / "latin1.json").write_bytes('{"name": "Café"}'.encode("latin-1"))  # stopped the page
    save_scenario(Scenario(name="Fine", clinic_id="DEN", chairs=5))
    everything = pq.saved_scenarios(Scope.everything(), "DEN")
    assert [s.name for s in everything.scenarios] == ["Fine"] and everything.unreadable == 3
    assert pq.saved_scenarios(Scope.for_clinics(["DEN"]), "DEN").unreadable == 0  # not told to a scoped viewer
    with pytest.raises(pq.PlanUnavailable, match="already uses the name"):
        pq.save(Scope.everything(), "DEN", Scenario(name="Broken", chairs=5))


def test_planning_charts_in_the_catalog(sample_db, use_db, scenarios_dir):
    use_db(sample_db)
    specs = catalog.for_page("Planning")
    assert {s.id for s in specs} >= {"planning.utilization_by_week", "planning.weekday_hour", "planning.overflow",
                                      "planning.waits", "planning.chairs", "planning.scenario_comparison"}
    ctx = catalog.context(Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30)), pq_options())
    nyc = Scope.for_clinics(["NYC"])
    for spec in specs:
        fig = spec.render(nyc, Filters(), ctx)  # the first clinic in scope, no change
        meta = fig.layout.meta
        assert "Jul" in meta["title"] and "2026" in meta["title"], spec.id  # the plan's weeks, not the filters'
        assert "Infusion Clinic, New York" in meta["subtitle"], spec.id
        assert "docs/planning.md" in meta["footnote"], spec.id
        assert "Oklahoma" not in fig.to_json() and "Denver" not in fig.to_json(), spec.id
        if spec.id != "planning.overflow":
            assert not is_empty(fig), spec.id
        with pytest.raises(pq.PlanUnavailable):
            spec.data(nyc, Filters(clinics=("OKC",)))  # a clinic outside the scope selects nothing
    comparison = catalog.get("planning.scenario_comparison")
    two = (Scenario(name="now"), Scenario(name="nine", chairs=9))
    fig = comparison.render(nyc, Filters(), ctx, scenarios=two, column="sessions")
    assert [t.name for t in fig.data] == ["now", "nine"] and "compared: sessions" in fig.layout.meta["title"]


def test_planning_charts_download_their_figures_as_csv(sample_db, use_db, scenarios_dir):
    from dashboard.exports import charts as exports

    use_db(sample_db)
    ctx = catalog.context(Filters(), pq_options())
    for spec in catalog.for_page("Planning"):
        opts = ({"clinic_id": "NYC", "scenarios": (Scenario(name="now"), Scenario(name="nine", chairs=9))}
                if spec.id == "planning.scenario_comparison" else {"clinic_id": "NYC", "scenario": Scenario(chairs=9)})
        data = spec.data(Scope.for_clinics(["NYC"]), Filters(), **opts)
        table = pd.read_csv(__import__("io").BytesIO(exports.chart_file(spec, data, ctx, "csv", **opts).data))
        # the plan's weeks or hours (8 or more), or the chair counts tried (5 or more), behind the chart
        assert len(table) >= (5 if spec.id == "planning.chairs" else 8), spec.id
        assert not {"OKC", "DEN"} & set(table.astype(str).to_numpy().ravel()), spec.id


def pq_options():
    from dashboard.filters import FilterOptions

    return FilterOptions(clinics={"NYC": "Infusion Clinic, New York"})


# -------------------------------------------------------------------------- the URL form (pure)

@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(hs.data())
def test_a_scenario_survives_the_url_round_trip(data):
    s = data.draw(_scenario_strategy())
    params = {k: [v] for k, v in pq.scenario_to_url("OKC", s).items()}
    clinic, back, messages = pq.scenario_from_url(params, {"OKC": "Oklahoma City"})
    assert messages == [] and clinic == "OKC"
    assert back.to_json() == s.to_json()


def _scenario_strategy():
    times = [f"{h:02d}:{m:02d}" for h in range(5, 23) for m in (0, 30)]
    hours = hs.one_of(hs.none(), hs.lists(hs.sampled_from(times), min_size=2, max_size=2, unique=True).map(sorted))
    days = hs.lists(hs.sampled_from(WEEKDAYS), min_size=1, unique=True).map(lambda ds: tuple(d for d in WEEKDAYS
                                                                                              if d in ds))
    minutes = hs.one_of(hs.none(), hs.integers(5, 720).map(float),
                        hs.dictionaries(hs.sampled_from(MODALITIES), hs.integers(5, 720).map(float), min_size=1))
    names = hs.one_of(hs.just(pq.BASELINE_NAME),
                      hs.text(hs.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
                      .map(str.strip).filter(bool))

    @hs.composite
    def build(draw):
        window = draw(hours)
        return Scenario(
            name=draw(names),
            horizon_weeks=draw(hs.integers(1, 52)),
            chairs=draw(hs.one_of(hs.none(), hs.integers(1, 60))),
            opens_at=window[0] if window else None,
            closes_at=window[1] if window else None,
            open_days=draw(hs.one_of(hs.none(), days)),
            new_patients_per_week=draw(hs.one_of(hs.none(), hs.floats(0, 500, allow_nan=False))),
            demand_multiplier=draw(hs.floats(0, 10, allow_nan=False)),
            no_show_rate=draw(hs.one_of(hs.none(), hs.floats(0, 0.89, allow_nan=False))),
            chair_minutes=draw(minutes),
            target_utilization=draw(hs.floats(0.5, 1, allow_nan=False)),  # what the page's slider can show
        )

    return build()


def test_a_link_that_changes_something_without_a_name_is_a_what_if_not_current():
    """A link asking for 1.5 x demand was headed Scenario "current", which reads as no change (operations audit)."""
    _, changed, _ = pq.scenario_from_url({"plan_demand": ["1.5"]}, {"OKC": "Oklahoma City"})
    assert changed.name == pq.WHAT_IF and changed.demand_multiplier == 1.5
    _, unchanged, _ = pq.scenario_from_url({"plan_weeks": ["26"]}, {"OKC": "Oklahoma City"})
    assert unchanged.name == pq.BASELINE_NAME  # horizon and target change no observed value
    named = Scenario(name=pq.BASELINE_NAME, demand_multiplier=1.5)  # kept as named when the link says so
    assert pq.scenario_from_url({k: [v] for k, v in pq.scenario_to_url(None, named).items()}, {})[1].name == "current"


def test_any_link_gives_a_valid_scenario_and_never_raises():
    @settings(max_examples=200)
    @given(hs.dictionaries(hs.sampled_from([pq.URL_CLINIC, *pq.URL_FIELDS, "other"]),
                           hs.lists(hs.text(max_size=200), min_size=1, max_size=3)))
    def check(params):
        clinic, s, messages = pq.scenario_from_url(params, {"OKC": "Oklahoma City"})
        assert clinic in (None, "OKC")
        Scenario.from_json(s.to_json())  # valid
        assert all(isinstance(m, str) and len(m) < 400 for m in messages)

    check()


def test_planning_downloads_are_named_and_logged_by_the_plans_weeks(sample_db, use_db, scenarios_dir, monkeypatch):
    """A plan's PNG/PDF/CSV were named after the sidebar's period ('planning-chairs_den-current_1-jul-30-sep-2026'
    for a plan of 30 Nov - 6 Dec 2026) and logged with it. The downloads take the plan's own context."""
    from dashboard import ui
    from dashboard.exports import charts as exports

    use_db(sample_db)
    seen = {}
    monkeypatch.setattr(ui, "downloads", lambda spec, data, ctx, key, **opts: spec.page == "Planning"
                        and seen.setdefault(spec.id, ctx))
    at = _open({"plan_weeks": "4"})
    _ok(at)
    titles = _plan_charts(at)
    assert len(seen) == 7 and len(titles) == 7
    for (chart_id, ctx), title in zip(seen.items(), titles, strict=True):
        assert title.endswith(ctx.period), (chart_id, title, ctx.period)  # the figure's own weeks
        assert "Jul" in ctx.period and "Apr" not in ctx.period, chart_id  # not the sidebar's Q2
        assert "scenario" in ctx.selection, chart_id
        name = exports.filename(catalog.get(chart_id), ctx, "png")
        assert "jul" in name and "apr" not in name, name
    spec = catalog.get("planning.scenario_comparison")
    two = {"clinic_id": "NYC", "scenarios": (Scenario(name="now"), Scenario(name="nine", chairs=9))}
    data = spec.data(Scope.for_clinics(["NYC"]), Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30)), **two)
    ctx = spec.context(Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30)), pq_options(), data)
    assert "Jul" in ctx.period and ctx.period == spec.figure(data, ctx).layout.meta["title"].rsplit(", ", 1)[-1]


def test_the_wait_card_says_at_least_when_patients_still_wait_at_the_end(sample_db, use_db, scenarios_dir):
    """DEN with 2 chairs: the queue still waits when the simulation ends, so its waits are counted only up to
    that end; the card read '17.9 days' as if exact. It says '≥' and why; a plan that serves everyone does not."""
    use_db(sample_db)
    at = _open({"plan_clinic": "DEN", "plan_chairs": "2"})
    _ok(at)
    wait = _metrics(at)["Wait for a first infusion"]
    assert wait.startswith("≥ ") and wait.endswith(" days")
    assert "some still waiting when the simulation ends" in _text(at)
    at = _open({"plan_clinic": "DEN"})
    _ok(at)
    assert not _metrics(at)["Wait for a first infusion"].startswith("≥")


def test_the_page_names_the_public_holidays_planned_as_ordinary_days(sample_db, use_db, scenarios_dir):
    """OKC (Monday to Friday) has Labor Day in its weeks of 6 Jul - 4 Oct 2026, and had sessions on it in 2025:
    booked like any Monday, and the page says why. DEN, closed on Mondays, has no holiday on an open day in those
    weeks and gets no such line. The form's holiday box starts with the holidays OKC was closed on, observed."""
    use_db(sample_db)
    at = _open({"plan_clinic": "OKC"})
    _ok(at)
    assert ("Planned as ordinary open days: Labor Day (Mon 7 Sep 2026) (the clinic had sessions on it the last "
            "time it fell on an open day).") in _text(at)
    assert at.multiselect(key="pl_closed").value == [
        "New Year's Day", "Memorial Day", "Independence Day", "Thanksgiving", "Christmas Day"]
    at = _open({"plan_clinic": "DEN"})
    _ok(at)
    assert "Planned as ordinary open days" not in _text(at)


def test_closing_on_public_holidays_in_the_form_plans_them_closed_and_puts_them_in_the_url(sample_db, use_db,
                                                                                         scenarios_dir):
    """OKC closed on Labor Day: a day's less chair time in its week, the plan says so, and the link keeps it;
    the same link opened again fills the box; "none" in a link is kept as an explicit choice."""
    use_db(sample_db)
    at = _open({"plan_clinic": "OKC"})
    at.multiselect(key="pl_closed").set_value(["Labor Day", "Independence Day"])
    _button(at, "Plan this scenario").click().run()
    _ok(at)
    text = _text(at)
    assert "closed on Independence Day, Labor Day" in text  # the scenario's line, in the calendar's order
    assert ("Closed on Labor Day (Mon 7 Sep 2026): no chair time, the week's sessions booked on its other open days "
            "(as the scenario says).") in text
    assert _param(at, "plan_closed") == "Independence Day,Labor Day"
    plan = pq.plan(Scope.everything(), "OKC", Scenario(closed_on=("Independence Day", "Labor Day")))
    labor_week = next(w for w in plan.weeks if w["week_start"] == dt.date(2026, 9, 7))
    ordinary = next(w for w in pq.plan(Scope.everything(), "OKC", Scenario()).weeks
                    if w["week_start"] == dt.date(2026, 9, 7))
    assert labor_week["available_chair_hours"] == ordinary["available_chair_hours"] * 4 / 5

    again = _open({"plan_clinic": "OKC", "plan_closed": "Independence Day,Labor Day"})
    _ok(again)
    assert again.multiselect(key="pl_closed").value == ["Independence Day", "Labor Day"]
    none = _open({"plan_clinic": "OKC", "plan_closed": "none"})
    _ok(none)
    assert "open on every public holiday" in _text(none) and _param(none, "plan_closed") == "none"
    bad = _open({"plan_clinic": "OKC", "plan_closed": "Boxing Day"})
    _ok(bad)
    assert "Ignored plan_closed='Boxing Day' from the link: unknown public holiday 'Boxing Day'" in _text(bad)


def test_the_page_says_how_often_the_plans_days_would_run_over_at_the_clinics_own_spread(sample_db, use_db,
                                                                                        scenarios_dir):
    """Beside the cards: the clinic's day-to-day spread (metrics.plan_daily_spread) and the share of the plan's
    open days that would ask for more than the chairs at it; the sample's steady days give almost none."""
    use_db(sample_db)
    at = _open({"plan_clinic": "DEN"})
    _ok(at)
    plan = pq.plan(Scope.everything(), "DEN", Scenario())
    spread = plan.summary["daily_spread"]
    assert 0 < spread < 0.1 and plan.summary["busy_day_share"] < 0.001
    assert (f"Day to day, the clinic's booked chair time varied about ±{spread:.0%} around its weekday's average in "
            "the last 13 weeks; at that spread, almost none (under 0.1%) of the plan's open days would ask for more "
            "chair time than the chairs give in the day (the plan itself books average days).") in _text(at)


def test_the_page_says_how_full_the_clinics_real_days_were_beside_a_plan_of_average_days(sample_db, use_db,
                                                                                      scenarios_dir):
    """The plan books average days and said "every hour has room" where every chair had been in use for a
    fifth of open hours (operations audit). Beside the cards: the last 13 whole weeks' utilization and full time,
    the figures of metrics.utilization over those weeks (the data ends Tue 30 Jun 2026: weeks to Sun 28 Jun)."""
    from dashboard import format as fmt
    from dashboard import queries

    use_db(sample_db)
    recent = pq.recent_use(Scope.everything(), "DEN", dt.date(2026, 6, 30))
    assert (recent["start"], recent["end"]) == (dt.date(2026, 3, 30), dt.date(2026, 6, 28))
    same = queries.utilization(Scope.everything(), Filters(("DEN",), dt.date(2026, 3, 30), dt.date(2026, 6, 28)))
    assert recent["full_time_share"] == same["full_time_share"].iloc[0] > 0
    assert recent["utilization"] == same["utilization"].iloc[0]
    assert pq.recent_use(Scope.for_clinics(["NYC"]), "DEN", dt.date(2026, 6, 30)) is None
    at = _open({"plan_clinic": "DEN"})
    _ok(at)
    assert (f"Observed 30 Mar – 28 Jun 2026: utilization {fmt.pct(recent['utilization'])}, every chair in use "
            f"{fmt.share(recent['full_time_share'])} of open hours. The plan books average days") in _text(at)

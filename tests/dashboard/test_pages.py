"""Every page through Streamlit's AppTest: on the sample, after filter changes, on an empty
warehouse, with filters that select nothing, and with links carrying bad values."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard_testing import NOTHING, ROOT, SECTIONS, open_section

APP = str(ROOT / "streamlit_app.py")
PAGES = ["overview", "outcomes", "safety", "boosters", "capacity", "data_quality"]
TIMEOUT = 180


def _app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if query:
        at.query_params.update(query)
    return at


def _open(at: AppTest, page: str) -> AppTest:
    if page == "overview" and not at._tree:  # first run lands on the default page
        return at.run()
    return at.switch_page(f"dashboard/app_pages/{page}.py").run()


def _ok(at: AppTest, page: str) -> None:
    assert not at.exception, (page, [e.value for e in at.exception])
    assert not at.error, (page, [e.value for e in at.error])


def _charts(at: AppTest) -> list:
    return [el for el in at.get("plotly_chart")]


def _each_section(at: AppTest, page: str):
    """Yield each section of `page` once it is open and drawn (the page itself, once, for a page without)."""
    if page not in SECTIONS:
        yield None
        return
    key, labels = SECTIONS[page]
    assert [t.label for t in at.tabs] == labels, page
    for label in labels:
        open_section(at, page, label)
        yield label




@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_the_sample(page, sample_db, use_db):
    use_db(sample_db)
    at = _app()
    at.run()
    _open(at, page)
    for section in _each_section(at, page):
        _ok(at, (page, section))
        if page != "data_quality":
            assert _charts(at) or section == "Sessions to review", (page, section)
            assert any("1 Apr – 30 Jun 2026" in m.value for m in at.markdown), page  # the default period, in words
    assert at.query_params.get("start") == ["2026-04-01"] or at.query_params.get("start") == "2026-04-01"


@pytest.mark.parametrize("page", PAGES)
def test_page_after_filter_changes(page, sample_db, use_db):
    use_db(sample_db)
    at = _app()
    at.run()
    _open(at, page)
    at.multiselect(key="f_clinics").set_value(["NYC"]).run()
    _ok(at, page)
    at.multiselect(key="f_modalities").set_value(["esketamine_nasal"]).run()
    _ok(at, page)
    at.multiselect(key="f_indications").set_value(["mdd", "ptsd"]).run()
    _ok(at, page)
    at.date_input(key="f_period").set_value((dt.date(2025, 3, 1), dt.date(2025, 9, 30))).run()
    _ok(at, page)
    at.selectbox(key="f_preset").set_value("Last 12 months").run()
    _ok(at, page)
    assert at.session_state["f_period"] == (dt.date(2025, 7, 1), dt.date(2026, 6, 30))
    for section in _each_section(at, page):
        _ok(at, (page, section))
    at.button[0].click().run()  # reset
    _ok(at, page)
    assert at.session_state["f_clinics"] == []


@pytest.mark.parametrize("page", PAGES)
def test_page_on_an_empty_warehouse(page, empty_db, use_db):
    use_db(empty_db)
    at = _app()
    at.run()
    _open(at, page)
    _ok(at, page)
    assert any("No " in i.value and "load" in i.value for i in at.info), page
    assert not at.tabs  # the page stops at its header: no section to open


@pytest.mark.parametrize("page", PAGES)
def test_page_with_clinics_but_no_sessions_yet(page, clinics_only_db, use_db):
    use_db(clinics_only_db)
    at = _app({"start": ["2025-01-01"]})
    at.run()
    _open(at, page)
    for section in _each_section(at, page):
        _ok(at, (page, section))


@pytest.mark.parametrize("page", PAGES)
def test_page_when_filters_select_nothing(page, sample_db, use_db):
    use_db(sample_db)
    at = _app(NOTHING)
    at.run()
    _open(at, page)
    for section in _each_section(at, page):
        _ok(at, (page, section))
    # the link itself is valid: no warning about it (Data quality warns of the sample's quarantined clinics row,
    # whatever the filters: it shows the whole warehouse)
    assert not [w.value for w in at.warning if w.icon == ":material/link_off:"]
    assert not [w.value for w in at.warning if page != "data_quality"], [w.value for w in at.warning]
    assert at.session_state["f_clinics"] == ["DEN"]


def _chart_ids(at: AppTest) -> list[str]:
    return [c.proto.id.split("-chart-", 1)[1] for c in _charts(at)]


def test_a_page_in_sections_runs_only_the_open_one(sample_db, use_db):
    """Only the open section of Outcomes and Safety runs and draws its charts; between them the sections draw
    every chart of the page once (Safety's funnels are one chart at a time, of a control). The Instrument
    chosen above the sections is the one the funnel and the trajectory use; the open section stays in the
    session across pages."""
    from dashboard.charts import catalog

    drawn = {
        "outcomes": {"Response and remission": ["outcomes.rates_by_instrument", "outcomes.rates_by_group",
                                                "outcomes.evaluability"],
                     "Clinics compared": ["outcomes.clinic_funnel"],
                     "Over the course": ["outcomes.trajectory", "outcomes.early_signal", "outcomes.induction_funnel",
                                         "outcomes.completion_by_group"],
                     "PHQ-9 item 9": ["outcomes.item9"]},
        "safety": {"Side effects": ["safety.side_effects", "safety.side_effects_by_dose",
                                    "safety.side_effects_by_session", "safety.interventions"],
                   "Blood pressure and vitals": ["safety.bp_by_dose", "safety.peak_rise", "safety.vitals"],
                   "Clinics compared": ["safety.severe_funnel"],
                   "Sessions to review": [],
                   "REMS monitoring": ["safety.rems", "safety.rems_by_clinic"]},
    }
    use_db(sample_db)
    at = _app()
    at.run()
    for page, sections in drawn.items():
        _open(at, page)
        assert _chart_ids(at) == next(iter(sections.values())), page  # the first section opens by default
        for section in _each_section(at, page):
            _ok(at, (page, section))
            assert _chart_ids(at) == sections[section], (page, section)
        on_page = {spec.id for spec in catalog.for_page(page.title())}
        shown = {c for ids in sections.values() for c in ids}
        # every chart of the page is in one section, but for the funnels a control switches between
        assert on_page - shown == ({"outcomes.remission_funnel", "outcomes.completion_funnel"} if page == "outcomes"
                                   else {"safety.bp_funnel"})
    _open(at, "outcomes")  # back on Outcomes: the section opened last
    assert [t for t in at.tabs][0].label == "Response and remission" and at.session_state["out_tab"] == "PHQ-9 item 9"
    assert _chart_ids(at) == ["outcomes.item9"]
    open_section(at, "outcomes", "Over the course")
    at.selectbox(key="out_instrument").set_value("GAD7").run()
    titles = [json.loads(c.proto.spec)["layout"]["meta"]["title"] for c in _charts(at)]
    assert titles[0].startswith("GAD-7 mean score by session"), titles


@pytest.mark.parametrize("page", list(SECTIONS))
def test_a_filter_changed_with_a_section_open_keeps_the_section_in_the_url(page, sample_db, use_db):
    """The sidebar rewrote the whole URL on a filter change, the open section's parameter with it, and Streamlit
    refuses to set a parameter bound to a widget: the page stopped ("Cannot directly set query parameter
    'out_tab' - it is bound to a widget"). It now writes the filters' parameters only."""
    use_db(sample_db)
    at = _app({"junk": ["1"]})
    at.run()
    _open(at, page)
    key, labels = SECTIONS[page]
    open_section(at, page, labels[-1])
    _ok(at, page)
    at.multiselect(key="f_clinics").set_value(["NYC", "DEN"]).run()
    _ok(at, page)
    assert at.session_state[key] == labels[-1]
    params = dict(at.query_params)
    assert params.get(key) in ([labels[-1]], labels[-1]) and params.get("clinic") == ["NYC", "DEN"], params
    assert "junk" not in params  # a parameter nobody owns is still dropped
    next(b for b in at.button if b.label == "Reset filters").click().run()  # the section stays
    _ok(at, page)
    assert at.session_state[key] == labels[-1] and at.session_state["f_clinics"] == []


@pytest.mark.parametrize("page", ["overview", "outcomes"])
def test_bad_link_values_are_explained_and_ignored(page, sample_db, use_db):
    use_db(sample_db)
    bad = {"clinic": ["OKC", "NOPE", "'; drop table raw.sessions; --"], "start": ["2026-02-30"],
           "modality": ["<script>"], "indication": ["x" * 5000]}
    at = _app(bad)
    at.run()
    _open(at, page)
    _ok(at, page)
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "NOPE" in warnings and "YYYY-MM-DD" in warnings and "modality" in warnings
    assert at.session_state["f_clinics"] == ["OKC"]


def test_link_values_cannot_inject_markdown(sample_db, use_db):
    use_db(sample_db)
    at = _app({"clinic": ["[click me](https://example.invalid)", "<img src=x onerror=alert(1)>"]})
    at.run()
    _ok(at, "overview")
    shown = " ".join(w.value for w in at.warning)
    assert "\\[click me\\]\\(https\\:" in shown  # escaped: rendered as text, not as a link
    assert "\\<img" in shown


def test_filters_persist_across_pages_and_stay_in_the_url(sample_db, use_db):
    use_db(sample_db)
    at = _app()
    at.run()
    at.multiselect(key="f_clinics").set_value(["OKC"]).run()
    at.multiselect(key="f_modalities").set_value(["iv_ketamine"]).run()
    for page in PAGES[1:]:
        _open(at, page)
        _ok(at, page)
        assert at.multiselect(key="f_clinics").value == ["OKC"], page
        assert at.multiselect(key="f_modalities").value == ["iv_ketamine"], page
        params = at.query_params
        assert params.get("clinic") in (["OKC"], "OKC"), (page, params)
        assert params.get("modality") in (["iv_ketamine"], "iv_ketamine"), (page, params)


def test_a_link_restores_the_view(sample_db, use_db):
    use_db(sample_db)
    link = {"clinic": ["NYC", "DEN"], "start": ["2025-10-01"], "end": ["2025-12-31"], "indication": ["ptsd"]}
    at = _app(link)
    at.run()
    _open(at, "outcomes")
    _ok(at, "outcomes")
    assert at.multiselect(key="f_clinics").value == ["NYC", "DEN"]
    assert at.date_input(key="f_period").value == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert any("1 Oct – 31 Dec 2025" in m.value for m in at.markdown)


def test_overview_headlines_compare_with_the_previous_period(sample_db, use_db):
    use_db(sample_db)
    at = _app()
    at.run()
    _ok(at, "overview")
    labels = [m.label for m in at.metric]
    for expected in ("Courses started", "Active patients", "PHQ-9 response", "PHQ-9 remission", "Any side effect",
                     "BP elevation", "Median booster interval", "Chair utilization", "Last load", "Rows in quarantine"):
        assert expected in labels
    response = next(m for m in at.metric if m.label == "PHQ-9 response")
    assert response.value.endswith("%")
    # a move inside both periods' 95% intervals says so, and one read on interim scores is provisional
    # (dashboard.headlines._rate_change)
    assert re.fullmatch(r"[+-]\d+\.\d pts( · may be chance| · provisional)?|±0 pts", response.delta), response.delta
    assert any("Changes compare with the previous quarter: 1 Jan – 31 Mar 2026." in c.value for c in at.caption)


def test_data_quality_search(sample_db, use_db):
    use_db(sample_db)
    at = _app()
    at.run()
    _open(at, "data_quality")
    at.text_input(key="dq_search").set_value("chairs must").run()
    _ok(at, "data_quality")
    assert any("rows shown" in c.value for c in at.caption)
    at.text_input(key="dq_search").set_value("no such reason at all").run()
    assert any("No quarantined row matches" in i.value for i in at.info)


def test_data_quality_tables_say_engines_in_words_and_leave_blanks_blank(sample_db, use_db):
    use_db(sample_db)
    at = _app()
    at.run()
    _open(at, "data_quality")
    at.toggle(key="dq_failed_only").set_value(False).run()
    _ok(at, "data_quality")
    frames = [d.value for d in at.dataframe]
    checks = next(f for f in frames if "rule_id" in f.columns)
    assert set(checks["engine"]) == {"Great Expectations", "SQL"}
    # The rule in words comes right after the file and kind (it was pushed off the table's right edge
    # by the engine and suite); every column is still shown.
    order = list(next(d for d in at.dataframe if "rule_id" in d.value.columns).proto.column_order)
    assert order[:3] == ["file", "kind", "description"] and order.index("engine") > order.index("unexpected_count")
    assert set(order) == set(checks.columns)
    assert checks["suite"].notna().all() and set(checks.loc[checks["engine"] == "SQL", "suite"]) == {""}
    files = next(f for f in frames if "reason" in f.columns)
    assert files["kind"].notna().all() and files["reason"].notna().all()
    skipped = files[files["status"] == "skipped"]
    assert not skipped.empty and set(skipped["kind"]) == {""} and skipped["reason"].str.len().gt(0).all()
    # The reason of a skipped file (or one already loaded) sits in the same column: it is not headed
    # "Why rejected", which read as if those files had been refused.
    table = next(d for d in at.dataframe if "reason" in d.value.columns)
    assert json.loads(table.proto.columns)["reason"]["label"] == "Why not loaded"


def test_capacity_charts_do_not_claim_the_modality_and_indication_filters(sample_db, use_db):
    """Chair utilization ignores the modality and indication filters (chairs are shared): a capacity chart's
    subtitle, on the page and in its downloads, must not name them as if its counts were esketamine only."""
    use_db(sample_db)
    at = _app({"modality": ["esketamine_nasal"], "indication": ["ptsd"]})
    at.run()
    _open(at, "capacity")
    _ok(at, "capacity")
    import json

    subtitles = [json.loads(c.proto.spec)["layout"]["meta"]["subtitle"] for c in _charts(at)]
    assert len(subtitles) == 5
    for sub in subtitles:
        assert "Esketamine" not in sub and "PTSD" not in sub, sub
        assert "all 3 clinics" in sub or "Denver" in sub, sub
    assert any("do not apply on this page" in i.value for i in at.info)
    # the same context goes to the downloads and the board pack
    from dashboard import queries
    from dashboard.charts import catalog
    from dashboard.filters import Filters
    from dashboard.scope import Scope

    options = queries.filter_options(Scope.everything())
    f = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), modalities=("esketamine_nasal",),
                indications=("ptsd",))
    assert catalog.get("capacity.peak_chairs").context(f, options).selection == "all 3 clinics"
    assert "Esketamine" in catalog.get("boosters.km").context(f, options).selection  # boosters do filter


def test_rems_charts_do_not_claim_the_modality_filter(sample_db, use_db):
    """REMS monitoring is about esketamine sessions whatever the modality filter says: with IV ketamine chosen,
    both REMS charts read 'all 3 clinics · IV ketamine' over 1,121 esketamine sessions. The other Safety
    charts do filter by modality and keep naming it."""
    import json

    use_db(sample_db)
    at = _app({"modality": ["iv_ketamine"], "start": ["2026-04-01"], "end": ["2026-06-30"]})
    at.run()
    _open(at, "safety")
    subtitles, captions = {}, []
    for section in _each_section(at, "safety"):
        _ok(at, ("safety", section))
        subtitles |= {json.loads(c.proto.spec)["layout"]["meta"]["title"].split(",")[0]:
                      json.loads(c.proto.spec)["layout"]["meta"]["subtitle"] for c in _charts(at)}
        captions += [c.value for c in at.caption]
    rems = {t: s for t, s in subtitles.items() if "REMS" in t}
    assert len(rems) == 2, subtitles
    for title, sub in rems.items():
        assert "IV ketamine" not in sub and "esketamine sessions" in sub, (title, sub)
    assert "IV ketamine" in subtitles["Side effects by effect and severity"]
    assert any("the modality filter does not apply to these charts" in c for c in captions)


def _copy_of(db, tmp_path, name: str):
    """A copy of a published warehouse (pointer, a relative link, and its versions) under tmp_path/name."""
    import shutil

    folder = tmp_path / name
    shutil.copytree(db.parent, folder, symlinks=True)
    return folder / db.name


def test_a_page_failing_on_a_warehouse_of_an_earlier_release_says_to_rebuild_it(sample_db, use_db, tmp_path,
                                                                               monkeypatch):
    """A warehouse built before lost capacity was split into no-shows and cancellations has no no_show_share:
    the Capacity page stopped on a traceback (KeyError: 'no_show_share'; the 50-clinic benchmark's kept
    warehouse after an upgrade). The page now says the warehouse needs rebuilding; on a current warehouse
    the same failure is a bug and still raises."""
    import os
    import shutil
    from pathlib import Path

    from dashboard import queries
    from dashboard.ui import STALE_PAGE_FAILED
    from pipelines import config
    from pipelines.warehouse import rebuild

    sql = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR, sql)
    capacity = sql / "metrics" / "capacity.sql"
    assert capacity.read_text().count(" as no_show_share") == 1
    capacity.write_text(capacity.read_text().replace(" as no_show_share", " as no_show_share_earlier"))
    earlier = _copy_of(sample_db, tmp_path, "earlier")
    con = rebuild.open_build(Path(os.path.realpath(earlier)))
    try:
        rebuild.build_models(con, sql)  # the models of a release whose capacity macro had no no_show_share
        con.execute("CHECKPOINT")
    finally:
        con.close()

    use_db(earlier)
    at = _app()
    at.run()
    _open(at, "capacity")
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [STALE_PAGE_FAILED]

    monkeypatch.setattr(queries, "definitions_current", lambda: True)  # as if current: a bug, not hidden
    at = _app()
    at.run()
    _open(at, "capacity")
    assert at.exception and "no_show_share" in at.exception[0].value
    monkeypatch.undo()

    assert rebuild.rebuild_models(earlier).rebuilt
    at = _app()
    at.run()
    _open(at, "capacity")
    _ok(at, "capacity")


def test_a_warehouse_built_by_an_earlier_release_says_so_on_every_page_until_rebuilt(sample_db, use_db, tmp_path):
    """A warehouse built before a release changed a definition kept showing the old figures, with nothing
    to tell (the still-in-induction split of 1e15595 reached it only by a rebuild). Every page now warns
    when the published version was built with other SQL definitions than the app's, or before builds
    recorded theirs, and the warning goes once `pipelines rebuild` has run."""
    import os

    import duckdb

    from pipelines.warehouse.rebuild import rebuild_models

    def warned(at) -> bool:
        texts = [w.value for w in at.warning if "built by an earlier release" in w.value]
        return bool(texts) and all("python -m pipelines rebuild" in t for t in texts)

    use_db(sample_db)
    at = _app()
    at.run()
    _ok(at, "overview")
    assert not warned(at)

    changed = _copy_of(sample_db, tmp_path, "changed")  # built with other definitions
    with duckdb.connect(os.path.realpath(changed)) as con:
        con.execute("UPDATE audit.meta SET value = 'an earlier release' WHERE key = 'models_fingerprint'")
    older = _copy_of(sample_db, tmp_path, "older")  # built before builds recorded their definitions
    with duckdb.connect(os.path.realpath(older)) as con:
        con.execute("DROP VIEW staging.stg_build")
        con.execute("DELETE FROM audit.meta WHERE key = 'models_fingerprint'")
    for stale in (changed, older):
        use_db(stale)
        for page in ("overview", "dashboard/app_pages/safety.py"):
            at = _app()
            at.run()
            if page != "overview":
                at.switch_page(page).run()
            _ok(at, page)
            assert warned(at), (stale.parent.name, page)
        assert rebuild_models(stale).rebuilt
        at = _app()
        at.run()
        _ok(at, "overview")
        assert not warned(at), stale.parent.name


def test_a_quarantined_capacity_row_is_said_on_capacity_planning_and_data_quality(sample_db, use_db):
    """The sample's OKC row from 14 Feb 2026 (0 chairs) is in quarantine: utilization, lost capacity and the
    plan kept using the row before it and no page said so."""
    def _plain(text: str) -> str:  # the page escapes Markdown in text from data
        return text.replace("\\", "")

    use_db(sample_db)
    at = _app()
    at.run()
    _open(at, "capacity")
    _ok(at, "capacity")
    assert any("capacity row is in quarantine (Oklahoma City Mood & Wellness from 14 Feb 2026" in _plain(w.value)
               for w in at.warning)
    _open(at, "data_quality")
    _ok(at, "data_quality")
    assert any("the clinics row meant to start 14 Feb 2026 is in quarantine" in _plain(w.value) for w in at.warning)
    table = next(d.value for d in at.dataframe if "Open days" in d.value.columns)
    assert {"Oklahoma City Mood & Wellness", "Denver Interventional Psychiatry"} <= set(table["Clinic"])
    marked = table[table["In place of quarantined"] != ""]
    assert list(marked["Clinic"]) == ["Oklahoma City Mood & Wellness"] and list(marked["From"]) == ["1 Aug 2025"]
    assert list(marked["In place of quarantined"]) == ["row from 14 Feb 2026"]
    # a period before the row's date: nothing shown in it depends on the row
    before = _app({"start": "2025-01-01", "end": "2025-03-31"})
    before.run()
    _open(before, "capacity")
    _ok(before, "capacity")
    assert not any("in quarantine" in _plain(w.value) for w in before.warning)


def test_the_overview_says_a_quarantined_capacity_row_reaches_its_chair_utilization(sample_db, use_db):
    use_db(sample_db)
    at = _app()
    at.run()
    _ok(at, "overview")
    text = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "capacity row is in quarantine (Oklahoma City Mood & Wellness from 14 Feb 2026" in text
    assert "chair utilization and the Capacity page use the row valid before it" in text
    before = _app({"start": "2025-01-01", "end": "2025-03-31"})
    before.run()
    _ok(before, "overview")
    assert "in quarantine (Oklahoma" not in " ".join(c.value for c in before.caption).replace("\\", "")

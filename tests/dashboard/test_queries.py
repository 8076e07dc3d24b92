"""The query layer against a real warehouse: same figures as the macros, scope enforced before SQL,
results keyed by the published version."""

from __future__ import annotations

import datetime as dt
import inspect
import shutil

import duckdb
import pandas as pd
import pytest

from dashboard import queries
from dashboard.charts import catalog
from dashboard.filters import Filters
from dashboard.scope import Scope
from pipelines.warehouse.publish import Warehouse

ALL = Scope.everything()
QUARTER = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))


@pytest.fixture
def sample(sample_db, use_db):
    use_db(sample_db)
    return sample_db


def test_no_warehouse_means_empty_answers(empty_db, use_db):
    use_db(empty_db)
    assert not queries.warehouse_ready()
    assert queries.outcome_rates(ALL, QUARTER).empty
    assert queries.filter_options(ALL).clinics == {}
    assert queries.warehouse_info().version is None


def test_options_come_from_the_warehouse(sample):
    options = queries.filter_options(ALL)
    assert set(options.clinics) == {"OKC", "NYC", "DEN"}
    assert options.clinics["DEN"] == "Denver Interventional Psychiatry"
    assert options.modalities == ["iv_ketamine", "im_ketamine", "esketamine_nasal"]
    # the sample's first day is 2 Jan 2025: every clinic is closed on New Year's Day
    assert (options.data_start, options.data_end) == (dt.date(2025, 1, 2), dt.date(2026, 6, 30))


def test_figures_are_the_macros_figures(sample):
    con = duckdb.connect(str(sample), read_only=True)
    direct = con.execute(
        "select * from metrics.outcome_rates(clinics := ['OKC'], start_date := '2026-04-01'::DATE, "
        "end_date := '2026-06-30'::DATE, modalities := ['ketamine']) order by instrument").df()
    con.close()
    mine = queries.outcome_rates(ALL, Filters(("OKC",), QUARTER.start, QUARTER.end, ("ketamine",)))
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False)


def test_every_query_function_runs_on_the_sample(sample):
    for spec in catalog.CATALOG:
        if spec.page == "Planning":  # a plan, not frames (tests/dashboard/test_planning_page.py)
            continue
        data = spec.data(ALL, QUARTER)
        frames = data.values() if isinstance(data, dict) else [data]
        assert all(isinstance(f, pd.DataFrame) for f in frames), spec.id


def _clinics_in(data) -> set[str]:
    frames = data.values() if isinstance(data, dict) else [data]
    seen: set[str] = set()
    for frame in frames:
        for column in ("clinic_id", "clinic_name", "group_value"):
            if column in frame:
                seen |= set(frame[column].dropna().astype(str))
    return seen


@pytest.mark.parametrize("requested", [(), ("NYC",), ("OKC", "NYC", "DEN"), ("'; drop table raw.sessions; --",)])
def test_scope_is_enforced_for_every_chart_query(sample, requested):
    """A viewer of OKC only never gets a row of another clinic, whatever the filters ask for."""
    scope = Scope.for_clinics(["OKC"])
    others = {"NYC", "DEN", "Infusion Clinic, New York", "Denver Interventional Psychiatry"}
    f = Filters(requested, QUARTER.start, QUARTER.end)
    for spec in catalog.CATALOG:
        if spec.page in ("Data quality", "Planning"):  # planning refuses outright: test_planning_page.py
            continue
        assert not (_clinics_in(spec.data(scope, f, measure="response")) & others), spec.id
    # and the breakdown queries by clinic too
    for fn in (queries.outcome_rates, queries.booster_intervals, queries.boosters_per_patient_year, queries.rems_completeness):
        assert not (_clinics_in(fn(scope, f, "clinic")) & others), fn.__name__
    assert set(queries.filter_options(scope).clinics) == {"OKC"}


def test_scope_outside_request_selects_nothing(sample):
    rates = queries.outcome_rates(Scope.for_clinics(["OKC"]), Filters(("NYC",), QUARTER.start, QUARTER.end))
    assert rates.empty or int(rates["courses"].sum()) == 0


def test_every_public_query_takes_a_scope_first():
    public = [fn for name, fn in inspect.getmembers(queries, inspect.isfunction)
              if fn.__module__ == queries.__name__ and not name.startswith("_")]
    exempt = {"query", "current_version_path", "begin_run", "warehouse_ready", "warehouse_info",
              "pinned_version", "cursor", "definitions_current"}  # facts of the warehouse, not of patients
    for fn in public:
        if fn.__name__ in exempt:
            continue
        first = next(iter(inspect.signature(fn).parameters))
        assert first == "scope", fn.__name__


def test_queries_use_parameters_not_formatting():
    """No value is ever pasted into SQL text: f-strings that build SQL only insert fixed fragments
    defined in the module (and the macro name / clauses passed by its own functions)."""
    import ast

    tree = ast.parse(inspect.getsource(queries))
    allowed = {"_NAMES_CTE", "_FILTERS_SQL", "_CLINIC_PERIOD_SQL", "_CLOSURES_BY_CLINIC_CTE", "_CLOSURES_BY_WEEK_CTE",
               "_CHAIRS_AT_END_CTE",
               "name", "extra_sql", "order_by", "values_sql", "row_sql"}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant)).lower()
            if not any(word in text for word in ("select", "from ", "metrics.", " where ", "order by")):
                continue  # an error message, not SQL
            inserted = {ast.unparse(v.value) for v in node.values if isinstance(v, ast.FormattedValue)}
            assert inserted <= allowed, (ast.unparse(node), inserted - allowed)
    # and the callers of _macro pass literal names and clauses only
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_macro":
            assert isinstance(node.args[0], ast.Constant)
            for arg in node.args[3:4] + [k.value for k in node.keywords if k.arg in ("extra_sql", "order_by")]:
                assert isinstance(arg, ast.Constant), ast.unparse(node)
            for k in node.keywords:
                if k.arg in ("extra_sql", "order_by"):
                    assert isinstance(k.value, ast.Constant), ast.unparse(node)
    # and the callers of _by_breakdown pass literal macro names and orderings
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_by_breakdown":
            assert isinstance(node.args[0], ast.Constant), ast.unparse(node)
            for k in node.keywords:
                if k.arg == "order_first":
                    assert isinstance(k.value, ast.Constant), ast.unparse(node)


def test_quarantine_never_shows_patient_keys(sample):
    rows = queries.quarantine_rows(ALL, "", None, open_only=False)
    assert not rows.empty
    text = rows.astype(str).to_string()
    assert not rows["original_values"].fillna("").str.contains('"patient_ref"').any()
    con = duckdb.connect(str(sample), read_only=True)
    refs = {r[0] for r in con.execute("select patient_ref from raw.patients limit 2000").fetchall()}
    con.close()
    assert not any(ref in text for ref in refs)


def test_quarantine_search(sample):
    hits = queries.quarantine_rows(ALL, "chairs must be")
    assert len(hits) >= 1 and hits["reasons"].str.contains("chairs").all()
    assert queries.quarantine_rows(ALL, "%' or 1=1 --").empty
    assert queries.quarantine_rows(ALL, "", kind="clinics")["kind"].eq("clinics").all()


def test_restricted_viewers_see_no_quarantined_values(sample):
    rows = queries.quarantine_rows(Scope.for_clinics(["OKC"]), "")
    assert rows["original_values"].isna().all()
    rows = queries.quarantine_rows(Scope(aggregates_only=True), "")
    assert rows["original_values"].isna().all()


def test_quarantined_row_keys_only_for_row_level_viewers(sample):
    """Operations saw the Key column (`S-00011439 | blurred_vision`: which session had which side effect, vitals
    and session ids): their role sees quarantine reasons, no row values. Keys and row numbers point at one
    extract row: only row-level viewers get them."""
    operations = Scope(clinics=None, aggregates_only=False, name="operations", row_level=False)
    director = Scope(clinics=None, aggregates_only=False, name="medical_director", row_level=True)
    ops = queries.quarantine_rows(operations, "", None, open_only=False)
    md = queries.quarantine_rows(director, "", None, open_only=False)
    assert len(ops) == len(md) > 0 and list(ops.columns) == list(md.columns)
    row_keyed = md[md["kind"].isin(["sessions", "vitals", "side_effects"]) & md["record_key"].notna()]
    assert len(row_keyed) > 10  # the director keeps them
    assert md["row_number"].notna().all()
    for column in ("record_key", "row_number", "original_values", "quarantine_id"):
        assert ops[column].isna().all(), column
    keys = set(row_keyed["record_key"]) | {str(k).split(" | ")[0] for k in row_keyed["record_key"]}
    assert not any(key in ops.astype(str).to_string() for key in keys)
    assert list(ops["file"] + ops["reasons"]) == list(md["file"] + md["reasons"])  # reasons stay, newest first
    some_key = str(row_keyed["record_key"].iloc[0]).split(" | ")[0]
    assert queries.quarantine_rows(operations, some_key).empty  # nor found by searching for one


def test_a_new_version_is_read_on_the_next_run(sample_db, tmp_path, use_db):
    """Publishing a new version switches every query to it; results are cached per version file."""
    pointer = tmp_path / "wh.duckdb"
    wh = Warehouse(pointer)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    first = wh.start_build()
    shutil.copyfile(sample_db.resolve(), first)
    wh.publish(first)
    use_db(pointer)
    assert queries.warehouse_info().version == 1
    before = queries.course_counts(ALL, QUARTER)

    second = wh.start_build()
    shutil.copyfile(sample_db.resolve(), second)
    con = duckdb.connect(str(second))
    con.execute("delete from marts.course_outcomes")  # a visibly different version
    con.close()
    wh.publish(second)
    assert queries.warehouse_info().version == 2
    assert queries.course_counts(ALL, QUARTER).equals(before)  # course counts unchanged
    assert int(queries.outcome_rates(ALL, QUARTER)["evaluable"].sum()) == 0


def test_the_funnel_compares_the_clinics_shown_with_every_clinic_the_viewer_sees(sample):
    """Phoenix outside the network's 95% limits was inside them when shown beside one peer: the "network"
    line pooled the clinics shown. The benchmark is now every clinic of the viewer's scope, whichever are
    shown; a viewer of two clinics is compared with those two."""
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    everyone = queries.clinic_comparison(Scope.everything(), quarter)["clinics"]
    assert set(everyone["clinic_id"]) == {"DEN", "NYC", "OKC"}
    network = everyone[["network_events", "network_n", "network_rate"]].drop_duplicates()
    assert len(network) == 1 and int(network["network_n"].iloc[0]) == int(everyone["n"].sum())
    for chosen in (("DEN",), ("DEN", "NYC")):
        part = queries.clinic_comparison(Scope.everything(), Filters(clinics=chosen, start=quarter.start,
                                                                     end=quarter.end))["clinics"]
        assert set(part["clinic_id"]) == set(chosen)
        assert part["network_n"].eq(network["network_n"].iloc[0]).all()
        assert part["network_rate"].eq(network["network_rate"].iloc[0]).all()
        same = everyone.set_index("clinic_id").loc[list(chosen), ["outside_95", "outside_998", "lower_95"]]
        assert part.set_index("clinic_id").loc[list(chosen), ["outside_95", "outside_998", "lower_95"]].equals(same)
    two = queries.clinic_comparison(Scope(clinics=frozenset({"DEN", "OKC"})), quarter)["clinics"]
    assert set(two["clinic_id"]) == {"DEN", "OKC"}
    assert int(two["network_n"].iloc[0]) == int(everyone.set_index("clinic_id").loc[["DEN", "OKC"], "n"].sum())


def test_a_quarantined_capacity_row_comes_with_the_row_used_in_its_place(sample):
    """The sample's clinics file has an OKC row from 14 Feb 2026 with 0 chairs: quarantined, so the figures
    after that date use the row valid then. A viewer of another clinic does not get it."""
    (row,) = queries.capacity_quarantine(ALL).to_dict("records")
    assert (row["clinic_id"], row["valid_from_text"], row["chairs_text"]) == ("OKC", "2026-02-14", "0")
    assert "chairs" in row["reasons"] and row["file"] == "clinics.csv"
    used = queries.query("select valid_from, chairs from marts.clinic_capacity where clinic_id = 'OKC' "
                         "and date '2026-02-14' >= valid_from and date '2026-02-14' < valid_to")
    assert pd.Timestamp(row["used_valid_from"]) == pd.Timestamp(used["valid_from"].iloc[0])
    assert row["used_chairs"] == used["chairs"].iloc[0]
    assert queries.capacity_quarantine(Scope.for_clinics(["DEN"])).empty
    assert len(queries.capacity_quarantine(Scope.for_clinics(["OKC"]))) == 1
    assert queries.capacity_quarantine(ALL, ["NYC"]).empty


def test_capacity_rows_are_the_marts_rows_within_scope(sample):
    rows = queries.capacity_rows(Scope.for_clinics(["OKC"]))
    marts = queries.query("select count(*) as n from marts.clinic_capacity where clinic_id = 'OKC'")
    assert set(rows["clinic_id"]) == {"OKC"} and len(rows) == int(marts["n"].iloc[0])
    # newest row first, and every treated session of the clinic falls in one row
    assert rows["valid_from"].iloc[0] == rows["valid_from"].max()
    treated = queries.query("select count(*) as n from marts.sessions where clinic_id = 'OKC' and is_treated")
    assert int(rows["treated_sessions"].sum()) == int(treated["n"].iloc[0])


def test_safety_cases_are_the_sessions_the_safety_counts_count(sample):
    """The list behind "severe 7.0%" and "BP elevation 1.0%": as many severe sessions as the severe rate's
    numerator, as many elevated ones as the BP elevation rate's (a diastolic of 110 alone counts, and the list
    carries the diastolic peak), newest first; the limit applies to the kind asked for; a clinic's viewer gets
    its own clinic only and a viewer without row-level access nothing."""
    con = duckdb.connect(str(queries.current_version_path()), read_only=True)
    severe_n = con.execute("select sessions from metrics.side_effect_rates(start_date := DATE '2026-04-01', "
                           "end_date := DATE '2026-06-30', of_severity := 'severe') where effect = 'any'").fetchone()[0]
    elevated_n = con.execute("select elevated_sessions from metrics.bp_elevation(start_date := DATE '2026-04-01', "
                             "end_date := DATE '2026-06-30')").fetchone()[0]
    con.close()
    both = queries.safety_cases(ALL, QUARTER)
    severe = queries.safety_cases(ALL, QUARTER, "severe")
    bp = queries.safety_cases(ALL, QUARTER, "bp")
    assert len(severe) == severe_n > 0 and severe["severe_effects"].map(len).gt(0).all()
    assert len(bp) == elevated_n > 0 and bp["bp_elevated"].all()
    assert len(both) == len(set(severe["session_id"]) | set(bp["session_id"]))
    assert ((bp["peak_systolic_bp"] >= 180) | (bp["peak_diastolic_bp"] >= 110)).all()
    assert both["session_date"].is_monotonic_decreasing
    assert "patient_key" not in both.columns
    # the limit applies to the kind chosen: the newest 5 BP sessions, not BP sessions among the newest 5 of both
    assert list(queries.safety_cases(ALL, QUARTER, "bp", limit=5)["session_id"]) == list(bp["session_id"][:5])
    okc = queries.safety_cases(Scope.for_clinics(["OKC"]), QUARTER)
    assert set(okc["clinic_name"]) == {"Oklahoma City Mood & Wellness"}
    assert queries.safety_cases(Scope(clinics=None, name="operations", row_level=False), QUARTER).empty
    with pytest.raises(ValueError):
        queries.safety_cases(ALL, QUARTER, "mild")

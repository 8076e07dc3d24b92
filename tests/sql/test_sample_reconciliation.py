"""On the bundled sample (data_samples/): the marts reconcile with what was loaded, utilization never
exceeds 1, and response / remission land near the generator's targets (about 55% and 30% of evaluable
PHQ-9 courses; docs of the generator)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.config import SAMPLE_DIR

pytestmark = pytest.mark.slow

SAMPLE_FILES = [p for p in SAMPLE_DIR.glob("*") if p.is_file() and not p.name.startswith(("README", "."))] \
    if SAMPLE_DIR.exists() else []


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    if not SAMPLE_FILES:
        pytest.skip("data_samples/ holds no batch yet")
    from pipelines.load.loader import load_batch
    from pipelines.load.pseudonymize import Pseudonymizer

    db = tmp_path_factory.mktemp("sample") / "clinic_analytics.duckdb"
    report = load_batch(SAMPLE_DIR, db=db, pseudonymizer=Pseudonymizer(b"s" * 32), now=dt.datetime(2030, 1, 1))
    assert report.published, report.to_text()
    from pipelines.warehouse import connect_read_only

    con, _ = connect_read_only(db)
    yield con
    con.close()


def value(con, sql):
    return con.execute(sql).fetchone()[0]


def test_every_loaded_session_is_in_the_sessions_mart_once(sample):
    assert value(sample, "SELECT count(*) FROM marts.sessions") == value(sample, "SELECT count(*) FROM raw.sessions")
    assert value(sample, "SELECT count(DISTINCT session_id) FROM marts.sessions") == value(
        sample, "SELECT count(*) FROM raw.sessions")


def test_treated_sessions_in_marts_equal_treated_sessions_loaded(sample):
    loaded = value(sample, "SELECT count(*) FROM raw.sessions WHERE status IN ('completed', 'stopped_early')")
    assert value(sample, "SELECT count(*) FROM marts.sessions WHERE is_treated") == loaded
    assert value(sample, "SELECT count(*) FROM marts.sessions WHERE is_treated AND course_id IS NOT NULL") == loaded
    assert value(sample, "SELECT sum(treated_sessions) FROM metrics.treated_sessions()") == loaded
    assert value(sample, "SELECT sum(sessions) FROM marts.courses") == loaded


def test_vitals_and_side_effects_of_treated_sessions_all_reach_the_marts(sample):
    assert value(sample, "SELECT count(*) FROM marts.vitals_by_minute") == value(
        sample, "SELECT count(*) FROM raw.vitals v JOIN raw.sessions s USING (session_id) "
                "WHERE s.status IN ('completed', 'stopped_early')")
    assert value(sample, "SELECT count(*) FROM marts.session_side_effects") == value(
        sample, "SELECT count(*) FROM raw.side_effects e JOIN raw.sessions s USING (session_id) "
                "WHERE s.status IN ('completed', 'stopped_early')")


def test_utilization_never_exceeds_one(sample):
    assert value(sample, "SELECT max(utilization) FROM metrics.utilization()") <= 1
    assert value(sample, "SELECT max(utilization) FROM metrics.utilization_by_day()") <= 1
    assert value(sample, "SELECT max(utilization) FROM metrics.utilization_by_weekday_hour()") <= 1


def test_response_and_remission_are_near_the_generators_targets(sample):
    row = sample.execute(
        "SELECT evaluable, response_rate, remission_rate FROM metrics.outcome_rates() WHERE instrument = 'PHQ9'"
    ).fetchone()
    evaluable, response, remission = row
    assert evaluable >= 100
    assert 0.45 <= response <= 0.65
    assert 0.20 <= remission <= 0.40


def test_the_command_figures_reconcile_with_the_marts(sample):
    from pipelines.metrics import metrics_from_connection

    out = metrics_from_connection(sample)
    assert out["courses"] == value(sample, "SELECT count(*) FROM marts.courses")
    assert out["treated_sessions"] == value(sample, "SELECT count(*) FROM marts.sessions WHERE is_treated")
    assert sorted(out["clinics"]) == [r[0] for r in sample.execute(
        "SELECT DISTINCT clinic_id FROM raw.clinics ORDER BY 1").fetchall()]
    assert all(0 <= u["utilization"] <= 1 for u in out["utilization"] if u["utilization"] is not None)
    assert isinstance(sample, duckdb.DuckDBPyConnection)

"""The model files keep the project's SQL style, and the runner builds them (and the metric macros)
in an order that works, again and again, into a file a read-only connection can query."""

import re

import duckdb
import pytest

from pipelines.config import SQL_DIR
from pipelines.warehouse import models, schema

MODEL_FILES = sorted((SQL_DIR / "intermediate").glob("*.sql")) + sorted((SQL_DIR / "marts").glob("*.sql"))


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_model_states_its_grain_and_ends_with_select_from_final(path):
    text = path.read_text(encoding="utf-8")
    assert re.match(r"-- one row (per|for) ", text.splitlines()[0]), "first line must be the grain comment"
    assert text.rstrip().endswith("select * from final")


@pytest.mark.parametrize("path", sorted((SQL_DIR / "metrics").glob("*.sql")), ids=lambda p: p.name)
def test_each_macro_file_starts_with_a_comment_and_only_creates_metrics_macros(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("-- ")
    creates = re.findall(r"create or replace macro (\S+?)\(", text, re.IGNORECASE)
    assert creates and all(name.startswith("metrics.") for name in creates)
    assert not re.search(r"\b(staging|intermediate)\.", re.sub(r"--[^\n]*", "", text)), \
        "metric macros read marts only"


def test_models_come_after_the_models_they_read():
    order = [m.qualified for m in models.discover()]
    for position, model in enumerate(models.discover()):
        for dep in model.depends_on():
            if dep in order and dep != model.qualified:
                assert order.index(dep) < position, f"{model.qualified} is built before {dep}"


def test_macro_files_come_after_the_files_whose_macros_they_use():
    files = models.discover_macros()
    created_before: set[str] = set()
    for f in files:
        provided_elsewhere = {name for other in files if other is not f for name in other.creates()}
        assert (f.uses() & provided_elsewhere) <= created_before, f.name
        created_before |= f.creates()


def test_build_twice_and_query_the_macros_read_only(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    schema.create_all(con)
    models.build_all(con)
    con.execute("CREATE OR REPLACE MACRO metrics.left_over() AS 1")
    timings = models.build_all(con)  # a rebuild replaces everything and drops what sql/ no longer has
    assert "marts.course_outcomes" in timings and "metrics.outcomes" in timings
    assert con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'left_over'").fetchone()[0] == 0
    kinds = dict(con.execute(
        "SELECT schema_name || '.' || table_name, 'TABLE' FROM duckdb_tables() "
        "UNION ALL SELECT schema_name || '.' || view_name, 'VIEW' FROM duckdb_views() WHERE NOT internal").fetchall())
    assert kinds["marts.sessions"] == "TABLE" and kinds["marts.courses"] == "TABLE"
    assert kinds["staging.stg_sessions"] == "VIEW"
    # Intermediate models are built in memory for the rebuild and not kept in the file.
    assert not [name for name in kinds if name.startswith("intermediate.")]
    assert "intermediate" not in {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    con.close()
    reader = duckdb.connect(str(path), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM metrics.outcome_rates(clinics := ?::VARCHAR[])", [None]).fetchone()[0] == 0
        assert reader.execute("SELECT start_date FROM metrics.data_period()").fetchone()[0] is None
    finally:
        reader.close()


def test_a_published_view_cannot_read_an_intermediate_model(tmp_path):
    for layer in ("staging", "intermediate", "marts", "metrics"):
        (tmp_path / layer).mkdir()
    (tmp_path / "intermediate" / "int_n.sql").write_text("-- one row per number\nwith final as (select 1 as n)\n\nselect * from final\n")
    (tmp_path / "marts" / "thin.sql").write_text(
        "-- one row per number\n-- materialized: view\nwith n as (select * from intermediate.int_n),\n\n"
        "final as (select * from n)\n\nselect * from final\n")
    con = duckdb.connect()
    with pytest.raises(models.ModelError, match=r"marts\.thin .*view over an intermediate model"):
        models.build_all(con, tmp_path)
    (tmp_path / "marts" / "thin.sql").write_text(
        "-- one row per number\nwith n as (select * from intermediate.int_n),\n\nfinal as (select * from n)\n\nselect * from final\n")
    models.build_all(con, tmp_path)
    assert con.execute("SELECT n FROM marts.thin").fetchone()[0] == 1


def test_an_intermediate_model_cannot_ask_to_be_a_view(tmp_path):
    for layer in ("staging", "intermediate", "marts", "metrics"):
        (tmp_path / layer).mkdir()
    (tmp_path / "intermediate" / "int_n.sql").write_text(
        "-- one row per number\n-- materialized: view\nwith final as (select 1 as n)\n\nselect * from final\n")
    with pytest.raises(models.ModelError, match=r"intermediate\.int_n .*asks to be a view"):
        models.build_all(duckdb.connect(), tmp_path)


def test_a_rebuild_drops_the_intermediate_schema_older_versions_kept(tmp_path):
    for layer in ("staging", "intermediate", "marts", "metrics"):
        (tmp_path / layer).mkdir()
    (tmp_path / "intermediate" / "int_n.sql").write_text("-- one row per number\nwith final as (select 1 as n)\n\nselect * from final\n")
    (tmp_path / "marts" / "m.sql").write_text(
        "-- one row per number\nwith n as (select * from intermediate.int_n),\n\nfinal as (select n + 1 as n from n)\n\nselect * from final\n")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA intermediate; CREATE TABLE intermediate.int_n AS SELECT 41 AS n")
    models.build_all(con, tmp_path)
    assert con.execute("SELECT n FROM marts.m").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'intermediate'").fetchone()[0] == 0


def test_a_broken_model_names_itself(tmp_path):
    for layer in ("staging", "intermediate", "marts", "metrics"):
        (tmp_path / layer).mkdir()
    (tmp_path / "marts" / "broken.sql").write_text("-- one row per nothing\nselect * from nowhere\n")
    con = duckdb.connect()
    with pytest.raises(models.ModelError, match=r"marts\.broken"):
        models.build_all(con, tmp_path)


def test_a_model_can_ask_to_be_a_view(tmp_path):
    for layer in ("staging", "intermediate", "marts", "metrics"):
        (tmp_path / layer).mkdir()
    (tmp_path / "marts" / "thin.sql").write_text(
        "-- one row per number\n-- materialized: view (a note)\nwith final as (select 1 as n)\n\nselect * from final\n")
    (tmp_path / "marts" / "thick.sql").write_text("-- one row per number\nwith final as (select 1 as n)\n\nselect * from final\n")
    con = duckdb.connect()
    models.build_all(con, tmp_path)
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
    assert views == {"thin"} and tables == {"thick"}
    # and back to a table when the line goes away
    (tmp_path / "marts" / "thin.sql").write_text("-- one row per number\nwith final as (select 2 as n)\n\nselect * from final\n")
    models.build_all(con, tmp_path)
    assert con.execute("SELECT n FROM marts.thin").fetchone()[0] == 2
    assert "thin" in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}

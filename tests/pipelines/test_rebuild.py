"""A new release's SQL reaches an existing warehouse: `rebuild` (and a load with nothing new) rebuilds
the models when the sql/ files differ from those the published version was built with, keeping every
loaded row, the audit and the quarantine as they were."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from load_fixtures import env_for_cli, load, query, snapshot, warehouse_version, write_batch

from pipelines import config
from pipelines.errors import WarehouseError
from pipelines.warehouse.rebuild import FINGERPRINT_KEY, definitions_fingerprint, rebuild_models

ROOT = Path(__file__).resolve().parents[2]
KEPT = ("raw.", "audit.files", "audit.loads", "audit.quarantine", "audit.check_results", "history.")


def _fingerprint(db) -> str | None:
    rows = query(db, "SELECT value FROM audit.meta WHERE key = ?", [FINGERPRINT_KEY])
    return rows[0][0] if rows else None


def _as_if_built_by_an_older_release(db) -> None:
    """Write another fingerprint into the published version (read-only on disk, as published)."""
    version = warehouse_version(db)
    mode = version.stat().st_mode
    os.chmod(version, mode | stat.S_IWUSR)
    try:
        con = duckdb.connect(str(version))
        con.execute("UPDATE audit.meta SET value = 'an older release' WHERE key = ?", [FINGERPRINT_KEY])
        con.close()
    finally:
        os.chmod(version, mode)


def _kept(db) -> dict:
    return {name: rows for name, rows in snapshot(db).items() if name.startswith(KEPT)}


@pytest.fixture
def loaded(batch, db):
    write_batch(batch, {}, base=True)
    load(batch, db)
    return db


def test_a_load_stores_the_fingerprint_of_the_models_it_built(loaded):
    assert _fingerprint(loaded) == definitions_fingerprint()


def test_rebuild_leaves_an_up_to_date_warehouse_alone(loaded):
    before = warehouse_version(loaded)
    report = rebuild_models(loaded)
    assert not report.rebuilt and warehouse_version(loaded) == before
    assert "up to date" in report.to_text(loaded)


def test_a_warehouse_of_an_older_release_is_rebuilt_and_keeps_every_row(loaded):
    _as_if_built_by_an_older_release(loaded)
    before, kept = warehouse_version(loaded), _kept(loaded)
    report = rebuild_models(loaded)
    assert report.rebuilt and warehouse_version(loaded) != before
    assert _fingerprint(loaded) == definitions_fingerprint()
    assert _kept(loaded) == kept  # raw rows, history, audit and quarantine exactly as they were
    assert query(loaded, "SELECT count(*) FROM marts.sessions")[0][0] > 0


def test_a_changed_definition_reaches_the_marts(loaded, tmp_path):
    """The point of it: a mart defined differently by the new release shows the new definition."""
    sql = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR, sql)
    mart = sql / "marts" / "clinic_days.sql"
    text = mart.read_text()
    assert text.rstrip().endswith("select * from final")
    mart.write_text(text.rstrip().removesuffix("select * from final") + "select *, 42 as release_marker from final\n")
    report = rebuild_models(loaded, sql_dir=sql)
    assert report.rebuilt
    assert query(loaded, "SELECT DISTINCT release_marker FROM marts.clinic_days") == [(42,)]
    assert _fingerprint(loaded) == definitions_fingerprint(sql) != definitions_fingerprint()


def test_a_model_that_fails_leaves_the_published_version_as_it_was(loaded, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR, sql)
    (sql / "marts" / "clinic_days.sql").write_text("-- one row per nothing\nselect * from no_such_table\n")
    before, all_before = warehouse_version(loaded), snapshot(loaded)
    with pytest.raises(WarehouseError, match="published version is unchanged: model marts.clinic_days"):
        rebuild_models(loaded, sql_dir=sql)
    assert warehouse_version(loaded) == before and snapshot(loaded) == all_before
    assert not [p for p in before.parent.iterdir() if "building" in p.name]


def test_loading_the_same_batch_again_rebuilds_stale_models_once(loaded, batch):
    _as_if_built_by_an_older_release(loaded)
    before = warehouse_version(loaded)
    report = load(batch, loaded)
    assert report.published and "models were rebuilt" in report.message
    rebuilt = warehouse_version(loaded)
    assert rebuilt != before and _fingerprint(loaded) == definitions_fingerprint()
    again = load(batch, loaded)
    assert not again.published and "unchanged" in again.message and warehouse_version(loaded) == rebuilt


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", "rebuild", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env_for_cli())


def test_cli_rebuilds_once_then_says_the_models_are_up_to_date(loaded):
    _as_if_built_by_an_older_release(loaded)
    first = _cli("--db", str(loaded))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"rebuilt the models of {loaded}: published version 2")
    second = _cli("--db", str(loaded))
    assert second.returncode == 0 and "up to date (version 2)" in second.stdout


def test_cli_without_a_warehouse_is_one_line_and_creates_nothing(tmp_path):
    target = tmp_path / "none" / "clinic.duckdb"
    proc = _cli("--db", str(target))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().startswith("error: no warehouse at") and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists()

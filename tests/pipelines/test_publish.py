"""Publication: a load builds a new version apart and swaps the pointer atomically.

Readers see the old state or the new one, never an error; a loader killed at any moment leaves
the published warehouse intact and the next load works.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import config
from pipelines.errors import WarehouseError
from pipelines.generate import generate_batch
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer
from pipelines.warehouse.publish import Warehouse, connect_read_only, version_number

KEY = "publish-test-key-" + "x" * 32


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_KEY, KEY)
    monkeypatch.setenv(config.ENV_DB, str(tmp_path / "wh" / "clinic.duckdb"))
    return tmp_path


def _load(batch: Path, db: Path):
    return load_batch(batch, db=db, pseudonymizer=Pseudonymizer(KEY.encode()))


def _tiny_batch(folder: Path, n: int) -> Path:
    """A one-file batch whose content differs for every n, so each load publishes."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clinics.csv").write_text(
        "clinic_id,clinic_name,timezone,chairs,opens_at,closes_at,open_days\n"
        f"TINY{n},Tiny {n},America/Chicago,4,08:00,17:00,\"Mon,Tue\"\n"
    )
    return folder


def _counts(db: Path) -> dict:
    con, path = connect_read_only(db)
    try:
        return {
            "version": version_number(path),
            "loads": con.execute("select count(*) from audit.loads").fetchone()[0],
            "sessions": con.execute("select count(*) from staging.stg_sessions").fetchone()[0],
            "files": con.execute("select count(*) from audit.files").fetchone()[0],
        }
    finally:
        con.close()


def test_pointer_is_a_relative_symlink_to_a_read_only_version(env):
    db = env / "wh" / "clinic.duckdb"
    report = _load(_tiny_batch(env / "b1", 1), db)
    assert report.published and report.warehouse_version == 1
    assert db.is_symlink() and not os.path.isabs(os.readlink(db))
    target = db.resolve()
    assert target.name == "v000001.duckdb"
    assert oct(target.stat().st_mode & 0o777) == "0o440"
    _load(_tiny_batch(env / "b2", 2), db)
    assert db.resolve().name == "v000002.duckdb"


def test_old_versions_are_pruned_to_the_configured_number(env, monkeypatch):
    monkeypatch.setenv(config.ENV_KEEP_VERSIONS, "2")
    db = env / "wh" / "clinic.duckdb"
    for n in range(4):
        _load(_tiny_batch(env / f"b{n}", n), db)
    versions = sorted(p.name for p in Warehouse(db).versions_dir.glob("v*.duckdb"))
    assert versions == ["v000003.duckdb", "v000004.duckdb"]


def test_a_plain_file_at_the_pointer_is_not_overwritten(env):
    db = env / "plain.duckdb"
    duckdb.connect(str(db)).close()
    before = db.read_bytes()
    with pytest.raises(WarehouseError, match="plain file"):
        _load(_tiny_batch(env / "b", 1), db)
    assert db.read_bytes() == before and not db.is_symlink()


def test_stale_build_files_are_removed_by_the_next_load(env):
    db = env / "wh" / "clinic.duckdb"
    _load(_tiny_batch(env / "b1", 1), db)
    wh = Warehouse(db)
    stale = wh.versions_dir / "v000009.duckdb.building"
    stale.write_bytes(b"half a file")
    (wh.versions_dir / "v000009.duckdb.building.wal").write_bytes(b"wal")
    _load(_tiny_batch(env / "b2", 2), db)
    assert not list(wh.versions_dir.glob("*.building*"))
    assert _counts(db)["loads"] == 2


def test_a_reader_keeps_its_version_while_loads_publish_and_prune(env, monkeypatch):
    monkeypatch.setenv(config.ENV_KEEP_VERSIONS, "2")
    db = env / "wh" / "clinic.duckdb"
    _load(_tiny_batch(env / "b0", 0), db)
    con, path = connect_read_only(db)
    try:
        for n in range(1, 4):
            _load(_tiny_batch(env / f"b{n}", n), db)
        assert not path.exists()  # pruned, yet the open reader still reads its snapshot
        assert con.execute("select count(*) from raw.clinics").fetchone()[0] == 1
    finally:
        con.close()
    assert _counts(db)["loads"] == 4


_READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from pipelines.warehouse.publish import connect_read_only, version_number
    db, stop = sys.argv[1], Path(sys.argv[2])
    queries = errors = 0
    versions, messages = set(), []
    while not stop.exists():
        try:
            con, path = connect_read_only(db)
            try:
                con.execute("select count(*) from staging.stg_sessions").fetchone()
                con.execute("select count(*) from audit.files").fetchone()
                versions.add(version_number(path))
            finally:
                con.close()
            queries += 1
        except Exception as exc:  # every error counts against the contract
            errors += 1
            messages.append(repr(exc)[:200])
        time.sleep(0.005)
    print(json.dumps({"queries": queries, "errors": errors, "versions": sorted(versions), "messages": messages[:5]}))
    """
)


@pytest.mark.slow
def test_reader_querying_in_a_loop_during_several_loads_sees_no_error(env):
    db = env / "wh" / "clinic.duckdb"
    generate_batch(env / "base", clinics=2, months=2, seed=3)
    _load(env / "base", db)
    stop = env / "stop-reader"
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(db), str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        for n in range(5):
            generate_batch(env / f"more{n}", clinics=2, months=2, seed=10 + n)
            report = _load(env / f"more{n}", db)
            assert report.published
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    result = json.loads(out)
    assert result["errors"] == 0, result["messages"]
    assert result["queries"] > 50
    assert len(result["versions"]) >= 3  # it really read across publications


@pytest.mark.slow
def test_sigkill_at_random_moments_never_harms_the_published_warehouse(env):
    db = env / "wh" / "clinic.duckdb"
    generate_batch(env / "base", clinics=2, months=2, seed=1)
    _load(env / "base", db)
    cli_env = {**os.environ, config.ENV_KEY: KEY, config.ENV_DB: str(db)}

    def start_load(batch: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "pipelines", "load", str(batch), "--format", "json"],
                                env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # How long a whole load takes here, so kill moments spread over every stage of it.
    generate_batch(env / "timing", clinics=3, months=4, seed=99)
    t0 = time.monotonic()
    timing = start_load(env / "timing")
    timing.communicate(timeout=300)
    full = time.monotonic() - t0
    assert timing.returncode == 0

    rng = random.Random(20261127)
    kills = cycle = 0
    # Until 20 loads were really killed (a load that finishes before its moment does not count).
    while kills < 20:
        assert cycle < 60, f"only {kills} loads could be killed in {cycle} tries"
        before = _counts(db)
        batch = env / f"victim{cycle}"
        generate_batch(batch, clinics=3, months=4, seed=1000 + cycle)
        proc = start_load(batch)
        time.sleep(rng.uniform(0.05, full * 0.95))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=120)
        after = _counts(db)  # a successful query, on an intact warehouse
        published = after["version"] == before["version"] + 1
        if published:  # killed after the swap, or it finished first: the whole new state
            assert after["loads"] == before["loads"] + 1 and after["files"] > before["files"]
        else:  # killed before the swap: the old state, untouched
            assert proc.returncode == -signal.SIGKILL and after == before
        report = _load(_tiny_batch(env / f"next{cycle}", cycle), db)  # and the next load works
        assert report.published
        assert not list(Warehouse(db).versions_dir.glob("*.building*"))
        cycle += 1

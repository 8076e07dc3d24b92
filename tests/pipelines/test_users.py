"""`python -m pipelines users`: the roles store (grants, validation, atomic file, fail closed on a
damaged file) and the access log (append-only, hash chain, no free text, filters), through the
library and through the command line (exit codes, one-line errors, JSON)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.errors import ConfigError, UsageError
from pipelines.users.audit import AccessLog, AuditError
from pipelines.users.store import ENV_ACCESS_DIR, RolesStore, access_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "access"
    monkeypatch.setenv(ENV_ACCESS_DIR, str(path))
    monkeypatch.setenv("CLINIC_ANALYTICS_DB", str(tmp_path / "no-warehouse" / "clinic_analytics.duckdb"))
    return path


def _run(*args: str, capsys) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------ store


def test_grant_replace_and_revoke(folder):
    store = RolesStore(folder)
    assert store.grants() == {}
    store.grant(" Ana@Clinic.ORG ", "clinic_manager", ["DEN", "OKC", "DEN"], by="cli:test")
    grant = store.get("ana@clinic.org")
    assert grant.role == "clinic_manager" and grant.clinics == ("DEN", "OKC") and grant.granted_by == "cli:test"
    store.grant("ana@clinic.org", "board")  # a new grant replaces the old one
    assert store.get("ANA@clinic.org").role == "board" and store.get("ana@clinic.org").clinics == ()
    assert store.revoke("ana@clinic.org").role == "board"
    assert store.get("ana@clinic.org") is None and store.revoke("ana@clinic.org") is None


@pytest.mark.parametrize("email, role, clinics, message", [
    ("not an email", "board", [], "not an e-mail"),
    ("a@b", "board", [], "not an e-mail"),
    ("a@b.org\n", "board", [], None),  # trimmed: fine
    ("a@b.org", "god", [], "unknown role"),
    ("a@b.org", "clinic_manager", [], "at least one --clinic"),
    ("a@b.org", "operations", ["DEN"], "clinic_manager only"),
    ("a@b.org", "clinic_manager", ["DEN; drop table x"], "not a clinic id"),
    ("a@b.org", "clinic_manager", ["x" * 65], "not a clinic id"),
    ("x" * 250 + "@b.org", "board", [], "not an e-mail"),
])
def test_bad_grants_are_usage_errors(folder, email, role, clinics, message):
    store = RolesStore(folder)
    if message is None:
        store.grant(email, role, clinics)
        return
    with pytest.raises(UsageError, match=message):
        store.grant(email, role, clinics)
    assert store.grants() == {}


def test_store_file_is_private_and_beside_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_ACCESS_DIR, raising=False)
    monkeypatch.setenv("CLINIC_ANALYTICS_DB", str(tmp_path / "wh" / "clinic_analytics.duckdb"))
    assert access_dir() == tmp_path / "wh" / "access"
    store = RolesStore.default()
    store.grant("a@b.org", "medical_director")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert not list(store.folder.glob(".roles-*"))  # no temporary file left behind


@pytest.mark.parametrize("content", ["{not json", '{"format": 2, "grants": []}', '{"format": 1, "grants": [{"email": "a@b.org", "role": "root"}]}',
                                     '{"format": 1, "grants": [{"email": "a@b.org", "role": "clinic_manager", "clinics": []}]}'])
def test_a_damaged_store_fails_closed(folder, content):
    folder.mkdir()
    (folder / "roles.json").write_text(content)
    with pytest.raises(ConfigError, match="cannot be read"):
        RolesStore(folder).get("a@b.org")


def test_concurrent_grants_lose_nothing(folder):
    store_a, store_b = RolesStore(folder), RolesStore(folder)

    def work(store, prefix):
        for i in range(15):
            store.grant(f"{prefix}{i}@x.org", "board")

    threads = [threading.Thread(target=work, args=(s, p)) for s, p in ((store_a, "a"), (store_b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(RolesStore(folder).grants()) == 30


# -------------------------------------------------------------------------------------- audit log


def test_access_log_appends_chains_and_verifies(folder):
    log = AccessLog(folder)
    june = dt.datetime(2026, 6, 30, 23, 59)
    log.record("sign_in", "ana@clinic.org", "board", at=june, provider="default")
    log.record("export", "ana@clinic.org", "board", at=june + dt.timedelta(minutes=2), what="board pack", format="pdf")
    log.record("no_access", "eve@x.org", at=june + dt.timedelta(minutes=3))
    assert [p.name for p in log.files()] == ["2026-06.jsonl", "2026-07.jsonl"]
    assert stat.S_IMODE(log.files()[0].stat().st_mode) == 0o600
    assert log.verify() == []
    events = log.read()
    assert [e["event"] for e in events] == ["sign_in", "export", "no_access"]
    assert events[1]["details"] == {"format": "pdf", "what": "board pack"}
    assert [e["event"] for e in log.read(since=dt.datetime(2026, 7, 1))] == ["export", "no_access"]
    assert [e["event"] for e in log.read(actor="eve@x.org")] == ["no_access"]
    assert [e["event"] for e in log.read(until=dt.datetime(2026, 7, 1))] == ["sign_in"]

    # edit a line: the chain breaks at the line after it
    path = log.files()[0]
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0].replace("board", "medical_director"))
    problems = log.verify()
    assert len(problems) == 1 and "2026-07.jsonl line 1" in problems[0]


def _drop_last_line(path: Path) -> None:
    """What `sed -i '$d' FILE` does."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


def _three_lines(log: AccessLog) -> None:
    june = dt.datetime(2026, 6, 30, 23, 59)
    log.record("sign_in", "ana@clinic.org", "board", at=june)
    log.record("export", "ana@clinic.org", "board", at=june + dt.timedelta(minutes=2), what="board pack")
    log.record("no_access", "eve@x.org", at=june + dt.timedelta(minutes=3))


def test_removing_the_newest_line_is_found_and_stays_found(folder):
    log = AccessLog(folder)
    _three_lines(log)
    assert log.verify() == []
    assert log.last_written()["file"] == "2026-07.jsonl" and log.last_written()["line"] == 2
    _drop_last_line(log.files()[-1])  # the no_access line: nothing follows it to break the chain
    problems = log.verify()
    assert len(problems) == 1 and "2026-07.jsonl line 2" in problems[0] and "the last line written" in problems[0]
    # the lines logged after it do not cover it up: the chain breaks where they join
    log.record("sign_in", "bob@clinic.org", "board", at=dt.datetime(2026, 7, 1, 8, 0))
    problems = log.verify()
    assert len(problems) == 1 and "2026-07.jsonl line 2: does not follow the line before it" in problems[0]


def test_removing_the_newest_month_is_found(folder):
    log = AccessLog(folder)
    _three_lines(log)
    log.files()[-1].unlink()
    problems = log.verify()
    assert len(problems) == 1 and "the last line written" in problems[0]


def test_the_record_of_the_last_line_is_replaced_atomically_and_private(folder, monkeypatch):
    log = AccessLog(folder)
    log.record("sign_in", "ana@clinic.org", "board")
    assert stat.S_IMODE(log.last_line_path.stat().st_mode) == 0o600
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (replaced.append((Path(src).name, Path(dst).name)),
                                                         real_replace(src, dst)))
    log.record("sign_out", "ana@clinic.org", "board")
    assert replaced == [("last-line.json.tmp", "last-line.json")]
    assert sorted(p.name for p in log.log_dir.iterdir() if not p.name.endswith(".jsonl")) == ["last-line.json"]


def test_a_line_whose_record_was_not_written_is_not_a_problem(folder, monkeypatch):
    """A crash between the append and the record: the line is chained to the recorded one."""
    log = AccessLog(folder)
    _three_lines(log)
    july = dt.datetime(2026, 7, 1, 9, 0)
    with monkeypatch.context() as m:
        m.setattr(AccessLog, "_write_last_line", lambda self, *args: None)
        log.record("sign_out", "eve@x.org", at=july)
        assert log.last_written()["line"] == 2 and log.verify() == []
        log.record("sign_out", "ana@clinic.org", at=july)  # twice in a row
    assert log.last_written()["line"] == 2 and log.verify() == []
    log.record("sign_in", "eve@x.org", at=july)
    assert log.verify() == [] and log.last_written()["line"] == 5


def test_a_missing_or_damaged_record_is_reported_and_logging_goes_on(folder):
    log = AccessLog(folder)
    _three_lines(log)
    log.last_line_path.unlink()  # also how a log written before the record existed looks
    assert len(log.verify()) == 1 and "last-line.json is missing" in log.verify()[0]
    log.record("sign_in", "ana@clinic.org")
    assert log.verify() == []
    log.last_line_path.write_text("{garbage")
    assert len(log.verify()) == 1 and "is damaged" in log.verify()[0]
    log.record("sign_in", "ana@clinic.org")  # never refuses to log (callers would fail closed)
    assert log.verify() == []


def test_concurrent_appends_keep_the_chain_and_its_end(folder):
    logs = [AccessLog(folder) for _ in range(4)]

    def work(log, n):
        for i in range(25):
            log.record("export", f"user{n}@x.org", what=f"chart {i}")

    threads = [threading.Thread(target=work, args=(log, n)) for n, log in enumerate(logs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(logs[0].read()) == 100 and logs[0].verify() == []
    assert logs[0].last_written()["line"] == 100


def test_access_log_refuses_unknown_details_and_cleans_text(folder):
    log = AccessLog(folder)
    with pytest.raises(ValueError, match="not allowed"):
        log.record("export", "a@b.org", patient_ref="EHR-123")
    with pytest.raises(ValueError, match="unknown audit event"):
        log.record("peek", "a@b.org")
    entry = log.record("export", "a@b.org\n{fake}", what="x" * 500 + "\x00", clinics=[f"C{i}" for i in range(80)])
    assert "\n" not in entry["actor"] and len(entry["details"]["what"]) == 200
    assert len(entry["details"]["clinics"]) == 51  # 50 and an ellipsis
    assert all(len(line.splitlines()) == 1 for line in log.files()[0].read_text().splitlines())


def test_access_log_that_cannot_be_written_raises(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    with pytest.raises(AuditError, match="cannot be written"):
        AccessLog(blocked).record("sign_in", "a@b.org")


# ------------------------------------------------------------------------------------------- CLI


def test_cli_grant_list_revoke_audit(folder, capsys):
    code, out, _ = _run("users", "grant", "Ana@Clinic.org", "--role", "clinic_manager", "--clinic", "DEN",
                        "--clinic", "OKC", capsys=capsys)
    assert code == 0 and "ana@clinic.org is clinic_manager for DEN, OKC" in out
    assert "not checked" in out  # no warehouse published at the default path
    assert _run("users", "grant", "md@clinic.org", "--role", "medical_director", capsys=capsys)[0] == 0
    code, out, _ = _run("users", "list", "--format", "json", capsys=capsys)
    listing = json.loads(out)
    assert code == 0 and [g["email"] for g in listing["grants"]] == ["ana@clinic.org", "md@clinic.org"]
    assert listing["grants"][0]["clinics"] == ["DEN", "OKC"]
    code, out, _ = _run("users", "list", capsys=capsys)
    assert "ana@clinic.org" in out and "all clinics" in out
    assert _run("users", "revoke", "ana@clinic.org", capsys=capsys)[0] == 0
    code, out, _ = _run("users", "audit", "--format", "json", capsys=capsys)
    events = json.loads(out)["events"]
    assert [(e["event"], e["details"]["target"]) for e in events] == [
        ("grant", "ana@clinic.org"), ("grant", "md@clinic.org"), ("revoke", "ana@clinic.org")]
    assert all(e["actor"].startswith("cli:") for e in events)
    code, out, _ = _run("users", "audit", "--since", "2999-01-01", capsys=capsys)
    assert code == 0 and out.strip() == "no event"
    code, out, _ = _run("users", "audit", "--verify", capsys=capsys)
    assert code == 0 and "every line is as written" in out
    # the newest line removed (sed -i '$d'): said "every line is as written"
    _drop_last_line(AccessLog(folder).files()[-1])
    code, out, _ = _run("users", "audit", "--verify", capsys=capsys)
    assert code == 1 and "every line is as written" not in out
    assert "the last line written, is not there" in out and "1 problem(s)" in out


@pytest.mark.parametrize("args, message", [
    (["users", "grant", "a@b.org"], "--role"),
    (["users", "grant", "a@b.org", "--role", "owner"], "invalid choice"),
    (["users", "grant", "a@b.org", "--role", "board", "--clinic", "DEN"], "clinic_manager only"),
    (["users", "grant", "a@b.org", "--role", "clinic_manager"], "at least one --clinic"),
    (["users", "grant", "<script>", "--role", "board"], "not an e-mail"),
    (["users", "revoke", "nobody@b.org"], "has no grant"),
    (["users", "audit", "--since", "yesterday"], "not a date"),
    (["users", "audit", "--user", "not-an-email"], "not an e-mail"),
    (["users", "frobnicate"], "invalid choice"),
])
def test_cli_usage_errors_are_one_line_exit_2(folder, capsys, args, message):
    code, out, err = _run(*args, capsys=capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_cli_checks_clinic_ids_against_the_warehouse(folder, capsys, tmp_path, monkeypatch):
    from pipelines.load.loader import load_batch
    from pipelines.load.pseudonymize import Pseudonymizer

    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "clinics.csv").write_bytes((ROOT / "data_samples" / "clinics.csv").read_bytes())
    db = tmp_path / "wh" / "clinic_analytics.duckdb"
    load_batch(batch, db=db, pseudonymizer=Pseudonymizer(b"k" * 32))
    code, _, err = _run("users", "grant", "a@b.org", "--role", "clinic_manager", "--clinic", "XYZ", "--db", str(db),
                        capsys=capsys)
    assert code == 2 and "unknown clinic XYZ" in err and "DEN, NYC, OKC" in err
    code, out, _ = _run("users", "grant", "a@b.org", "--role", "clinic_manager", "--clinic", "NYC", "--db", str(db),
                        capsys=capsys)
    assert code == 0 and "not checked" not in out


def test_cli_as_a_process_with_a_damaged_store(folder):
    folder.mkdir()
    (folder / "roles.json").write_text("{broken")
    env = {**os.environ, ENV_ACCESS_DIR: str(folder)}
    result = subprocess.run([sys.executable, "-m", "pipelines", "users", "list"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "cannot be read" in result.stderr
    assert "Traceback" not in result.stderr

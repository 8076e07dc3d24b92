"""`python -m pipelines plan` end to end on a real warehouse (generated, loaded by the real loader):
exit codes, one JSON object on stdout of the documented shape, the table, scenario flags and files,
one clear line (never a traceback) for bad input, and a light import."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plan_fixtures import generated_warehouse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db() -> Path:
    return generated_warehouse()


def plan(*args: str, db: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_ANALYTICS_")}
    environ["CLINIC_ANALYTICS_PSEUDONYM_KEY"] = "k" * 32
    environ.update(env or {})
    cmd = [sys.executable, "-m", "pipelines", "plan", *args] + (["--db", str(db)] if db else [])
    return subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def one_json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # the whole of stdout: exactly one object


WEEK_KEYS = {
    "week_start", "new_courses", "new_courses_low", "new_courses_high", "sessions", "sessions_low", "sessions_high",
    "sessions_ketamine", "sessions_esketamine", "requested_chair_hours", "available_chair_hours",
    "booked_chair_hours", "occupied_chair_hours", "utilization", "booked_utilization", "utilization_upper",
    "booked_utilization_upper",
    "overflow_chair_hours", "carried_chair_hours", "delayed_induction_sessions", "mean_wait_days", "max_wait_days",
    "around_holidays", "held_to_target",
}
SUMMARY_KEYS = {
    "chairs", "new_patients_per_week", "sessions_per_week", "utilization", "booked_utilization",
    "peak_week_utilization", "peak_week_booked_utilization", "peak_week_utilization_upper",
    "peak_week_booked_utilization_upper", "target_utilization",
    "meets_target", "overflow_chair_hours", "peak_overflow", "carried_chair_hours_at_end", "mean_wait_days",
    "p90_wait_days", "max_wait_days", "waits_censored", "induction_rules_met", "induction_problems",
    "recommended_chairs", "recommended_chairs_upper", "hours_alternative",
    "open_day_alternative", "day_and_hours_alternative", "daily_spread", "busy_day_share", "weeks_around_holidays",
}


def test_json_is_one_object_of_the_documented_shape(db):
    out = one_json(plan("--clinic", "OKC", "--horizon", "13w", "--format", "json", db=db))
    assert set(out) >= {"clinic_id", "scenario", "resolved", "as_of", "start", "horizon_weeks", "forecast_method",
                        "interval", "summary", "weeks", "weekday_hours", "observed", "notes", "history", "chairs_curve"}
    assert out["clinic_id"] == "OKC" and out["horizon_weeks"] == 13
    assert out["as_of"] == "2026-09-01"  # the day after the data's last day
    assert set(out["summary"]) == SUMMARY_KEYS
    assert len(out["weeks"]) == 13
    starts = [dt.date.fromisoformat(w["week_start"]) for w in out["weeks"]]
    assert starts[0] == dt.date.fromisoformat(out["start"]) and starts[0].weekday() == 0
    assert all(b - a == dt.timedelta(weeks=1) for a, b in zip(starts, starts[1:]))
    for week in out["weeks"]:
        assert set(week) == WEEK_KEYS
        assert all(v is None or (isinstance(v, (int, float)) and math.isfinite(v))
                   for k, v in week.items() if k not in ("week_start", "around_holidays", "held_to_target"))
        assert isinstance(week["held_to_target"], bool) and week["held_to_target"] == (not week["around_holidays"])
        assert all(isinstance(name, str) for name in week["around_holidays"])
        assert 0 <= week["utilization"] <= week["booked_utilization"] <= 1
        assert week["new_courses_low"] <= week["new_courses"] <= week["new_courses_high"]
        assert week["sessions_low"] <= week["sessions"] <= week["sessions_high"]
    assert {r["weekday_name"] for r in out["weekday_hours"]} >= {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert out["resolved"]["chairs"] == out["summary"]["chairs"]
    rec = out["summary"]["recommended_chairs"]
    assert rec is None or 1 <= rec <= 60
    assert out["scenario"]["format"] == 1


def test_table_for_people(db):
    result = plan("--clinic", "NYC", "--horizon", "4w", db=db)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("Clinic NYC: 4 weeks from")
    assert "(data up to 2026-08-31," in text.splitlines()[0]  # the data's last day, not the day after it
    # the scenario that changes nothing has the Planning page's name for it (it said 'baseline', the page 'current')
    from dashboard.plan_queries import BASELINE_NAME

    assert text.splitlines()[0].endswith(f"scenario {BASELINE_NAME!r})") and BASELINE_NAME == "current"
    assert "fewest chairs that meet it" in text and "Wait for a first infusion" in text
    assert len([line for line in text.splitlines() if line[:4] == "2026"]) == 4


def test_small_overflow_is_written_with_a_decimal(db):
    """Overflow under 10 chair-hours is read to a tenth: a plan with 0.4 chair-hours moved said 'overflow: 0
    chair-hours, most on ...'. The text gives the JSON's figure to one decimal."""
    import json

    figures = json.loads(plan("--clinic", "NYC", "--horizon", "13w", "--format", "json", db=db).stdout)["summary"]
    text = plan("--clinic", "NYC", "--horizon", "13w", db=db).stdout
    overflow = figures["overflow_chair_hours"]
    (line,) = [line for line in text.splitlines() if line.startswith("Peak-hour overflow:")]
    if 0 < overflow < 9.95:
        assert line.startswith(f"Peak-hour overflow: {overflow:.1f} chair-hours")
    else:
        assert line.startswith(f"Peak-hour overflow: {overflow:,.0f} chair-hours")
    from pipelines.plan.report import amount

    # one rule for the plan text and the Planning page's card
    assert amount(0.4) == "0.4" and amount(2.46) == "2.5" and amount(9.94) == "9.9"
    assert amount(9.96) == "10" and amount(142.3) == "142" and amount(12345) == "12,345"
    assert amount(0) == "0" and amount(None) == "-"


def test_a_clinic_over_the_target_is_told_the_hours_and_day_that_meet_it_with_its_chairs(db):
    """OKC peaks over 80% with 8 chairs on the generated data: the JSON and the table give the shortest longer day
    and one more open day with those chairs beside the fewest chairs; a clinic within the target has neither."""
    out = one_json(plan("--clinic", "OKC", "--format", "json", db=db))
    s = out["summary"]
    assert not s["meets_target"] and s["recommended_chairs"] > out["resolved"]["chairs"] == 8
    hours, day = s["hours_alternative"], s["open_day_alternative"]
    assert hours == {"opens_at": "07:00", "closes_at": "19:30", "extra_minutes_per_day": 30,
                     "peak_week_booked_utilization": hours["peak_week_booked_utilization"]}
    assert hours["peak_week_booked_utilization"] <= 0.8 and day["day"] == "Sat" and day["open_days"][-1] == "Sat"
    text = plan("--clinic", "OKC", db=db).stdout
    assert (f"Or keep 8 chairs and open 07:00-19:30 (+30 min a day; peak week booked "
            f"{hours['peak_week_booked_utilization']:.1%}), or also open on Sat") in text
    within = plan("--clinic", "DEN", db=db).stdout  # 4 chairs meet the target
    assert "Target 80% booked utilization: met" in within and "Or keep" not in within
    assert one_json(plan("--clinic", "DEN", "--format", "json", db=db))["summary"]["hours_alternative"] is None
    one_chair = plan("--clinic", "DEN", "--chairs", "1", db=db).stdout
    assert ("With 1 chair, neither a day up to 3 h longer (opening no earlier than 06:00, closing no later than "
            "22:00) nor one more open day meets the target, "
            "alone or together" in one_chair)


def test_the_text_gives_a_day_and_longer_hours_together_when_neither_alone_meets_the_target():
    from types import SimpleNamespace

    from pipelines.plan.report import alternatives_text

    resolved = SimpleNamespace(chairs=3, open_days=("Tue", "Wed", "Thu", "Fri", "Sat"))
    summary = {"meets_target": False, "hours_alternative": None, "open_day_alternative": None,
               "day_and_hours_alternative": {"day": "Mon", "open_days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
                                             "opens_at": "08:00", "closes_at": "19:30", "extra_minutes_per_day": 90,
                                             "peak_week_booked_utilization": 0.7927}}
    assert alternatives_text(summary, resolved) == (
        "With 3 chairs, neither a day up to 3 h longer (opening no earlier than 06:00, closing no later than 22:00) "
        "nor one more open day meets the target alone; "
        "together they do: also open on Mon and open 08:00-19:30 (+1 h 30 min a day; peak week booked 79.3%)")
    summary["day_and_hours_alternative"] = None
    assert alternatives_text(summary, resolved).endswith("meets the target, alone or together")


def test_scenario_flags_reach_the_plan(db):
    out = one_json(plan("--clinic", "DEN", "--horizon", "6", "--chairs", "7", "--open", "07:30-19:00",
                        "--days", "Mon-Fri,Sat", "--no-show-rate", "0.1", "--chair-minutes", "100",
                        "--target", "0.75", "--new-patients-per-week", "12", "--format", "json", db=db))
    r = out["resolved"]
    assert (r["chairs"], r["opens_at"], r["closes_at"]) == (7, "07:30", "19:00")
    assert r["open_days"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    assert r["no_show_rate"] == 0.1 and set(r["chair_minutes"].values()) == {100.0}
    assert out["summary"]["target_utilization"] == 0.75 and len(out["weeks"]) == 6
    assert all(w["new_courses"] == 12 for w in out["weeks"])
    assert all(w["available_chair_hours"] == 7 * 11.5 * 6 for w in out["weeks"])


def test_closed_holidays_reach_the_plan_and_its_text(db):
    """The generated warehouse's data end on 31 Aug 2026: the weeks from 7 Sep hold Labor Day (Monday)."""
    out = one_json(plan("--clinic", "OKC", "--horizon", "4w", "--closed-on", "labor day", "--format", "json", db=db))
    assert out["resolved"]["closed_on"] == ["Labor Day"] and out["resolved"]["closed_on_observed"] is False
    assert out["scenario"]["closed_on"] == ["Labor Day"]
    hours = [w["available_chair_hours"] for w in out["weeks"]]
    assert out["weeks"][0]["week_start"] == "2026-09-07" and hours[0] < hours[1] == hours[2]
    text = plan("--clinic", "OKC", "--horizon", "4w", "--closed-on", "Labor Day", db=db)
    assert text.returncode == 0 and "Closed on Labor Day (Mon 7 Sep 2026)" in text.stdout
    none = one_json(plan("--clinic", "OKC", "--horizon", "4w", "--closed-on", "none", "--format", "json", db=db))
    assert none["resolved"]["closed_on"] == [] and none["weeks"][0]["available_chair_hours"] == hours[1]


def test_a_demand_multiplier_scales_the_forecast(db):
    base = one_json(plan("--clinic", "OKC", "--horizon", "3w", "--format", "json", db=db))
    more = one_json(plan("--clinic", "OKC", "--horizon", "3w", "--demand-multiplier", "1.5", "--format", "json", db=db))
    for b, m in zip(base["weeks"], more["weeks"]):
        assert m["new_courses"] == pytest.approx(1.5 * b["new_courses"])
        assert m["sessions"] >= b["sessions"] and m["booked_utilization"] >= b["booked_utilization"]


def test_a_saved_scenario_plans_the_same_again(db, tmp_path):
    env = {"CLINIC_ANALYTICS_SCENARIOS": str(tmp_path / "scenarios")}
    first = plan("--clinic", "OKC", "--horizon", "5w", "--chairs", "9", "--as-of", "2026-06-01",
                 "--save-scenario", "Nine chairs", "--format", "json", db=db, env=env)
    saved = tmp_path / "scenarios" / "nine-chairs.json"
    assert saved.exists() and "saved scenario" in first.stderr
    again = plan("--scenario-file", "Nine chairs", "--format", "json", db=db, env=env)
    assert one_json(again)["summary"] == one_json(first)["summary"]
    assert one_json(again)["as_of"] == "2026-06-01"
    # flags override the file
    other = one_json(plan("--scenario-file", str(saved), "--chairs", "10", "--format", "json", db=db, env=env))
    assert other["resolved"]["chairs"] == 10 and other["scenario"]["name"] == "Nine chairs"


@pytest.mark.parametrize("args, message", [
    (["--clinic", "NOPE"], "unknown clinic 'NOPE'"),
    (["--clinic", "OKC", "--open", "18:00-08:00"], "open before it closes"),
    (["--clinic", "OKC", "--open", "8am to 6pm"], "08:00-18:00"),
    (["--clinic", "OKC", "--days", "Mon,Funday"], "unknown weekday"),
    (["--clinic", "OKC", "--days", "Mon,Tue", "--chairs", "0"], "--chairs"),
    (["--clinic", "OKC", "--horizon", "0w"], "horizon"),
    (["--clinic", "OKC", "--horizon", "a quarter"], "horizon"),
    (["--clinic", "OKC", "--new-patients-per-week", "5", "--demand-multiplier", "2"], "not allowed with"),
    (["--clinic", "OKC", "--no-show-rate", "1.5"], "--no-show-rate"),
    (["--clinic", "OKC", "--target", "0"], "--target"),
    (["--clinic", "OKC", "--chair-minutes", "iv_ketamine=ninety"], "chair minutes"),
    (["--clinic", "OKC", "--chair-minutes", "laser=90"], "unknown modality"),
    (["--clinic", "OKC", "--closed-on", "Boxing Day"], "unknown public holiday 'Boxing Day'"),
    (["--clinic", "OKC", "--closed-on", ""], "give the holidays the clinic closes on"),
    (["--clinic", "OKC", "--as-of", "2026-02-30"], "--as-of"),
    # planned 0 patients and 1 chair "with data up to 2099-01-01"; the data ends 2026-08-31
    (["--clinic", "OKC", "--as-of", "2099-01-01"],
     "cannot plan as of 2099-01-01: the data's last day is 2026-08-31, so plan as of 2026-09-01"),
    (["--clinic", "OKC", "--as-of", "2026-09-02"], "the data's last day is 2026-08-31"),
    (["--clinic", "OKC", "--format", "csv"], "invalid choice"),
    ([], "give --clinic"),
    (["--clinic", "OKC", "--scenario-file", "no-such-scenario"], "no scenario file"),
    (["--clinic", "OKC", "--save-scenario", ""], "--save-scenario '': give the scenario a name"),  # saved nothing
    (["--clinic", "OKC", "--save-scenario", "  "], "give the scenario a name"),
])
def test_bad_input_is_one_line_and_exit_2(db, args, message, tmp_path):
    result = plan(*args, db=db, env={"CLINIC_ANALYTICS_SCENARIOS": str(tmp_path)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_broken_scenario_file_is_one_line_and_exit_2(db, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "chairs": 4,')
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"name": "x", "clinic_id": "OKC", "chiars": 4}))
    for path, message in ((broken, "not valid JSON"), (unknown, "unknown scenario field: chiars")):
        result = plan("--scenario-file", str(path), db=db)
        assert result.returncode == 2 and message in result.stderr and result.stdout == ""


def test_open_days_as_text_in_a_scenario_file(db, tmp_path):
    path = tmp_path / "mondays.json"
    path.write_text(json.dumps({"name": "Mondays", "clinic_id": "OKC", "open_days": "Mon"}))
    out = one_json(plan("--scenario-file", str(path), "--horizon", "2w", "--format", "json", db=db))
    assert out["resolved"]["open_days"] == ["Mon"]


def test_a_scenario_file_that_is_not_utf8_is_one_line_and_exit_2(db, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "Café", "clinic_id": "OKC"}'.encode("latin-1"))
    result = plan("--scenario-file", str(path), db=db)
    assert result.returncode == 2 and result.stdout == ""
    assert "is not a scenario file: byte 14 is not UTF-8 text" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "internal error" not in result.stderr


def test_a_scenarios_folder_that_is_a_file_is_one_line_and_exit_2(db, tmp_path):
    not_a_folder = tmp_path / "scenarios"
    not_a_folder.write_text("")
    result = plan("--clinic", "OKC", "--save-scenario", "Nine chairs", "--chairs", "9", db=db,
                  env={"CLINIC_ANALYTICS_SCENARIOS": str(not_a_folder)})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (f"error: CLINIC_ANALYTICS_SCENARIOS={not_a_folder} is not a folder: point "
                                     "CLINIC_ANALYTICS_SCENARIOS at a folder for saved scenarios")
    assert not_a_folder.read_text() == ""


def test_a_missing_warehouse_is_exit_2(tmp_path):
    result = plan("--clinic", "OKC", db=tmp_path / "nothing" / "here.duckdb")
    assert result.returncode == 2 and "no warehouse" in result.stderr and "Traceback" not in result.stderr


def test_building_the_command_line_stays_light():
    code = ("import sys, pipelines.cli; pipelines.cli.parser(); "
            "heavy = [m for m in ('statsmodels', 'great_expectations', 'pandas', 'duckdb', 'numpy', 'plotly') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr

"""Benchmark the metrics layer at the 10-million-vitals scale.

    .venv/bin/python benchmarks/metrics.py [--clinics 40] [--months 36] [--out benchmarks/out/metrics]
                                           [--reuse] [--runs 5]

1. generates a batch with `python -m pipelines generate` (kept in OUT/batch; --reuse skips this when it
   is there), 2. loads it into a new warehouse with the real loader (wall time; the loader's own model
   step is reported too), 3. rebuilds every model and macro (models.build_all) on a copy of the
   published version, with the loader's connection settings, 4. runs `python -m pipelines metrics` as a
   subprocess several times (wall time, cold interpreter each time) and 5. times each dashboard macro.

Targets: model rebuild <= 30% of the load time; the metrics command <= 1 s. Prints the figures and writes
them to OUT/metrics.json. Never used by the tests (no timing asserts there).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MACRO_QUERIES = {
    "outcome_rates": "FROM metrics.outcome_rates()",
    "outcome_rates by clinic": "FROM metrics.outcome_rates(breakdown := 'clinic')",
    "course_counts by month": "FROM metrics.course_counts(breakdown := 'month')",
    "score_trajectory": "FROM metrics.score_trajectory()",
    "early_signal": "FROM metrics.early_signal()",
    "item9_flags": "FROM metrics.item9_flags()",
    "induction_funnel": "FROM metrics.induction_funnel()",
    "side_effect_rates": "FROM metrics.side_effect_rates()",
    "side_effect_rates by severity": "FROM metrics.side_effect_rates(breakdown := 'severity')",
    "side_effect_rates by dose band": "FROM metrics.side_effect_rates(breakdown := 'dose_band')",
    "side_effect_interventions": "FROM metrics.side_effect_interventions()",
    "bp_elevation": "FROM metrics.bp_elevation()",
    "peak_rise_histogram": "FROM metrics.peak_rise_histogram()",
    "vitals_by_minute (all)": "FROM metrics.vitals_by_minute()",
    "vitals_by_minute (all, one vital: the chart's call)": "FROM metrics.vitals_by_minute(vital := 'systolic')",
    "vitals_by_minute (1 clinic, 1 quarter)": None,  # filled in with a real clinic below
    "rems_completeness": "FROM metrics.rems_completeness()",
    "booster_intervals": "FROM metrics.booster_intervals()",
    "booster_km": "FROM metrics.booster_km()",
    "boosters_per_patient_year": "FROM metrics.boosters_per_patient_year()",
    "utilization": "FROM metrics.utilization()",
    "utilization_by_week": "FROM metrics.utilization_by_week()",
    "utilization_by_weekday_hour": "FROM metrics.utilization_by_weekday_hour()",
    "clinic_comparison response": "FROM metrics.clinic_comparison('response')",
    "funnel_limits": "FROM metrics.funnel_limits(0.55, 20000)",
}


def say(text: str) -> None:
    print(text, flush=True)


def cpu_seconds() -> float:
    """CPU time of this process (user + system): steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def generate(out: Path, clinics: int, months: int, reuse: bool) -> Path:
    batch = out / "batch"
    if reuse and batch.exists() and any(batch.iterdir()):
        say(f"reusing the batch in {batch}")
        return batch
    shutil.rmtree(batch, ignore_errors=True)
    # end the data before today: the loader refuses timestamps more than a day in the future
    today = dt.date.today()
    first = today.year * 12 + today.month - 1 - (months + 1)
    start = dt.date(first // 12, first % 12 + 1, 1)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines", "generate", "--out", str(batch), "--clinics", str(clinics),
                    "--months", str(months), "--start", start.isoformat(), "--seed", "7"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    say(f"generated {batch} in {time.perf_counter() - started:.1f} s")
    return batch


def count_vitals(db: Path) -> int:
    from pipelines.warehouse import connect_read_only

    con, _ = connect_read_only(db)
    try:
        return con.execute("SELECT count(*) FROM raw.vitals").fetchone()[0]
    finally:
        con.close()


def load(batch: Path, out: Path) -> tuple[Path, float, float, float]:
    from pipelines.load.loader import load_batch

    wh_dir = out / "warehouse"
    shutil.rmtree(wh_dir, ignore_errors=True)
    db = wh_dir / "clinic_analytics.duckdb"
    cpu0, started = cpu_seconds(), time.perf_counter()
    report = load_batch(batch, db=db)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    if not report.published:
        raise SystemExit(f"the load did not publish: {report.to_text()}")
    return db, seconds, cpu, report.model_seconds


def rebuild(db: Path, out: Path) -> tuple[float, float, dict[str, float]]:
    import duckdb

    from pipelines import config
    from pipelines.warehouse import models
    from pipelines.warehouse.publish import resolve_version

    copy = out / "rebuild_copy.duckdb"
    copy.unlink(missing_ok=True)
    shutil.copyfile(resolve_version(db), copy)
    os.chmod(copy, 0o600)
    con = duckdb.connect(str(copy))
    con.execute("SET TimeZone = 'UTC'")  # as the loader's build connection
    con.execute(f"SET memory_limit = '{config.load_memory_limit()}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    cpu0, started = cpu_seconds(), time.perf_counter()
    timings = models.build_all(con)
    con.execute("CHECKPOINT")
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    con.close()
    copy.unlink(missing_ok=True)
    return seconds, cpu, timings


def command_times(db: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pipelines", "metrics", "--db", str(db), "--format", "json"],
                              cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"metrics failed: {done.stderr}")
        json.loads(done.stdout)
    return times


def macro_times(db: Path) -> dict[str, float]:
    from pipelines.warehouse import connect_read_only

    con, _ = connect_read_only(db)
    try:
        clinic, start = con.execute(
            "SELECT clinic_id, min(session_date) FROM marts.sessions GROUP BY 1 ORDER BY 1 LIMIT 1").fetchone()
        queries = dict(MACRO_QUERIES)
        queries["vitals_by_minute (1 clinic, 1 quarter)"] = (
            f"FROM metrics.vitals_by_minute(clinics := ['{clinic}'], start_date := DATE '{start}', "
            f"end_date := DATE '{start}' + 90)")
        result = {}
        for name, sql in queries.items():
            con.execute(sql).fetchall()  # warm
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                runs.append(time.perf_counter() - started)
            result[name] = statistics.median(runs)
        return result
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=40)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "metrics")
    parser.add_argument("--reuse", action="store_true", help="reuse OUT/batch if it exists")
    parser.add_argument("--runs", type=int, default=5, help="metrics command runs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    batch = generate(args.out, args.clinics, args.months, args.reuse)
    say("loading (this is the reference time) ...")
    load_avg = os.getloadavg()[0]
    db, load_seconds, load_cpu, load_model_seconds = load(batch, args.out)
    vitals = count_vitals(db)
    say(f"loaded {vitals:,} vitals rows in {load_seconds:.1f} s wall, {load_cpu:.1f} s CPU "
        f"(the loader's own model step: {load_model_seconds:.1f} s; load average before: {load_avg:.1f})")

    load_avg = os.getloadavg()[0]
    rebuild_seconds, rebuild_cpu, timings = rebuild(db, args.out)
    share, cpu_share = rebuild_seconds / load_seconds, rebuild_cpu / load_cpu
    say(f"model rebuild on a copy: {rebuild_seconds:.1f} s wall = {share:.0%} of the load; {rebuild_cpu:.1f} s CPU = "
        f"{cpu_share:.0%} of the load's CPU (target <= 30%; load average before: {load_avg:.1f})")
    for name, seconds in sorted(timings.items(), key=lambda kv: -kv[1])[:12]:
        say(f"    {name:42s} {seconds:7.2f} s")

    runs = command_times(db, args.runs)
    say(f"metrics command: median {statistics.median(runs):.3f} s, max {max(runs):.3f} s over {len(runs)} runs "
        "(target <= 1 s)")

    macros = macro_times(db)
    say("dashboard macros (median of 3 warm runs):")
    for name, seconds in macros.items():
        say(f"    {name:42s} {seconds * 1000:8.1f} ms")

    figures = {
        "vitals_rows": vitals, "load_seconds": load_seconds, "load_cpu_seconds": load_cpu,
        "load_model_seconds": load_model_seconds, "rebuild_seconds": rebuild_seconds, "rebuild_cpu_seconds": rebuild_cpu,
        "rebuild_share_of_load": share, "rebuild_cpu_share_of_load": cpu_share, "rebuild_models": timings,
        "metrics_command_seconds": runs, "macro_seconds": macros,
    }
    (args.out / "metrics.json").write_text(json.dumps(figures, indent=2))
    say(f"figures written to {args.out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

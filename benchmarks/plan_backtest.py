"""Back-test the capacity plan: forecast each held-out past quarter from the data before it.

    .venv/bin/python benchmarks/plan_backtest.py [--out benchmarks/out/plan_backtest] [--clinics 50]
        [--months 36] [--start 2023-10-01] [--seed 0] [--reuse] [--min-history-weeks 26] [--horizon 13]
        [--skip-generated] [--skip-sample]

Two data sets, each scored in the same run against the naive forecasts:

1. generated: `python -m pipelines generate --clinics 50 --months 36 --start 2023-10-01` (kept in
   OUT/batch_<clinics>x<months>; --reuse skips generating and loading when they are there). Only the
   clinics, patients and sessions files are loaded (OUT/sessions_only_...: links to them): the plan reads
   nothing else, and the vitals would triple the load time;
2. the bundled sample, data_samples/ (3 clinics, 18 months).

Each warehouse is copied to OUT/work_<name>.duckdb and its models and macros rebuilt from the current
sql/ (so a reused warehouse still runs today's SQL). Origins: every 13 weeks back from the last complete
quarter, with at least --min-history-weeks of data before each (pipelines.plan.backtest). Prints the
scores and writes OUT/plan_backtest.json and OUT/plan_backtest.md (the tables in docs/planning.md).
Never used by the tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEEP = ("clinics", "patients", "sessions")


def say(text: str) -> None:
    print(text, flush=True)


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("CLINIC_ANALYTICS_PSEUDONYM_KEY", "plan-backtest-" + "k" * 32)
    return env


def generated_warehouse(out: Path, clinics: int, months: int, start: str, seed: int, reuse: bool) -> Path:
    name = f"{clinics}x{months}"
    batch = out / f"batch_{name}"
    db = out / f"warehouse_{name}" / "clinic_analytics.duckdb"
    if reuse and db.is_symlink():
        say(f"reusing the warehouse {db}")
        return db
    if not (reuse and batch.exists() and any(batch.iterdir())):
        shutil.rmtree(batch, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines", "generate", "--out", str(batch), "--clinics", str(clinics),
                        "--months", str(months), "--start", start, "--seed", str(seed)], check=True, cwd=ROOT, env=_env())
        say(f"generated {batch} in {time.perf_counter() - started:.0f} s")
    links = out / f"sessions_only_{name}"
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir(parents=True)
    for path in batch.iterdir():
        if path.name.startswith(KEEP):
            (links / path.name).symlink_to(os.path.relpath(path, links))
    return load(links, db)


def sample_warehouse(out: Path, reuse: bool) -> Path:
    db = out / "warehouse_sample" / "clinic_analytics.duckdb"
    if reuse and db.is_symlink():
        say(f"reusing the warehouse {db}")
        return db
    return load(ROOT / "data_samples", db)


def load(batch: Path, db: Path) -> Path:
    shutil.rmtree(db.parent, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines", "load", str(batch), "--db", str(db)], check=True, cwd=ROOT,
                   env=_env(), stdout=subprocess.DEVNULL)
    say(f"loaded {batch} in {time.perf_counter() - started:.0f} s")
    return db


def working_copy(db: Path, out: Path, name: str) -> Path:
    """A private copy with today's models and macros (a reused warehouse may predate them)."""
    import duckdb

    from pipelines.warehouse import models
    from pipelines.warehouse.publish import resolve_version

    copy = out / f"work_{name}.duckdb"
    copy.unlink(missing_ok=True)
    shutil.copyfile(resolve_version(db), copy)
    os.chmod(copy, 0o600)
    con = duckdb.connect(str(copy))
    try:
        models.build_all(con)
    finally:
        con.close()
    return copy


def backtest(copy: Path, name: str, horizon: int, min_history: int) -> dict:
    import duckdb

    from pipelines.plan.backtest import quarterly_origins, run_backtest

    con = duckdb.connect(str(copy), read_only=True)
    try:
        origins = quarterly_origins(con, horizon_weeks=horizon, min_history_weeks=min_history)
        clinics = con.execute("SELECT count(DISTINCT clinic_id) FROM marts.clinic_capacity").fetchone()[0]
        say(f"{name}: {clinics} clinics, {len(origins)} held-out quarters from {origins[0]} to {origins[-1]}")
        result = run_backtest(con, origins, horizon_weeks=horizon,
                              progress=lambda o, r: say(f"  {o}: {r.clinic_weeks()} clinic-weeks so far"))
    finally:
        con.close()
    by_week = {}
    for label, weeks in (("weeks 1-4", range(0, 4)), ("weeks 5-8", range(4, 8)), ("weeks 9-13", range(8, 13))):
        rows = [r for r in result.rows if (r.week_start - r.origin).days // 7 in weeks]
        by_week[label] = result.scores(rows)
    return {
        "data": name,
        "clinics": clinics,
        "origins": [o.isoformat() for o in origins],
        "clinic_weeks": result.clinic_weeks(),
        "seconds": round(result.seconds, 1),
        "overall": result.scores(),
        "by_origin": {o.isoformat(): s for o, s in result.scores_by_origin().items()},
        "by_horizon": by_week,
    }


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def markdown(results: list[dict]) -> str:
    lines = []
    for r in results:
        o = r["overall"]
        lines += [
            f"**{r['data']}**: {r['clinics']} clinics, {len(r['origins'])} held-out quarters "
            f"({r['origins'][0]} to {r['origins'][-1]}), {r['clinic_weeks']:,} clinic-weeks, {r['seconds']:.0f} s.",
            "",
            "| forecast | MAPE | WAPE | bias |",
            "|---|---|---|---|",
        ]
        names = {"plan": "the plan", "naive_last_quarter_mean": "naive: last quarter's mean",
                 "naive_last_quarter_copy": "naive: last quarter copied week by week"}
        for method, label in names.items():
            lines.append(f"| {label} | {_pct(o[method]['mape'])} | {_pct(o[method]['wape'])} | {_pct(o[method]['bias'])} |")
        lines += ["", f"The plan's 80% interval held the actual week in {_pct(o['plan']['interval_coverage'])} of "
                      f"clinic-weeks for sessions, in {_pct(o['plan']['new_courses_interval_coverage'])} for new "
                      "courses.", "", "| quarter from | plan WAPE | naive mean WAPE | naive copy WAPE |",
                  "|---|---|---|---|"]
        for origin, s in r["by_origin"].items():
            lines.append(f"| {origin} | {_pct(s['plan']['wape'])} | {_pct(s['naive_last_quarter_mean']['wape'])} | "
                         f"{_pct(s['naive_last_quarter_copy']['wape'])} |")
        lines += ["", "| horizon | plan WAPE | naive mean WAPE |", "|---|---|---|"]
        for label, s in r["by_horizon"].items():
            lines.append(f"| {label} | {_pct(s['plan']['wape'])} | {_pct(s['naive_last_quarter_mean']['wape'])} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "plan_backtest")
    parser.add_argument("--clinics", type=int, default=50)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--start", default="2023-10-01")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="reuse the batch and warehouses in --out")
    parser.add_argument("--min-history-weeks", type=int, default=26)
    parser.add_argument("--horizon", type=int, default=13)
    parser.add_argument("--skip-generated", action="store_true")
    parser.add_argument("--skip-sample", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    results = []
    if not args.skip_generated:
        db = generated_warehouse(args.out, args.clinics, args.months, args.start, args.seed, args.reuse)
        name = f"generated {args.clinics} clinics x {args.months} months (from {args.start}, seed {args.seed})"
        results.append(backtest(working_copy(db, args.out, "generated"), name, args.horizon, args.min_history_weeks))
    if not args.skip_sample:
        db = sample_warehouse(args.out, args.reuse)
        results.append(backtest(working_copy(db, args.out, "sample"), "data_samples (3 clinics x 18 months)",
                                args.horizon, args.min_history_weeks))

    report = {"run_at": dt.datetime.now().isoformat(timespec="seconds"), "horizon_weeks": args.horizon,
              "min_history_weeks": args.min_history_weeks, "results": results}
    (args.out / "plan_backtest.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(results)
    (args.out / "plan_backtest.md").write_text(text)
    say("")
    say(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

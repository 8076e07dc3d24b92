"""The realism figures of docs/sample-data.md, measured on a loaded warehouse with the product's own marts.

    .venv/bin/python benchmarks/sample_figures.py [--db PATH] [--clinics 40] [--months 36] [--seed 0] [--keep DIR]

Without --db it generates a batch (`python -m pipelines generate --clinics N --months M --seed S`, the
period ending with the last whole month), loads it into a new warehouse, and measures that; with --db
it measures a warehouse already loaded. A figure the product defines (response and remission, side-effect
rates, BP elevation, utilization by day) is read from its macro; the others are computed over the marts the
dashboard reads (metrics.md's courses, phases and treated sessions), so the table in
docs/sample-data.md says what a user of the app would see on the generated data, not what the generator
meant to draw. Prints the table (figure, measured, target) in Markdown, then a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent

# (figure, target, SQL returning one row of numbers, how to print them)
FIGURES: list[tuple[str, str, str, str]] = [
    ("PHQ-9 response / remission (evaluable courses)", "~55% / ~30%",
     "select response_rate, remission_rate, evaluable from metrics.outcome_rates() where instrument = 'PHQ9'",
     "{0:.1%} / {1:.1%} (n = {2:,.0f})"),
    ("the same with lamotrigine, benzodiazepine or opioid / without", "lower with them",
     """select avg(o.is_responder::int) filter (where m), avg(o.is_remitter::int) filter (where m),
               avg(o.is_responder::int) filter (where not m), avg(o.is_remitter::int) filter (where not m)
        from marts.course_outcomes o
        join (select course_id, coalesce(on_lamotrigine or on_benzodiazepine or on_opioid, false) as m
              from marts.courses) c using (course_id)
        where o.instrument = 'PHQ9' and o.evaluable""",
     "{0:.1%} / {1:.1%} vs {2:.1%} / {3:.1%}"),
    ("GAD-7 response / remission", "",
     "select response_rate, remission_rate from metrics.outcome_rates() where instrument = 'GAD7'",
     "{0:.1%} / {1:.1%}"),
    ("ketamine courses not reaching infusion 6 / stopping after the first (courses starting >= 60 days "
     "before the end)", "~50% / ~20%",
     """select avg((induction_sessions < 6)::int), avg((sessions = 1)::int)
        from marts.courses
        where modality_family = 'ketamine' and course_start_date <= data_end_date - 60""",
     "{0:.1%} / {1:.1%}"),
    ("median days from infusion 1 to 6 (ketamine completers)", "about 3 weeks",
     """select median(induction_end_date - course_start_date), quantile_disc(induction_end_date - course_start_date, 0.9)
        from marts.courses where modality_family = 'ketamine' and completed_induction""",
     "{0:.0f} (90th percentile {1:.0f})"),
    ("booster interval median (IQR), range", "4-6 weeks, 28-168",
     """select median(booster_interval_days), quantile_disc(booster_interval_days, 0.25),
               quantile_disc(booster_interval_days, 0.75), min(booster_interval_days), max(booster_interval_days)
        from marts.sessions where booster_interval_days is not null""",
     "{0:.0f} days ({1:.0f}-{2:.0f}), range {3:.0f}-{4:.0f}"),
    ("no-show / cancelled / stopped early (booked visits)", "~5% / some / a few",
     """select avg((status = 'no_show')::int), avg((status = 'cancelled')::int), avg((status = 'stopped_early')::int)
        from marts.sessions""",
     "{0:.2%} / {1:.2%} / {2:.2%}"),
    ("treated sessions IV / esketamine / IM", "mostly IV, esketamine 15-20%",
     """select avg((modality = 'iv_ketamine')::int), avg((modality_family = 'esketamine')::int),
               avg((modality = 'im_ketamine')::int)
        from marts.sessions where is_treated""",
     "{0:.1%} / {1:.1%} / {2:.1%}"),
    ("sessions with a reading >= 180/110", "~1%",
     "select rate from metrics.bp_elevation()",
     "{0:.2%}"),
    ("mean systolic / diastolic change from the first reading, 35-40 min after IV start", "+16 / +11 mmHg",
     """with iv as (
            select s.session_id, t.treatment_start_utc
            from marts.sessions s join staging.stg_sessions t using (session_id)
            where s.modality = 'iv_ketamine' and s.status = 'completed'
        ),
        readings as (
            select v.session_id, v.systolic_bp, v.diastolic_bp,
                   (epoch(v.measured_at_utc) - epoch(iv.treatment_start_utc)) / 60.0 as minute,
                   first(v.systolic_bp order by v.measured_at_utc) over (partition by v.session_id) as first_sys,
                   first(v.diastolic_bp order by v.measured_at_utc) over (partition by v.session_id) as first_dia
            from staging.stg_vitals v join iv using (session_id)
        )
        select avg(systolic_bp - first_sys), avg(diastolic_bp - first_dia)
        from readings where minute >= 35 and minute < 41""",
     "+{0:.1f} / +{1:.1f} mmHg"),
    ("dizziness, dissociation, nausea, headache, anxiety, hypertension", "45, 35, 13, 10-15, 10, 3-5%",
     """select """ + ", ".join(f"max(rate) filter (where effect = '{e}')" for e in
                              ("dizziness", "dissociation", "nausea", "headache", "anxiety", "hypertension"))
     + " from metrics.side_effect_rates()",
     "{0:.1%}, {1:.1%}, {2:.1%}, {3:.1%}, {4:.1%}, {5:.1%}"),
    ("chair utilization (check-in to discharge over open chair-hours): overall; mean of the clinics' "
     "months in the first and last 12 months; highest clinic-month", "65-80%",
     """with months as (
            select clinic_id, date_trunc('month', day) as month,
                   sum(occupied_minutes) / nullif(sum(available_minutes), 0) as u
            from metrics.utilization_by_day() group by all
        ),
        bounds as (select min(month) as first, max(month) as last from months)
        select (select sum(occupied_minutes) / sum(available_minutes) from metrics.utilization_by_day()),
               avg(u) filter (where month < first + interval 12 month),
               avg(u) filter (where month > last - interval 12 month),
               max(u)
        from months, bounds""",
     "{0:.0%} overall; {1:.0%} in the first year, {2:.0%} in the last; highest clinic-month {3:.0%}"),
]


def measure(db: Path) -> list[tuple[str, str, str, list]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = []
        for figure, target, sql, shape in FIGURES:
            values = list(con.execute(sql).fetchone())
            # a small warehouse may have nothing to measure for a figure (no GAD-7, no boosters yet)
            text = "none in this warehouse" if None in values else shape.format(*[float(v) for v in values])
            rows.append((figure, text, target, values))
        return rows
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a loaded warehouse (its pointer or a version file)")
    parser.add_argument("--clinics", type=int, default=40)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="generate and load in this folder, and keep both")
    args = parser.parse_args()
    db = args.db
    if db is None:
        work = args.keep or Path(tempfile.mkdtemp(prefix="sample-figures-"))
        batch, db = work / "batch", work / "warehouse" / "clinic.duckdb"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if not batch.exists():
            subprocess.run([sys.executable, "-m", "pipelines", "generate", "--out", str(batch), "--clinics",
                            str(args.clinics), "--months", str(args.months), "--seed", str(args.seed)],
                           check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        if not db.exists():
            db.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "pipelines", "load", str(batch), "--db", str(db)],
                           check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = measure(Path(os.path.realpath(db)))
    print("| figure | measured | target |\n|---|---|---|")  # the table of docs/sample-data.md
    for figure, text, target, _ in rows:
        print(f"| {figure} | {text} | {target} |")
    print(json.dumps({figure: values for figure, _, _, values in rows}, default=float))


if __name__ == "__main__":
    main()

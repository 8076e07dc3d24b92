"""Load benchmark: the full loader against DuckDB's own read_csv on the same files.

    python benchmarks/load.py [--clinics 40] [--months 36] [--format csv|csv.gz] [--keep DIR] [--repeat N]

1. Generates a batch (in a child process) ending at the start of this month, so no timestamp is in
   the future: 40 clinics x 36 months is about 13 million vitals rows.
2. Baseline (child process): `CREATE TABLE <kind> AS SELECT * FROM read_csv(<files>)` for every
   kind into a new DuckDB file, then CHECKPOINT.
3. The loader (child process): `load_batch()` into a new warehouse, from the first file read to the
   published version (rules, quarantine, audit, marts rebuild, atomic publish); the interpreter's
   start-up and imports are timed separately.
Peak RSS of each child comes from wait4(), i.e. the kernel's own maximum for that process.
With --repeat N, steps 2 and 3 run N times in turn: the machine's speed drifts (DuckDB's own read of
the same files took 7 to 19 s on the same day), so one pair can mislead; the table is the run with
the median ratio, every ratio is listed, and peak RSS is the highest of all runs.
Prints one table and a JSON line with every figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_BASELINE = r"""
import duckdb, json, sys, time
from pathlib import Path
batch, db = Path(sys.argv[1]), sys.argv[2]
kinds = ["clinics", "patients", "sessions", "vitals", "assessments", "side_effects"]
con = duckdb.connect(db)
t0 = time.perf_counter()
for kind in kinds:
    files = sorted(str(p) for p in batch.iterdir() if p.name.startswith(kind))
    con.execute(f"CREATE TABLE {kind} AS SELECT * FROM read_csv(?)", [files])
con.execute("CHECKPOINT")
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

_LOADER = r"""
import json, os, sys, time
t_import = time.perf_counter()
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer
imported = time.perf_counter() - t_import
batch, db = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
report = load_batch(batch, db=db, pseudonymizer=Pseudonymizer(b"benchmark-key-" * 4))
seconds = time.perf_counter() - t0
files = [f.to_json() for f in report.files]
print(json.dumps({"seconds": seconds, "import_seconds": imported, "model_seconds": report.model_seconds,
                  "files": files, "rows_read": sum(f["rows_read"] for f in files),
                  "rejected": [f["file"] for f in files if f["status"] == "rejected"]}))
"""


def _run(args: list[str], env: dict | None = None) -> tuple[dict, float, int]:
    """Run a child; return (its JSON output, wall seconds, peak RSS in bytes)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT)
        out = proc.stdout.read()
        # Reap with wait4 for the kernel's peak RSS of this very child.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(args[:3])} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1]), wall, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=40)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--format", choices=["csv", "csv.gz"], default="csv")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the batch and warehouses in this folder")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time DuckDB and the loader this many times, one after the other, and report the "
                             "pair with the median ratio (the machine's speed drifts between runs)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    work = args.keep or Path(tempfile.mkdtemp(prefix="load-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    batch = work / "batch"
    today = dt.date.today()
    end = dt.date(today.year, today.month, 1)
    start_month = end.year * 12 + end.month - 1 - args.months
    start = dt.date(start_month // 12, start_month % 12 + 1, 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        if not batch.exists():
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pipelines", "generate", "--out", str(batch),
                            "--clinics", str(args.clinics), "--months", str(args.months),
                            "--start", start.isoformat(), "--seed", str(args.seed), "--format", args.format],
                           check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
            print(f"generated {batch} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        size = sum(p.stat().st_size for p in batch.iterdir())
        pairs = []
        for attempt in range(1, args.repeat + 1):
            for leftover in (work / "baseline.duckdb", work / "wh"):
                shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
            base_run = _run([sys.executable, "-c", _BASELINE, str(batch), str(work / "baseline.duckdb")], env)
            load_run = _run([sys.executable, "-c", _LOADER, str(batch), str(work / "wh" / "clinic.duckdb")], env)
            pairs.append((load_run[0]["seconds"] / base_run[0]["seconds"], base_run, load_run))
            if args.repeat > 1:
                print(f"run {attempt}: DuckDB {base_run[0]['seconds']:.1f} s, loader {load_run[0]['seconds']:.1f} s, "
                      f"ratio {pairs[-1][0]:.2f}", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    ratios = sorted(p[0] for p in pairs)
    _, (base, base_wall, base_rss), (load, load_wall, load_rss) = sorted(pairs, key=lambda p: p[0])[(len(pairs) - 1) // 2]
    # memory: the highest of every run, not the median's
    base_rss, load_rss = max(p[1][2] for p in pairs), max(p[2][2] for p in pairs)

    rows = load["rows_read"]
    vitals = sum(f["rows_read"] for f in load["files"] if f["kind"] == "vitals")
    ratio = load["seconds"] / base["seconds"]
    if len(pairs) > 1:
        print(f"{len(pairs)} runs, ratios {', '.join(f'{r:.2f}' for r in ratios)}; the run with the median ratio:")
    print(f"batch: {args.clinics} clinics x {args.months} months, {args.format}, {size / 1e6:,.0f} MB, "
          f"{rows:,} rows ({vitals:,} vitals)")
    print(f"{'':28}{'seconds':>10}{'rows/s':>14}{'peak RSS':>12}")
    print(f"{'DuckDB CREATE TABLE AS':28}{base['seconds']:>10.1f}{rows / base['seconds']:>14,.0f}{base_rss / 2**30:>10.2f} GB")
    print(f"{'loader (load_batch)':28}{load['seconds']:>10.1f}{rows / load['seconds']:>14,.0f}{load_rss / 2**30:>10.2f} GB")
    print(f"  of which marts rebuild      {load['model_seconds']:>8.1f}  ({load['model_seconds'] / load['seconds']:.0%} of the load)")
    print(f"  start-up and imports        {load['import_seconds']:>8.1f}  (not in the load time; whole child {load_wall:.1f} s)")
    print(f"ratio loader / DuckDB: {ratio:.2f}   (target <= 3)   peak RSS {load_rss / 2**30:.2f} GB (target <= 2)")
    if load["rejected"]:
        print(f"WARNING: rejected files {load['rejected']}")
    print(json.dumps({
        "clinics": args.clinics, "months": args.months, "format": args.format, "bytes": size, "rows": rows,
        "vitals_rows": vitals, "baseline_seconds": base["seconds"], "load_seconds": load["seconds"],
        "ratio": ratio, "model_seconds": load["model_seconds"], "load_peak_rss_bytes": load_rss,
        "baseline_peak_rss_bytes": base_rss, "rows_per_second": rows / load["seconds"],
        "ratios": ratios,
    }))


if __name__ == "__main__":
    main()

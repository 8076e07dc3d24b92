"""`python -m pipelines metrics [--db PATH] [--format json] [--clinic ID]... [--start YYYY-MM-DD] [--end YYYY-MM-DD]`.

Prints one JSON object (metrics.md's shape) and nothing else on stdout. Kept import-light: argparse
only here; duckdb is imported when the command runs.
"""

from __future__ import annotations

import argparse


def _day(text: str):
    from pipelines.errors import UsageError
    from pipelines.metrics.dates import parse_day

    try:
        return parse_day(text)
    except UsageError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid date written YYYY-MM-DD") from None


def add_parser(sub) -> None:
    metrics = sub.add_parser(
        "metrics", help="print the headline metrics of the published warehouse as one JSON object"
    )
    metrics.add_argument("--db", metavar="PATH",
                         help="warehouse path (default $CLINIC_ANALYTICS_DB or warehouse/clinic_analytics.duckdb)")
    metrics.add_argument("--format", choices=["json"], default="json", help="output format (json)")
    metrics.add_argument("--clinic", action="append", metavar="ID", dest="clinics",
                         help="a clinic to include (repeatable; default: all clinics)")
    metrics.add_argument("--start", type=_day, metavar="YYYY-MM-DD",
                         help="first day of the period (default: the first day with a session of the clinics)")
    metrics.add_argument("--end", type=_day, metavar="YYYY-MM-DD",
                         help="last day of the period, inclusive (default: the last day with a session)")
    metrics.set_defaults(run=run)


def run(args) -> int:
    import json
    import sys

    from pipelines.metrics.compute import compute_metrics, coverage_note

    result = compute_metrics(args.db, clinics=args.clinics, start=args.start, end=args.end)
    sys.stdout.write(json.dumps(result) + "\n")
    note = coverage_note(args.db, clinics=args.clinics, start=args.start, end=args.end)
    if note:  # stdout stays the one JSON object; a person running the command sees why a rate is low
        print(f"note: {note}", file=sys.stderr)
    return 0

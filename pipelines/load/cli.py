"""`python -m pipelines load DIR [--db PATH] [--format text|json] [--max-broken-share F]`."""

from __future__ import annotations

import json

from pipelines.cli import fraction


def add_parser(sub) -> None:
    load = sub.add_parser("load", help="load one batch folder of extracts into the warehouse")
    load.add_argument("batch", metavar="DIR")
    load.add_argument("--db", metavar="PATH",
                      help="warehouse path (default $CLINIC_ANALYTICS_DB or warehouse/clinic_analytics.duckdb)")
    load.add_argument("--format", choices=["text", "json"], default="text")
    load.add_argument("--max-broken-share", type=fraction, metavar="FRACTION",
                      help="reject a file when more than this share of its rows break rules "
                           "(default $CLINIC_ANALYTICS_MAX_BROKEN_SHARE or 0.2)")
    load.set_defaults(run=run)


def run(args) -> int:
    from pipelines import config
    from pipelines.load.loader import load_batch, stderr_progress

    settings = config.LoadSettings.from_env()
    if args.max_broken_share is not None:
        settings = config.LoadSettings(max_broken_share=args.max_broken_share, keep_versions=settings.keep_versions)
    report = load_batch(args.batch, db=args.db, settings=settings, progress=stderr_progress)
    print(json.dumps(report.to_json()) if args.format == "json" else report.to_text())
    return report.exit_code

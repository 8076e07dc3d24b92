"""`python -m pipelines rebuild [--db PATH] [--force]`: rebuild the published warehouse's models when
their definitions (sql/) changed since it was built; `make run` calls it on an existing warehouse."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("rebuild", help="rebuild the warehouse's models (marts, metrics) if sql/ changed since the last build")
    p.add_argument("--db", metavar="PATH",
                   help="warehouse path (default $CLINIC_ANALYTICS_DB or warehouse/clinic_analytics.duckdb)")
    p.add_argument("--force", action="store_true", help="rebuild even when the definitions are unchanged")
    p.set_defaults(run=run)


def run(args) -> int:
    from pipelines import config
    from pipelines.warehouse.rebuild import rebuild_models

    report = rebuild_models(args.db, force=args.force)
    print(report.to_text(config.db_path(args.db)))
    return 0

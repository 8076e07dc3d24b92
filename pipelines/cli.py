"""`python -m pipelines ...`: a thin command layer over the library.

Exit status: 0 success, 1 the command ran but something was refused (e.g. a rejected file),
2 usage or configuration error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


class UsageError(Exception):
    """Bad command-line input: exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pipelines", description="Clinic analytics pipelines")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, required=True, metavar="COMMAND")

    load = sub.add_parser("load", help="load one batch folder of extracts into the warehouse")
    load.add_argument("batch", metavar="DIR")
    load.add_argument("--db", metavar="PATH", help="warehouse path (default $CLINIC_ANALYTICS_DB or warehouse/clinic_analytics.duckdb)")
    load.add_argument("--format", choices=["text", "json"], default="text")
    load.add_argument("--max-broken-share", type=_share, metavar="FRACTION",
                      help="reject a file when more than this share of its rows break rules (default 0.2)")
    load.set_defaults(run=_run_load)

    from pipelines.generate.cli import add_generate_parser  # noqa: PLC0415

    add_generate_parser(sub)
    return parser


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1")
    return value


def _run_load(args) -> int:
    from pipelines import config
    from pipelines.load.loader import load_batch, stderr_progress

    settings = config.LoadSettings.from_env()
    if args.max_broken_share is not None:
        settings = config.LoadSettings(max_broken_share=args.max_broken_share, keep_versions=settings.keep_versions)
    report = load_batch(args.batch, db=args.db, settings=settings, progress=stderr_progress)
    if args.format == "json":
        print(json.dumps(report.to_json()))
    else:
        print(report.to_text())
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    from pipelines.config import ConfigError
    from pipelines.load.loader import LoadError
    from pipelines.load.pseudonymize import KeyError_
    from pipelines.warehouse.publish import WarehouseError

    try:
        args = _parser().parse_args(argv)
        return args.run(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (LoadError, ConfigError, KeyError_, WarehouseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was published", file=sys.stderr)
        return 130

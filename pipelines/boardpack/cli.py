"""`python -m pipelines board-pack --period 2025Q3 [--clinic ID]... [--sections outcomes,safety,... | --charts ID,...]
[--out DIR] [--db PATH]` (or `--period 2025-07` for a month, `--start/--end` for any days, at most ten years).

Writes DIR/board-pack_<period>.pdf and .pptx: every chart of the chosen sections (or the charts named
instead of sections) for the period and clinics, small counts suppressed (CLINIC_ANALYTICS_MIN_CELL,
default 11). Exit status 0 on success, 2 for bad input or a chart too big to draw (one line, no traceback).
"""

from __future__ import annotations


SECTION_NAMES = ("overview", "outcomes", "safety", "boosters", "capacity", "quality")
DEFAULT_SECTIONS = "overview,outcomes,safety,boosters,capacity"


def add_parser(sub) -> None:
    p = sub.add_parser("board-pack", help="write a board pack (PDF and PowerPoint) for a period")
    when = p.add_argument_group("period (one of)")
    when.add_argument("--period", metavar="PERIOD", help="a quarter (2025Q3) or a month (2025-07)")
    when.add_argument("--start", metavar="YYYY-MM-DD", help="first day of a custom period (with --end)")
    when.add_argument("--end", metavar="YYYY-MM-DD", help="last day of a custom period (with --start)")
    p.add_argument("--clinic", action="append", default=[], metavar="ID",
                   help="a clinic id (repeat for several; default: every clinic)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--sections", metavar="LIST",
                      help=f"comma-separated sections: {', '.join(SECTION_NAMES)} (default: all but quality)")
    what.add_argument("--charts", metavar="LIST", help="comma-separated chart ids instead of sections "
                      "(e.g. outcomes.rates_by_instrument,safety.side_effects); not with --sections")
    p.add_argument("--out", metavar="DIR", default=".", help="folder for the two files (default: here)")
    p.add_argument("--db", metavar="PATH",
                   help="warehouse path (default $CLINIC_ANALYTICS_DB or warehouse/clinic_analytics.duckdb)")
    p.add_argument("--format", choices=["both", "pdf", "pptx"], default="both", help="which files (default both)")
    p.set_defaults(run=run)


def _period(args):
    from dashboard.exports import period as per
    from pipelines.errors import UsageError

    try:
        if args.period and (args.start or args.end):
            raise UsageError("board-pack: give --period, or --start and --end, not both")
        if args.period:
            return per.parse(args.period)
        if args.start and args.end:
            return per.custom(per.parse_date(args.start), per.parse_date(args.end))
        if args.start or args.end:
            raise UsageError("board-pack: a custom period needs both --start and --end")
        raise UsageError("board-pack: say which period: --period 2025Q3, --period 2025-07, or --start/--end")
    except per.PeriodError as exc:
        raise UsageError(f"board-pack: {exc}") from None


def _list(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def run(args) -> int:
    import os
    import sys
    import time
    from pathlib import Path

    from pipelines import config
    from pipelines.errors import CommandError, ConfigError, UsageError

    import streamlit.logger

    streamlit.logger.set_log_level("error")  # the query layer's Streamlit caches warn outside a Streamlit run
    period = _period(args)
    sections = _list(DEFAULT_SECTIONS if args.sections is None else args.sections)
    if not sections:
        raise UsageError(f"board-pack: --sections {args.sections!r} names no section; give one or more of "
                         f"{', '.join(SECTION_NAMES)}")
    if args.charts is not None and not _list(args.charts):
        raise UsageError(f"board-pack: --charts {args.charts!r} names no chart; give one or more chart ids "
                         "(see dashboard/charts/catalog.py)")
    unknown = [s for s in sections if s not in SECTION_NAMES]
    if unknown:
        raise UsageError(f"board-pack: unknown section {unknown[0]!r}; one of {', '.join(SECTION_NAMES)}")
    if args.db:
        os.environ[config.ENV_DB] = str(args.db)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"board-pack: --out {out} is a file, not a folder")

    from dashboard import queries
    from dashboard import suppression as sup
    from dashboard.charts import catalog
    from dashboard.exports import boardpack, render
    from dashboard.scope import Scope

    try:
        threshold = sup.min_cell()
    except sup.SuppressionConfigError as exc:
        raise ConfigError(str(exc)) from None
    charts = _list(args.charts)
    known = {spec.id for spec in catalog.CATALOG}
    bad = [c for c in charts if c not in known]
    if bad:
        raise UsageError(f"board-pack: unknown chart {bad[0]!r} (see dashboard/charts/catalog.py)")
    forward = [c for c in charts if not boardpack.in_packs(catalog.get(c))]
    if forward:
        raise UsageError(f"board-pack: {forward[0]} is not drawn in packs: {boardpack.NOT_IN_PACKS}")
    if not queries.warehouse_ready():
        raise CommandError(f"no warehouse at {config.db_path()}: load a batch first (python -m pipelines load DIR)")
    scope = Scope.everything()
    options = queries.filter_options(scope)
    missing = [c for c in args.clinic if c not in options.clinics]
    if missing:
        raise UsageError(f"board-pack: unknown clinic {missing[0]!r}; known: {', '.join(sorted(options.clinics))}")
    if options.data_start is None or period.end < options.data_start or period.start > options.data_end:
        span = f"{options.data_start} to {options.data_end}" if options.data_start else "no sessions loaded"
        raise CommandError(f"no data in {period.label}: the warehouse holds {span}")
    request = boardpack.BoardPackRequest(period=period, clinics=tuple(dict.fromkeys(args.clinic)),
                                         sections=tuple(sections), charts=tuple(charts) or None, threshold=threshold)
    formats = ("pdf", "pptx") if args.format == "both" else (args.format,)
    # The folder is made (or found unusable) before the pack is drawn: a pack takes seconds to build,
    # and --out under a file or where we may not write used to fail only after all of it.
    made = [d for d in [out, *out.parents] if not d.exists()]  # the folders this run creates, deepest first
    out.mkdir(parents=True, exist_ok=True)  # an OSError is one line (pipelines.cli)
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"board-pack: cannot write into {out}: permission denied")
    started = time.perf_counter()
    try:
        pack = boardpack.build(scope, request, formats=formats)
    except BaseException as exc:
        for folder in made:  # nothing written, so no folder of ours is left behind
            if not any(folder.iterdir()):
                folder.rmdir()
        if isinstance(exc, render.RenderTimeout):
            raise CommandError(f"board-pack: nothing written: {exc}") from None
        raise
    written = []
    for fmt_, payload in (("pdf", pack.pdf), ("pptx", pack.pptx)):
        if fmt_ in formats:
            path = out / f"{pack.stem}.{fmt_}"
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(payload)
            tmp.replace(path)
            written.append(str(path))
    hidden = sum(p.hidden for p in pack.pages)
    print(f"board pack {period.label} ({pack.selection}): {len(pack.pages)} pages + cover, "
          f"{hidden} figures hidden by the cell-size rule, {time.perf_counter() - started:.1f} s")
    for path in written:
        print(path)
    sys.stdout.flush()
    return 0

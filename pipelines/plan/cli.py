"""`python -m pipelines plan --clinic ID --horizon 13w [scenario flags] [--format table|json]`.

Prints a clinic's capacity projection: a table for people, or one JSON object (Projection.to_json) and
nothing else on stdout. Scenario flags override the clinic's observed values; --scenario-file starts
from a saved scenario (flags still override it). Kept import-light: argparse here, the model when the
command runs.
"""

from __future__ import annotations

import argparse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 60:
        raise argparse.ArgumentTypeError(f"{text!r} is not from 1 to 60")
    return value


def _number(low: float, high: float):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (low <= value <= high) or value != value:
            raise argparse.ArgumentTypeError(f"{text!r} is not from {low:g} to {high:g}")
        return value
    return parse


def _parsed(parser_name: str):
    def parse(text: str):
        from pipelines.errors import UsageError
        from pipelines.plan import scenario

        try:
            return getattr(scenario, parser_name)(text)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def add_parser(sub) -> None:
    plan = sub.add_parser(
        "plan", help="project a clinic's demand and chair utilization, and the fewest chairs for a target"
    )
    plan.add_argument("--clinic", metavar="ID", help="the clinic to plan (required unless the scenario file names one)")
    plan.add_argument("--horizon", metavar="WEEKS", help="weeks to plan, e.g. 13w (default 13w or the scenario's)")
    plan.add_argument("--chairs", type=_positive_int, metavar="N", help="chairs (default: the clinic's current)")
    plan.add_argument("--open", type=_parsed("parse_window"), metavar="HH:MM-HH:MM", dest="window",
                      help="opening hours on every open day (default: the clinic's current)")
    plan.add_argument("--days", type=_parsed("parse_days"), metavar="Mon,Tue,...",
                      help="open weekdays (default: the clinic's current)")
    plan.add_argument("--closed-on", type=_parsed("parse_holidays"), metavar="HOLIDAYS",
                      help="US federal holidays the clinic closes on, e.g. \"Thanksgiving,Christmas Day\", or none "
                           "(default: those it closed on the last time, as its sessions show)")
    demand = plan.add_mutually_exclusive_group()
    demand.add_argument("--new-patients-per-week", type=_number(0, 100_000), metavar="X",
                        help="new patients per week instead of the forecast")
    demand.add_argument("--demand-multiplier", type=_number(0, 100), metavar="F",
                        help="scale the forecast of new patients (1.2 = 20%% more)")
    plan.add_argument("--no-show-rate", type=_number(0, 0.89), metavar="F",
                      help="share of booked sessions that are no-shows (default: observed)")
    plan.add_argument("--chair-minutes", type=_parsed("parse_chair_minutes"), metavar="M",
                      help="chair minutes per session: one number for every modality, or "
                           "iv_ketamine=95,esketamine_nasal=150 (default: observed)")
    plan.add_argument("--target", type=_number(0.01, 1), metavar="F",
                      help="utilization target for the chair recommendation (default 0.8)")
    plan.add_argument("--as-of", metavar="YYYY-MM-DD", help="plan as if the data ended the day before (default: latest)")
    plan.add_argument("--scenario-file", metavar="F", help="start from a saved scenario (path, or a name in the scenarios folder)")
    plan.add_argument("--save-scenario", metavar="NAME", help="also save the scenario under this name in the scenarios folder")
    plan.add_argument("--db", metavar="PATH",
                      help="warehouse path (default $CLINIC_ANALYTICS_DB or warehouse/clinic_analytics.duckdb)")
    plan.add_argument("--format", choices=["table", "json"], default="table")
    plan.set_defaults(run=run)


def scenario_from_args(args):
    """The Scenario the flags describe (on top of --scenario-file when given)."""
    from pipelines.errors import UsageError
    from pipelines.metrics.dates import parse_day
    from pipelines.plan.engine import horizon_from_text
    from pipelines.plan.scenario import Scenario, load_scenario

    base = load_scenario(args.scenario_file) if args.scenario_file else Scenario()
    changes: dict = {}
    if args.clinic:
        changes["clinic_id"] = args.clinic
    if args.horizon:
        changes["horizon_weeks"] = horizon_from_text(args.horizon)
    if args.chairs is not None:
        changes["chairs"] = args.chairs
    if args.window is not None:
        changes["opens_at"], changes["closes_at"] = args.window
    if args.days is not None:
        changes["open_days"] = args.days
    if args.closed_on is not None:
        changes["closed_on"] = args.closed_on
    if args.new_patients_per_week is not None:
        changes["new_patients_per_week"] = args.new_patients_per_week
        changes["demand_multiplier"] = 1.0
    if args.demand_multiplier is not None:
        changes["demand_multiplier"] = args.demand_multiplier
        changes["new_patients_per_week"] = None
    if args.no_show_rate is not None:
        changes["no_show_rate"] = args.no_show_rate
    if args.chair_minutes is not None:
        changes["chair_minutes"] = args.chair_minutes
    if args.target is not None:
        changes["target_utilization"] = args.target
    if args.as_of:
        changes["as_of"] = parse_day(args.as_of, "--as-of").isoformat()
    if args.save_scenario is not None:
        if not args.save_scenario.strip():
            raise UsageError(f"--save-scenario {args.save_scenario!r}: give the scenario a name to save it under, "
                             "e.g. --save-scenario \"Nine chairs\"")
        changes["name"] = args.save_scenario.strip()
    scenario = base.replace(**changes)
    if not scenario.clinic_id:
        raise UsageError("give --clinic ID (or a scenario file that names the clinic)")
    return scenario


def run(args) -> int:
    import json
    import sys

    from pipelines.plan.engine import plan_clinic
    from pipelines.plan.scenario import check_scenarios_dir, save_scenario

    scenario = scenario_from_args(args)
    if args.save_scenario is not None:
        check_scenarios_dir()  # before planning: a scenarios "folder" that is a file is one line, at once
    projection = plan_clinic(scenario.clinic_id, scenario, db=args.db)
    if args.save_scenario is not None:
        path = save_scenario(scenario)
        print(f"saved scenario {scenario.name!r} to {path}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(json.dumps(projection.to_json()) + "\n")
    else:
        from pipelines.plan.report import projection_table

        sys.stdout.write(projection_table(projection) + "\n")
    return 0

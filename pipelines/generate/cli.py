"""`python -m pipelines generate --out DIR [--clinics N] [--months M] [--start YYYY-MM-DD] [--seed S]
[--defects] [--format csv.gz|csv|parquet]`."""

from __future__ import annotations

import argparse
from datetime import date, timedelta

MAX_CLINICS = 500
MAX_MONTHS = 240


def _whole(name: str, low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low} and {high}, not {value}")
        return value

    return parse


EARLIEST_START = date(2000, 1, 1)


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"start must be a date YYYY-MM-DD, not {text!r}") from None
    # Birth years, ages and booster gaps are drawn around the start; a start after today would write
    # sessions in the future, which the load quarantines (and year 1 or 9999 overflowed the dates).
    if not EARLIEST_START <= day <= date.today():
        raise argparse.ArgumentTypeError(f"start must be between {EARLIEST_START} and today, not {text}")
    return day


def _folder(text: str) -> str:
    if not text.strip():  # "" would write into the current folder
        raise argparse.ArgumentTypeError("--out must name a folder, not an empty string")
    return text


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="write a realistic sample batch of extracts (deterministic by seed)")
    p.add_argument("--out", type=_folder, required=True, metavar="DIR", help="folder to write the batch into")
    p.add_argument("--clinics", type=_whole("clinics", 1, MAX_CLINICS), default=3, metavar="N")
    p.add_argument("--months", type=_whole("months", 1, MAX_MONTHS), default=12, metavar="M")
    p.add_argument("--start", type=_day, default=None, metavar="YYYY-MM-DD",
                   help="first day of the period (default: the last M whole months, ending on the 1st of this month)")
    p.add_argument("--seed", type=_whole("seed", 0, 2**63 - 1), default=0, metavar="S")
    p.add_argument("--defects", action="store_true",
                   help="add a realistic handful of broken rows of every kind the contract names")
    p.add_argument("--format", choices=["csv.gz", "csv", "parquet"], default="csv.gz", dest="fmt")
    p.set_defaults(run=run)




def period_start(start: date | None, months: int, today: date | None = None) -> date:
    """The first day of the batch. Without --start, the last `months` whole months (the batch ends on
    the 1st of this month, like a monthly export). A period that runs past today is refused: the load
    quarantines every row dated more than a day ahead, and their sessions' vitals and scales with them."""
    from pipelines.generate.core import GenerateError, add_months

    today = today or date.today()
    if start is None:
        return add_months(today.replace(day=1), -months)
    end = add_months(start, months)
    if end > today:
        raise GenerateError(
            f"--start {start} with --months {months} runs to {end - timedelta(days=1)}, after today: the load would "
            f"quarantine every row dated in the future; give --start {add_months(today, -months)} or earlier, "
            "or fewer --months"
        )
    return start


def run(args) -> int:
    from pipelines.generate import generate_batch

    start = period_start(args.start, args.months)
    summary = generate_batch(args.out, clinics=args.clinics, months=args.months, start=start,
                             seed=args.seed, defects=args.defects, fmt=args.fmt)
    print(summary.to_text())
    return 0

"""Whole days on the command line (no heavy imports: the argument parser uses this)."""

from __future__ import annotations

import datetime as dt
import re

from pipelines.errors import UsageError

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, flag: str = "date") -> dt.date:
    """A day written YYYY-MM-DD; UsageError (one line) for anything else."""
    try:
        if not isinstance(text, str) or not _DAY.match(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a valid date written YYYY-MM-DD") from None

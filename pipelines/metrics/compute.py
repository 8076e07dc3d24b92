"""compute_metrics(db, clinics=None, start=None, end=None) -> dict, in the metrics contract's shape."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence

import duckdb

from pipelines import config
from pipelines.errors import CommandError, UsageError
from pipelines.metrics.dates import parse_day
from pipelines.warehouse.publish import connect_read_only

# The macros every figure comes from (sql/metrics); each call passes the same three filters.
_FILTERS = "clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE"

_OUTCOMES = f"""
    SELECT instrument, courses_with_baseline, evaluable, responders, response_rate, response_ci_low,
           response_ci_high, remitters, remission_rate, remission_ci_low, remission_ci_high
    FROM metrics.outcome_rates({_FILTERS})
    WHERE courses_with_baseline > 0
    ORDER BY instrument
"""
_COURSES = f"SELECT coalesce(sum(courses), 0) FROM metrics.course_counts({_FILTERS})"
_TREATED = f"SELECT coalesce(sum(treated_sessions), 0) FROM metrics.treated_sessions({_FILTERS})"
_SIDE_EFFECTS = f"""
    SELECT effect, sessions, rate FROM metrics.side_effect_rates({_FILTERS})
    ORDER BY effect <> 'any', effect
"""
_BP = f"SELECT sessions_with_vitals, elevated_sessions, rate FROM metrics.bp_elevation({_FILTERS})"
_BOOSTERS = f"SELECT intervals, median_days, p25_days, p75_days FROM metrics.booster_intervals({_FILTERS})"
_UTILIZATION = f"""
    SELECT clinic_id, available_chair_hours, occupied_chair_hours, utilization
    FROM metrics.utilization({_FILTERS})
    ORDER BY clinic_id
"""


def _as_day(value: dt.date | str | None, flag: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return parse_day(value, flag)


def compute_metrics(
    db: str | os.PathLike | None = None,
    clinics: Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> dict:
    """The metrics object for the published warehouse at `db` (default: the configured pointer)."""
    con, _ = connect_read_only(config.db_path(db))
    try:
        return metrics_from_connection(con, clinics, start, end)
    finally:
        con.close()


def coverage_note(
    db: str | os.PathLike | None = None,
    clinics: Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> str | None:
    """One line when the period reaches beyond the selected clinics' data (None when it does not).
    The contract counts every open day of the period as available, so days after the data's last day
    (or before its first) are open and unused: `--end 2026-09-30` on data to 30 June read 37% for a
    clinic running at 75%. The figures stay the contract's; whoever asked is told why they are low."""
    start, end = _as_day(start, "--start"), _as_day(end, "--end")
    con, _ = connect_read_only(config.db_path(db))
    try:
        _require_metrics(con)
        data_start, data_end = con.execute(
            "SELECT start_date, end_date FROM metrics.data_period(clinics := ?::VARCHAR[])", [_select_clinics(con, clinics)]
        ).fetchone()
    finally:
        con.close()
    if data_start is None:
        return None
    beyond = []
    if start is not None and start < data_start:
        beyond.append(f"starts before the data's first day ({data_start.isoformat()})")
    if end is not None and end > data_end:
        beyond.append(f"ends after the data's last day ({data_end.isoformat()})")
    if not beyond:
        return None
    return ("the period " + " and ".join(beyond) + ": its open days without data count as available and unused, "
            "so utilization reads low there")


def metrics_from_connection(
    con: duckdb.DuckDBPyConnection,
    clinics: Sequence[str] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> dict:
    start, end = _as_day(start, "--start"), _as_day(end, "--end")
    _require_metrics(con)
    selected = _select_clinics(con, clinics)
    data_start, data_end = con.execute(
        "SELECT start_date, end_date FROM metrics.data_period(clinics := ?::VARCHAR[])", [selected]
    ).fetchone()
    start = start or data_start
    end = end or data_end
    if start is not None and end is not None and start > end:
        raise UsageError(
            f"the period starts ({start.isoformat()}) after it ends ({end.isoformat()}); "
            "give --start on or before --end (without --end the period ends on the last day with sessions)"
        )
    params = [selected, start, end]

    def rows(sql: str) -> list[tuple]:
        return con.execute(sql, params).fetchall()

    outcomes = [
        {
            "instrument": instrument,
            "courses_with_baseline": with_baseline,
            "evaluable": evaluable,
            "responders": responders,
            "response_rate": response_rate,
            "response_ci": _interval(response_low, response_high),
            "remitters": remitters,
            "remission_rate": remission_rate,
            "remission_ci": _interval(remission_low, remission_high),
        }
        for (instrument, with_baseline, evaluable, responders, response_rate, response_low, response_high,
             remitters, remission_rate, remission_low, remission_high) in rows(_OUTCOMES)
    ]
    sessions_with_vitals, elevated, bp_rate = rows(_BP)[0]
    intervals, median_days, p25_days, p75_days = rows(_BOOSTERS)[0]
    return {
        "period": {"start": _iso(start), "end": _iso(end)},
        "clinics": selected,
        "courses": rows(_COURSES)[0][0],
        "outcomes": outcomes,
        "treated_sessions": rows(_TREATED)[0][0],
        "side_effects": [
            {"effect": effect, "sessions": sessions, "rate": rate} for effect, sessions, rate in rows(_SIDE_EFFECTS)
        ],
        "bp_elevation": {"sessions_with_vitals": sessions_with_vitals, "sessions": elevated, "rate": bp_rate},
        "boosters": {
            "intervals": intervals, "median_days": median_days, "p25_days": p25_days, "p75_days": p75_days,
        },
        "utilization": [
            {"clinic_id": clinic_id, "available_chair_hours": available, "occupied_chair_hours": occupied,
             "utilization": utilization}
            for clinic_id, available, occupied, utilization in rows(_UTILIZATION)
        ],
    }


def _require_metrics(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE schema_name = 'metrics' AND function_name = 'outcome_rates'"
    ).fetchone()[0]
    if not found:
        raise CommandError(
            "this warehouse has no metric models (it was built by an older version); load a batch to rebuild it"
        )


def _select_clinics(con: duckdb.DuckDBPyConnection, clinics: Iterable[str] | None) -> list[str]:
    known = [r[0] for r in con.execute("SELECT DISTINCT clinic_id FROM marts.clinic_capacity ORDER BY 1").fetchall()]
    if not clinics:
        return known
    wanted = list(dict.fromkeys(clinics))  # repeated --clinic flags count once
    unknown = [c for c in wanted if c not in set(known)]
    if unknown:
        shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise CommandError(
            f"unknown clinic{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the warehouse has: {shown or 'no clinics'}"
        )
    return wanted


def _interval(low, high) -> list | None:
    return None if low is None or high is None else [low, high]


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None

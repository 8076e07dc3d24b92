"""Read each text value as its contract type, in one DuckDB select per file.

A value that cannot be read becomes NULL, and `<col>__given` remembers it was there, so the
suites can tell "required but missing" from "given but unreadable". Timestamps are read in the
clinic's local time (naive values as given, values with an offset converted), and their instant is
kept in `<col>_utc` for the rules and metrics that compare instants across clinics.
"""

from __future__ import annotations

import duckdb

from pipelines.contract import EXTRACTS, ColType

# A regular table in the build file, not a TEMP one: DuckDB writes it to the file instead of spilling
# it, and when the target table is still empty the loader adopts it as raw.<kind> without a copy.
TYPED_TABLE = "raw._typing"

# Shapes first (one cheap regular expression each), then the one parser that fits the shape: trying
# a list of strptime formats on every value costs seconds per million rows for each miss.
# Years 0001-9999 (year 0000 is not a year of the calendar, nor of Python's datetime).
_YEAR = r"(000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})"
_ISO = _YEAR + r"-\d{2}-\d{2}[ Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
_ISO_NAIVE = f"^{_ISO}$"
_ISO_OFFSET = f"^{_ISO}([zZ]|[+-]\\d{{2}}(:?\\d{{2}})?)$"
_US = r"^\d{1,2}/\d{1,2}/" + _YEAR + r" \d{1,2}:\d{2}(:\d{2})?$"
_US_12H = r"^\d{1,2}/\d{1,2}/" + _YEAR + r" \d{1,2}:\d{2}(:\d{2})? ?[AaPp][Mm]$"
# What the rules can hold: Great Expectations checks a file's rows in pandas, whose datetimes end
# with 9999. A placeholder such as 9999-12-31 23:59 in a zone behind UTC is an instant in year 10000;
# clamped to the last representable moment it still breaks "not more than one day after the load"
# (instead of stopping the whole load), and the quarantine keeps its text as given.
_FIRST_MOMENT = "TIMESTAMP '0001-01-01 00:00:00'"
_LAST_MOMENT = "TIMESTAMP '9999-12-31 23:59:59.999999'"
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_WEEKDAY_SPELLINGS = [
    "mon", "monday", "tue", "tues", "tuesday", "wed", "weds", "wednesday", "thu", "thur", "thurs",
    "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday",
]
_TRUE = ("true", "yes", "y", "1")
_FALSE = ("false", "no", "n", "0")


def _sql_list(values) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _naive(col: str) -> str:
    """ISO 8601 or US wall-clock time without an offset, else NULL."""
    return (
        f"CASE WHEN regexp_full_match({col}, '{_ISO_NAIVE}') THEN try_cast(upper({col}) AS TIMESTAMP) "
        f"WHEN regexp_full_match({col}, '{_US}') THEN try_strptime({col}, ['%m/%d/%Y %H:%M', '%m/%d/%Y %H:%M:%S']) "
        f"WHEN regexp_full_match({col}, '{_US_12H}') THEN try_strptime(upper({col}), "
        f"['%m/%d/%Y %I:%M %p', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %I:%M%p', '%m/%d/%Y %I:%M:%S%p']) END"
    )


def _aware(col: str) -> str:
    """ISO 8601 with an offset (Z, +hh:mm, -hhmm, +hh) as an instant, else NULL.

    Almost every value has no offset, so a test any offset passes comes first: it ends in Z, or holds
    a '+', or a '-' after the date (characters 11 on). It only skips the regular expression where
    that could not match: same result, and the vitals typing of 13 M rows takes 4.1 s instead of 4.3 s."""
    could_have_offset = (f"(right({col}, 1) IN ('Z', 'z') OR contains({col}, '+') "
                         f"OR contains(substr({col}, 11), '-'))")
    return (f"CASE WHEN {could_have_offset} AND regexp_full_match({col}, '{_ISO_OFFSET}') "
            f"THEN try_cast(upper({col}) AS TIMESTAMPTZ) END")


def _days(col: str) -> str:
    tokens = f"string_split(lower(replace({col}, ' ', '')), ',')"
    return (
        f"CASE WHEN len({tokens}) > 0 AND list_bool_and(list_transform({tokens}, "
        f"lambda x: list_contains({_sql_list(_WEEKDAY_SPELLINGS)}, x))) "
        f"THEN array_to_string(list_filter({_sql_list(_WEEKDAYS)}, "
        f"lambda d: list_contains(list_transform({tokens}, lambda x: left(x, 3)), lower(d))), ',') END"
    )


def _parsed(col: str, ctype: ColType) -> list[str]:
    """Stage 1: each value parsed once (numbers to DOUBLE, timestamps to naive and aware readings)."""
    src = f"r.{col}"
    given = f"CASE WHEN {src} IS NOT NULL THEN true END AS {col}__given"
    match ctype:
        case ColType.TEXT | ColType.PSEUDONYM:
            return [f"{src} AS {col}"]
        case ColType.ENUM_LOWER:
            return [f"lower({src}) AS {col}"]
        case ColType.ENUM_UPPER:
            return [f"upper({src}) AS {col}"]
        case ColType.INT | ColType.FLOAT:
            # DuckDB's cast reads "1_00" as 100; an underscore is a typing slip, not a digit separator.
            return [f"CASE WHEN NOT contains({src}, '_') THEN try_cast({src} AS DOUBLE) END AS {col}__num", given]
        case ColType.DATE:
            return [f"CAST(try_strptime({src}, ['%Y-%m-%d', '%m/%d/%Y']) AS DATE) AS {col}", given]
        case ColType.TIME:
            return [f"CAST(try_strptime({src}, ['%H:%M', '%H:%M:%S']) AS TIME) AS {col}", given]
        case ColType.BOOL:
            return [f"CASE WHEN lower({src}) IN {_TRUE} THEN true WHEN lower({src}) IN {_FALSE} THEN false END AS {col}",
                    given]
        case ColType.DAYS:
            return [f"{_days(src)} AS {col}", given]
        case ColType.TIMESTAMP:
            return [f"{_naive(src)} AS {col}__naive", f"{_aware(src)} AS {col}__aware", given]
    raise ValueError(f"no reader for {ctype}")


def _clamped(column: str) -> str:
    """Stage 3: a timestamp column held within what the rules can check (NULL stays NULL: DuckDB's
    least and greatest skip NULLs)."""
    return (f"CASE WHEN {column} IS NOT NULL THEN least(greatest({column}, {_FIRST_MOMENT}), {_LAST_MOMENT}) "
            f"END AS {column}")


def _final(col: str, ctype: ColType, session_offsets: bool = False) -> list[str]:
    """Stage 2: the typed value (and for timestamps local time plus UTC instant)."""
    match ctype:
        case ColType.INT:
            n = f"{col}__num"
            return [f"CASE WHEN isfinite({n}) AND {n} = trunc({n}) AND abs({n}) < 2147483648 "
                    f"THEN CAST({n} AS INTEGER) END AS {col}", f"{col}__given"]
        case ColType.FLOAT:
            return [f"CASE WHEN isfinite({col}__num) THEN {col}__num END AS {col}", f"{col}__given"]
        case ColType.TIMESTAMP:
            naive, aware = f"{col}__naive", f"{col}__aware"
            # Local time: naive as given, offsets converted to the clinic's zone. Without a known
            # clinic the row is an orphan (quarantined anyway); its UTC reading still lets the rules
            # check the value.
            to_utc = f"timezone('UTC', timezone(_tz, {naive}))"
            if session_offsets:
                # A reading inside its session's check-in..discharge, when the clinic's UTC offset is the
                # same at both ends (no daylight-saving change in between), has that offset too: add it
                # instead of asking the time-zone library row by row (same instant, far cheaper).
                to_utc = (f"CASE WHEN _off_in = _off_out AND {naive} BETWEEN _s_in AND _s_out "
                          f"THEN {naive} + _off_in ELSE {to_utc} END")
            return [
                f"coalesce({naive}, timezone(_tz, {aware}), timezone('UTC', {aware})) AS {col}",
                f"coalesce(timezone('UTC', {aware}), {to_utc}) AS {col}_utc",
                f"{col}__given",
            ]
    return [col] + ([f"{col}__given"] if ctype.parsed else [])


_TZ_JOINS = {
    None: "",
    "clinic": "LEFT JOIN _clinic_tz z ON z.clinic_id = r.clinic_id",
    "session": ("LEFT JOIN raw.sessions s ON s.session_id = r.session_id "
                "LEFT JOIN _clinic_tz z ON z.clinic_id = s.clinic_id"),
    "session_else_patient": (
        "LEFT JOIN raw.sessions s ON s.session_id = r.session_id "
        "LEFT JOIN raw.patients p ON p.patient_ref = r.patient_ref "
        "LEFT JOIN _clinic_tz z ON z.clinic_id = CASE WHEN r.session_id IS NOT NULL THEN s.clinic_id ELSE p.clinic_id END"
    ),
}

# Values the rules need that are not columns of the extract, named after what they measure.
_DERIVED = {
    "sessions": [
        "(epoch(treatment_end_utc) - epoch(treatment_start_utc)) / 60.0 AS treatment_minutes",
        # Rounded so exactly 3.0 mg/kg with a decimal weight (225.3 / 75.1) is not 3.0000000000000004.
        "round(dose_mg / nullif(weight_kg, 0), 9) AS dose_mg_per_kg",
    ],
    "assessments": ["score = trunc(score) AS score_is_whole"],
}


def build_typed(con: duckdb.DuckDBPyConnection, kind: str, source: str) -> None:
    """CREATE TYPED_TABLE from `source` (a table or view of _row + contract text columns)."""
    extract = EXTRACTS[kind]
    stage1 = ["r._row"] + [expr for col, ctype in extract.columns.items() for expr in _parsed(col, ctype)]
    session_offsets = extract.timezone_via == "session"
    stage2 = ["_row"] + [expr for col, ctype in extract.columns.items() for expr in _final(col, ctype, session_offsets)]
    tz_join = _TZ_JOINS[extract.timezone_via]
    if session_offsets:
        stage1 += ["s.checkin_at AS _s_in", "s.discharge_at AS _s_out",
                   "s.checkin_at_utc - s.checkin_at AS _off_in", "s.discharge_at_utc - s.discharge_at AS _off_out"]
    if tz_join:
        stage1.append("z.tz AS _tz")
        con.execute(
            """CREATE OR REPLACE TEMP VIEW _clinic_tz AS
               SELECT clinic_id, arg_max(timezone, coalesce(valid_from, DATE '0001-01-01')) AS tz
               FROM raw.clinics GROUP BY clinic_id"""
        )
    elif extract.timestamp_columns:
        stage1.append("NULL::VARCHAR AS _tz")
    typed = f"SELECT {', '.join(stage2)} FROM (SELECT {', '.join(stage1)} FROM {source} r {tz_join})"
    moments = [m for c in extract.timestamp_columns for m in (c, f"{c}_utc")]
    if moments:
        typed = f"SELECT * REPLACE ({', '.join(_clamped(m) for m in moments)}) FROM ({typed})"
    derived = _DERIVED.get(kind)
    if derived:
        typed = f"SELECT t.*, {', '.join(derived)} FROM ({typed}) t"
    con.execute(f"CREATE OR REPLACE TABLE {TYPED_TABLE} AS {typed}")

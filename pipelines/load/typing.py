"""Read each text value as its contract type, in one DuckDB select per file.

A value that cannot be read becomes NULL, and `<col>__given` remembers it was there, so the
suites can tell "required but missing" from "given but unreadable". Timestamps are read in the
clinic's local time (naive values as given, values with an offset converted), and their instant is
kept in `<col>_utc` for the rules and metrics that compare instants across clinics.
"""

from __future__ import annotations

import duckdb

from pipelines.contract import EXTRACTS, ColType

TYPED_TABLE = "_in_typed"

_NAIVE_FORMATS = [
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
]
_OFFSET_FORMATS = ["%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z"]
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_WEEKDAY_SPELLINGS = [
    "mon", "monday", "tue", "tues", "tuesday", "wed", "weds", "wednesday", "thu", "thur", "thurs",
    "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday",
]
_TRUE = ("true", "yes", "y", "1")
_FALSE = ("false", "no", "n", "0")


def _sql_list(values) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _iso(col: str) -> str:
    """ISO 'T' separator to a space and 'Z' to +00:00, so one set of formats reads them all."""
    return f"regexp_replace(regexp_replace({col}, '^(\\d{{4}}-\\d{{2}}-\\d{{2}})[Tt]', '\\1 '), '[zZ]$', '+00:00')"


def _naive(col: str) -> str:
    return f"try_strptime({_iso(col)}, {_sql_list(_NAIVE_FORMATS)})"


def _aware(col: str) -> str:
    return f"try_strptime({_iso(col)}, {_sql_list(_OFFSET_FORMATS)})"


def _number(col: str) -> str:
    return f"CASE WHEN isfinite(try_cast({col} AS DOUBLE)) THEN try_cast({col} AS DOUBLE) END"


def _whole(col: str) -> str:
    num = _number(col)
    return (f"CASE WHEN {num} = trunc({num}) AND abs({num}) < 2147483648 "
            f"THEN CAST({num} AS INTEGER) END")


def _days(col: str) -> str:
    tokens = f"string_split(lower(replace({col}, ' ', '')), ',')"
    return (
        f"CASE WHEN len({tokens}) > 0 AND list_bool_and(list_transform({tokens}, "
        f"lambda x: list_contains({_sql_list(_WEEKDAY_SPELLINGS)}, x))) "
        f"THEN array_to_string(list_filter({_sql_list(_WEEKDAYS)}, "
        f"lambda d: list_contains(list_transform({tokens}, lambda x: left(x, 3)), lower(d))), ',') END"
    )


def _typed_value(col: str, ctype: ColType) -> str:
    src = f"r.{col}"
    match ctype:
        case ColType.TEXT | ColType.PSEUDONYM:
            return src
        case ColType.ENUM_LOWER:
            return f"lower({src})"
        case ColType.ENUM_UPPER:
            return f"upper({src})"
        case ColType.INT:
            return _whole(src)
        case ColType.FLOAT:
            return _number(src)
        case ColType.DATE:
            return f"CAST(try_strptime({src}, ['%Y-%m-%d', '%m/%d/%Y']) AS DATE)"
        case ColType.TIME:
            return f"CAST(try_strptime({src}, ['%H:%M', '%H:%M:%S']) AS TIME)"
        case ColType.BOOL:
            return (f"CASE WHEN lower({src}) IN {_TRUE} THEN true "
                    f"WHEN lower({src}) IN {_FALSE} THEN false END")
        case ColType.DAYS:
            return _days(src)
    raise ValueError(f"no reader for {ctype}")


def _timestamp_columns(col: str) -> list[str]:
    """Local wall-clock time, its UTC instant, and whether a value was given."""
    src = f"r.{col}"
    naive, aware = _naive(src), _aware(src)
    # Local time: naive as given, offsets converted to the clinic's zone. Without a known clinic the
    # row is an orphan and will be quarantined; the UTC reading still lets the rules check the value.
    local = f"coalesce({naive}, timezone(z.tz, {aware}), timezone('UTC', {aware}))"
    utc = f"coalesce(timezone('UTC', {aware}), timezone('UTC', timezone(z.tz, {naive})))"
    return [f"{local} AS {col}", f"{utc} AS {col}_utc", f"CASE WHEN {src} IS NOT NULL THEN true END AS {col}__given"]


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
        "dose_mg / nullif(weight_kg, 0) AS dose_mg_per_kg",
    ],
    "assessments": ["score = trunc(score) AS score_is_whole"],
}


def build_typed(con: duckdb.DuckDBPyConnection, kind: str, source: str, exclude_rows: str | None = None) -> None:
    """CREATE TYPED_TABLE from `source` (a table or view of _row + contract text columns)."""
    extract = EXTRACTS[kind]
    selects = ["r._row"]
    for col, ctype in extract.columns.items():
        if ctype is ColType.TIMESTAMP:
            selects += _timestamp_columns(col)
            continue
        selects.append(f"{_typed_value(col, ctype)} AS {col}")
        if ctype.parsed:
            selects.append(f"CASE WHEN r.{col} IS NOT NULL THEN true END AS {col}__given")
    where = f"WHERE r._row NOT IN (SELECT _row FROM {exclude_rows})" if exclude_rows else ""
    con.execute(
        """CREATE OR REPLACE TEMP VIEW _clinic_tz AS
           SELECT clinic_id, arg_max(timezone, coalesce(valid_from, DATE '0001-01-01')) AS tz
           FROM raw.clinics GROUP BY clinic_id"""
    )
    typed = f"SELECT {', '.join(selects)} FROM {source} r {_TZ_JOINS[extract.timezone_via]} {where}"
    derived = _DERIVED.get(kind)
    if derived:
        typed = f"SELECT t.*, {', '.join(derived)} FROM ({typed}) t"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TYPED_TABLE} AS {typed}")

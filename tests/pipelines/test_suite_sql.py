"""The SQL evaluation of each GX suite must find exactly what Great Expectations finds.

Frames of typed rows are generated around every bound, set member and comparison the suite
names (plus NULLs and values outside any set), then both engines judge the same rows.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.contract import EXTRACTS, ColType
from pipelines.load import suite_sql, suites, validate
from pipelines.load.integrity import FAILURES_TABLE, start_failures

LATEST = dt.datetime(2026, 10, 16, 12, 0)
PARAMS = {suites.LATEST_ALLOWED_UTC: LATEST, suites.CURRENT_YEAR: 2026}


def _interesting_values(kind: str) -> dict[str, list]:
    """Per column, the values where the suite's verdict can change."""
    values: dict[str, set] = {}
    for e in suites.suite(kind).expectations:
        kwargs = e.configuration.kwargs
        for name in ("column", "column_A", "column_B"):
            if name in kwargs:
                values.setdefault(kwargs[name], set())
        col = kwargs.get("column")
        if e.expectation_type == "expect_column_values_to_be_between":
            for bound in (kwargs.get("min_value"), kwargs.get("max_value")):
                bound = suite_sql._resolve(bound, PARAMS)
                if isinstance(bound, dt.datetime):
                    values[col] |= {bound - dt.timedelta(minutes=1), bound, bound + dt.timedelta(minutes=1)}
                elif bound is not None:
                    values[col] |= {bound - 1, bound - 0.5, bound, bound + 0.5, bound + 1}
        if e.expectation_type == "expect_column_values_to_be_in_set":
            members = list(kwargs["value_set"])[:6]
            values[col] |= set(members)
            values[col].add("bogus" if isinstance(members[0], str) else (members[0] + 1 if not isinstance(members[0], bool) else False))
        condition = e.row_condition
        stack = [condition] if condition is not None else []
        while stack:
            c = stack.pop()
            if hasattr(c, "conditions"):
                stack += list(c.conditions)
                continue
            values.setdefault(c.column.name, set())
            parameter = getattr(c, "parameter", None)
            if isinstance(parameter, list):
                values[c.column.name] |= set(parameter[:3]) | {"other_value"}
            elif parameter is not None:
                values[c.column.name] |= {parameter, "other_value"}
            else:
                values[c.column.name] |= {True}
    return {col: sorted(vals, key=repr) for col, vals in values.items()}


def _frame_strategy(kind: str):
    interesting = _interesting_values(kind)
    timestamps = [dt.datetime(2026, 10, 15, 9, 0), dt.datetime(2026, 10, 15, 9, 30), dt.datetime(2026, 10, 15, 15, 0)]
    times = [dt.time(8, 0), dt.time(18, 0), dt.time(7, 0)]
    columns = {}
    for col, vals in interesting.items():
        base = [v for v in vals]
        ctype = EXTRACTS[kind].columns.get(col)
        if ctype is ColType.TIMESTAMP or col.endswith("_utc") and not base:
            base += timestamps
        if ctype is ColType.TIME:
            base = times
        if col.endswith("__given"):
            base = [True]
        columns[col] = st.sampled_from(base + [None])
    row = st.fixed_dictionaries(columns)
    return st.lists(row, min_size=1, max_size=40)


def _normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Give each column one type, as the typed table would."""
    for col in frame.columns:
        non_null = [v for v in frame[col] if v is not None]
        if non_null and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in non_null):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        elif non_null and any(isinstance(v, str) for v in non_null):
            frame[col] = frame[col].map(lambda v: None if v is None else str(v)).astype(object)
    return frame


@pytest.mark.parametrize("kind", list(EXTRACTS))
def test_sql_evaluation_matches_great_expectations(kind):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rows=_frame_strategy(kind))
    def check(rows):
        frame = _normalize(pd.DataFrame(rows))
        frame.insert(0, "_row", range(1, len(frame) + 1))
        con = duckdb.connect()
        try:
            con.register("_frame", frame)
            con.execute("CREATE TABLE typed AS SELECT * FROM _frame")
            start_failures(con)
            counts = suite_sql.evaluate(con, suites.suite(kind), "typed", PARAMS)
            by_sql = set(con.execute(f"SELECT _row, rule_id FROM {FAILURES_TABLE}").fetchall())
            outcome = validate.run_suite(con.sql("SELECT * FROM typed").to_arrow_table(), kind, PARAMS)
            by_gx = {(row, rule) for row, rule, _ in outcome.failures}
            assert by_sql == by_gx
            for count in counts:
                assert count.unexpected_count == outcome.results[count.rule_id].unexpected_count
        finally:
            con.close()

    check()


def test_unsupported_expectation_is_refused():
    import great_expectations.expectations as gxe

    odd = gxe.ExpectColumnValuesToMatchRegex(column="x", regex="^a")
    with pytest.raises(suite_sql.UnsupportedExpectation):
        suite_sql.rule_sql(odd, {})


def test_row_condition_follows_pandas_null_semantics():
    from great_expectations.expectations.row_conditions import Column

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('PHQ9'), ('GAD7'), (NULL)) v(instrument)")
    def picked(cond):
        return con.execute(f"SELECT count(*) FROM t WHERE {suite_sql.condition_sql(cond)}").fetchone()[0]
    assert picked(Column("instrument") != "PHQ9") == 2  # NULL != 'PHQ9' is true in pandas
    assert picked(Column("instrument") == "PHQ9") == 1
    assert picked(Column("instrument").is_in(["PHQ9"])) == 1
    assert picked(Column("instrument").is_not_in(["PHQ9"])) == 2

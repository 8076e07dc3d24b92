"""Evaluate a Great Expectations suite over a DuckDB table, by translating each expectation to SQL.

The suites in `pipelines.load.suites` are the only definition of the row rules. GX evaluates them on
pandas, which costs seconds per million rows; a batch of ten million vitals readings would take
minutes. So the loader reads each expectation's configuration (type, column(s), bounds, value set,
row condition) and evaluates exactly that in one DuckDB pass, mirroring GX's semantics:
  - column map expectations ignore NULLs (except not_be_null / be_null);
  - row conditions follow GX's pandas engine: `!=` and `NOT IN` are true for a NULL value,
    `==`, `IN` and the orderings are false for it;
  - the pair expectation ignores rows where either value is missing.
GX stays the judge: `pipelines.load.validate.verify` runs GX itself on every row of small files and,
on big ones, on the rows SQL flagged plus a random sample of the rest, and any disagreement stops
the load. Only the expectation types the suites use are supported; any other raises at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
from great_expectations.expectations.row_conditions import (
    AndCondition,
    ComparisonCondition,
    Condition,
    NullityCondition,
    Operator,
    OrCondition,
)

from pipelines.load.integrity import FAILURES_TABLE


class UnsupportedExpectation(Exception):
    """The suite uses an expectation the SQL evaluation does not know (a programming error)."""


@dataclass
class RuleCount:
    rule_id: str
    expectation_type: str
    description: str
    element_count: int
    unexpected_count: int

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise UnsupportedExpectation(f"cannot write {value!r} as a SQL literal")


def _resolve(value, parameters: dict):
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def condition_sql(condition: Condition | None) -> str:
    """A row condition as SQL, true exactly where GX's pandas engine selects the row."""
    if condition is None:
        return "true"
    if isinstance(condition, NullityCondition):
        return f"({_ident(condition.column.name)} IS {'' if condition.is_null else 'NOT '}NULL)"
    if isinstance(condition, AndCondition):
        return "(" + " AND ".join(condition_sql(c) for c in condition.conditions) + ")"
    if isinstance(condition, OrCondition):
        return "(" + " OR ".join(condition_sql(c) for c in condition.conditions) + ")"
    if isinstance(condition, ComparisonCondition):
        col, op, value = _ident(condition.column.name), Operator(condition.operator), condition.parameter
        if op is Operator.IN:
            return f"coalesce({col} IN ({', '.join(_literal(v) for v in value)}), false)"
        if op is Operator.NOT_IN:
            return f"({col} IS NULL OR {col} NOT IN ({', '.join(_literal(v) for v in value)}))"
        if op is Operator.NOT_EQUAL:
            return f"({col} IS DISTINCT FROM {_literal(value)})"
        return f"coalesce({col} {op.value if op is not Operator.EQUAL else '='} {_literal(value)}, false)"
    raise UnsupportedExpectation(f"row condition {condition!r} is not supported")


def rule_sql(expectation, parameters: dict) -> tuple[str, str]:
    """(rows in the expectation's domain, rows it finds unexpected) as SQL predicates."""
    kind = expectation.expectation_type
    domain = condition_sql(expectation.row_condition)
    if kind == "expect_column_values_to_not_be_null":
        return domain, f"{_ident(expectation.column)} IS NULL"
    if kind == "expect_column_values_to_be_null":
        return domain, f"{_ident(expectation.column)} IS NOT NULL"
    if kind == "expect_column_values_to_be_between":
        col = _ident(expectation.column)
        low, high = _resolve(expectation.min_value, parameters), _resolve(expectation.max_value, parameters)
        ok = []
        if low is not None:
            ok.append(f"{col} {'>' if expectation.strict_min else '>='} {_literal(low)}")
        if high is not None:
            ok.append(f"{col} {'<' if expectation.strict_max else '<='} {_literal(high)}")
        return domain, f"{col} IS NOT NULL AND NOT ({' AND '.join(ok) or 'true'})"
    if kind == "expect_column_values_to_be_in_set":
        col = _ident(expectation.column)
        values = ", ".join(_literal(v) for v in _resolve(expectation.value_set, parameters))
        return domain, f"{col} IS NOT NULL AND {col} NOT IN ({values})"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        if expectation.ignore_row_if != "either_value_is_missing":
            raise UnsupportedExpectation(f"{kind} with ignore_row_if={expectation.ignore_row_if!r}")
        a, b = _ident(expectation.column_A), _ident(expectation.column_B)
        relation = ">=" if expectation.or_equal else ">"
        return f"{domain} AND {a} IS NOT NULL AND {b} IS NOT NULL", f"NOT ({a} {relation} {b})"
    raise UnsupportedExpectation(f"{kind} is not supported by the SQL evaluation")


def evaluate(con: duckdb.DuckDBPyConnection, suite, table: str, parameters: dict) -> list[RuleCount]:
    """Count each expectation's domain and unexpected rows in one pass, and add every unexpected
    row to the failures table with the expectation's rule id and description."""
    compiled = [(e, *rule_sql(e, parameters)) for e in suite.expectations]
    aggregates = []
    for i, (_, domain, unexpected) in enumerate(compiled):
        aggregates.append(f"count(*) FILTER (WHERE {domain}) AS d{i}")
        aggregates.append(f"count(*) FILTER (WHERE ({domain}) AND ({unexpected})) AS u{i}")
    row = con.execute(f"SELECT {', '.join(aggregates)} FROM {table}").fetchone()
    counts = []
    failing = []
    for i, (e, domain, unexpected) in enumerate(compiled):
        count = RuleCount(e.meta["rule_id"], e.expectation_type, e.description, row[2 * i], row[2 * i + 1])
        counts.append(count)
        if count.unexpected_count:
            failing.append((e, domain, unexpected))
    for e, domain, unexpected in failing:
        con.execute(
            f"INSERT INTO {FAILURES_TABLE} SELECT _row, ?, ?, false FROM {table} "
            f"WHERE ({domain}) AND ({unexpected})",
            [e.meta["rule_id"], e.description],
        )
    return counts

"""Evaluate an extract's expectation suite with Great Expectations on the rows the loader re-checks.

GX runs on pandas and is the judge of the SQL evaluation (`pipelines.load.suite_sql`): the loader
hands it at most 50,000 rows of a file (`prepare_check`), validated once with the COMPLETE result
format, which lists each failing expectation's rows (by `_row`). GX's time goes into setting up each
expectation, not into the rows, so this one pass costs what a count-only pass costs; on the bundled
sample it took GX's time from 4.9 s to 2.9 s against a count-only pass plus one pass per failing rule.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import duckdb  # noqa: E402
import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from pipelines.load import suites  # noqa: E402

for _name in ("great_expectations", "great_expectations.core", "great_expectations.expectations"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class SuiteError(Exception):
    """An expectation could not be evaluated at all (a bug, not bad data)."""


@dataclass
class RuleResult:
    rule_id: str
    expectation_type: str
    description: str
    element_count: int = 0
    unexpected_count: int = 0

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0


@dataclass
class SuiteOutcome:
    suite: str
    results: dict[str, RuleResult] = field(default_factory=dict)
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # (_row, rule_id, description)


@functools.cache
def _batch_definition():
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("extract_rows")
    asset = source.add_dataframe_asset("typed_rows")
    return asset.add_batch_definition_whole_dataframe("chunk")


_COMPLETE = {"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"],
             "return_unexpected_index_query": False}


def run_suite(rows, kind: str, parameters: dict) -> SuiteOutcome:
    """The kind's suite over an Arrow table of typed rows (every typed column: expectations read some,
    row conditions others, e.g. `status`, `x__given`). Needs no DuckDB connection, so it runs in any
    thread. It lists every failing row of every rule at once: meant for the re-check's few rows."""
    suite = suites.suite(kind)
    outcome = SuiteOutcome(suite=suite.name)
    for e in suite.expectations:
        outcome.results[e.meta["rule_id"]] = RuleResult(e.meta["rule_id"], e.expectation_type, e.description)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": rows.to_pandas()})
    validation = batch.validate(suite, result_format=_COMPLETE, expectation_parameters=parameters)
    for result in validation.results:
        _raise_if_broken(result)
        rule = outcome.results[result.expectation_config.meta["rule_id"]]
        rule.element_count += int(result.result.get("element_count") or 0)
        rule.unexpected_count += int(result.result.get("unexpected_count") or 0)
        for item in result.result.get("unexpected_index_list") or []:
            outcome.failures.append((int(item["_row"]), rule.rule_id, rule.description))
    return outcome


def _raise_if_broken(result) -> None:
    info = result.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        raise SuiteError(f"{result.expectation_config.type} could not run: {info.get('exception_message')}")
    if isinstance(info, dict):
        for value in info.values():
            if isinstance(value, dict) and value.get("raised_exception"):
                raise SuiteError(
                    f"{result.expectation_config.type} could not run: {value.get('exception_message')}"
                )


FULL_CHECK_ROWS = 50_000  # files up to this size are validated by GX row for row
SAMPLE_ROWS = 10_000  # on bigger files: this many flagged rows and this many others


@dataclass
class Check:
    """GX's re-check of one file, ready to run: the rows it covers and what the SQL evaluation found on
    them. `run()` needs no DuckDB connection, so the loader runs it in a thread while DuckDB goes on
    with the next file (Python's GX and DuckDB's threads then share the two cores)."""

    kind: str
    rows: object  # pyarrow.Table of the typed rows GX checks
    parameters: dict
    by_sql: set[tuple[int, str]]

    @property
    def checked(self) -> int:
        return self.rows.num_rows

    def run(self) -> int:
        """Raise SuiteError when GX and the SQL evaluation disagree; return the rows checked."""
        outcome = run_suite(self.rows, self.kind, self.parameters)
        by_gx = {(row, rule) for row, rule, _ in outcome.failures}
        if by_gx != self.by_sql:
            row, rule = sorted(by_gx ^ self.by_sql)[0]
            side = "Great Expectations" if (row, rule) in by_gx else "the SQL evaluation"
            raise SuiteError(
                f"{self.kind}: only {side} finds row {row} breaking {rule}; the SQL evaluation of the suite "
                "disagrees with Great Expectations, so nothing was published"
            )
        return self.checked


def prepare_check(con: duckdb.DuckDBPyConnection, kind: str, table: str, parameters: dict,
                  failures_table: str) -> Check:
    """Pick the rows GX re-checks (all of them, or on a big file every rule's flagged rows up to
    SAMPLE_ROWS plus a random SAMPLE_ROWS of the others) and fetch them with the SQL's findings."""
    rule_ids = [e.meta["rule_id"] for e in suites.suite(kind).expectations]
    total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if total <= FULL_CHECK_ROWS:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _gx_rows AS SELECT _row FROM {table}")
    else:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _gx_rows AS
            WITH flagged AS (SELECT DISTINCT _row FROM {failures_table} WHERE list_contains(?, rule_id))
            SELECT _row FROM (SELECT _row FROM flagged USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7))
            UNION
            SELECT _row FROM (SELECT _row FROM {table} WHERE _row NOT IN (SELECT _row FROM flagged))
                 USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)
            """,
            [rule_ids],
        )
    # Every typed column: expectations read some, row conditions others (e.g. `status`, `x__given`).
    rows = con.sql(f"SELECT * FROM {table} WHERE _row IN (SELECT _row FROM _gx_rows)").to_arrow_table()
    by_sql = set(con.execute(
        f"SELECT _row, rule_id FROM {failures_table} "
        "WHERE _row IN (SELECT _row FROM _gx_rows) AND list_contains(?, rule_id)",
        [rule_ids],
    ).fetchall())
    con.execute("DROP TABLE _gx_rows")
    return Check(kind, rows, parameters, by_sql)


def verify(con: duckdb.DuckDBPyConnection, kind: str, table: str, parameters: dict, failures_table: str) -> int:
    """Run GX itself over the file's rows (see prepare_check) and check that it finds exactly the
    failures the SQL evaluation found on those rows. Returns how many rows GX checked."""
    return prepare_check(con, kind, table, parameters, failures_table).run()

"""Evaluate an extract's expectation suite with Great Expectations, chunk by chunk.

GX runs on pandas. To keep memory bounded the typed rows of a whole table are streamed from DuckDB in
chunks of a million; each chunk is validated with the SUMMARY result format (counts only), and only
the expectations that failed on it are validated again with COMPLETE to learn which rows (by `_row`)
broke them. The loader's re-check (`Check`) validates at most 50,000 rows, where a list of failing
rows per expectation is small: it runs COMPLETE once over the whole suite instead, which costs what
the SUMMARY pass alone costs (GX's time goes into each expectation's set-up, not into the rows).
"""

from __future__ import annotations

import functools
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import duckdb  # noqa: E402
import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from pipelines.load import suites  # noqa: E402

CHUNK_ROWS = 1_000_000

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


def run_suite(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    table: str,
    parameters: dict,
    chunk_rows: int = CHUNK_ROWS,
    on_chunk: Callable[[int], None] | None = None,
) -> SuiteOutcome:
    # Every typed column: expectations read some, row conditions others (e.g. `status`, `x__given`).
    reader = con.sql(f"SELECT * FROM {table}").to_arrow_reader(chunk_rows)
    return run_suite_on(_rebatch(reader, chunk_rows), kind, parameters, on_chunk)


_COMPLETE = {"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"],
             "return_unexpected_index_query": False}


def run_suite_on(
    chunks: Iterable, kind: str, parameters: dict, on_chunk: Callable[[int], None] | None = None,
    one_pass: bool = False,
) -> SuiteOutcome:
    """The suite over Arrow tables of typed rows; no DuckDB connection needed (runs in any thread).
    `one_pass`: each chunk is validated once, with COMPLETE, instead of with SUMMARY and then with
    COMPLETE for each expectation that failed. Only for small chunks: it lists every failing row of
    every rule at once."""
    suite = suites.suite(kind)
    outcome = SuiteOutcome(suite=suite.name)
    for e in suite.expectations:
        outcome.results[e.meta["rule_id"]] = RuleResult(e.meta["rule_id"], e.expectation_type, e.description)
    by_rule = {e.meta["rule_id"]: e for e in suite.expectations}
    batch_definition = _batch_definition()
    for chunk in chunks:
        frame = chunk.to_pandas()
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        first = batch.validate(suite, result_format=_COMPLETE if one_pass else "SUMMARY",
                               expectation_parameters=parameters)
        failed = []
        for result in first.results:
            _raise_if_broken(result)
            rule = outcome.results[result.expectation_config.meta["rule_id"]]
            rule.element_count += int(result.result.get("element_count") or 0)
            rule.unexpected_count += int(result.result.get("unexpected_count") or 0)
            if result.success:
                continue
            if one_pass:
                _add_failures(outcome, by_rule[rule.rule_id], result)
            else:
                failed.append(by_rule[rule.rule_id])
        for expectation in failed:
            detail = batch.validate(expectation, result_format=_COMPLETE, expectation_parameters=parameters)
            _raise_if_broken(detail)
            _add_failures(outcome, expectation, detail)
        if on_chunk:
            on_chunk(len(frame))
    return outcome


def _add_failures(outcome: SuiteOutcome, expectation, result) -> None:
    rule_id = expectation.meta["rule_id"]
    for item in result.result.get("unexpected_index_list") or []:
        outcome.failures.append((int(item["_row"]), rule_id, expectation.description))


def _rebatch(reader, rows: int):
    """DuckDB hands out record batches of its own size; gather them into chunks of ~`rows`."""
    import pyarrow as pa

    pending, count = [], 0
    for batch in reader:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


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
        outcome = run_suite_on([self.rows], self.kind, self.parameters, one_pass=True)
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

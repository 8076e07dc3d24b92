"""Evaluate an extract's expectation suite with Great Expectations, chunk by chunk.

GX runs on pandas. To keep memory bounded the typed rows are streamed from DuckDB in chunks; each
chunk is validated with the SUMMARY result format (counts only, cheap), and only the expectations
that failed on it are validated again with COMPLETE to learn which rows (by `_row`) broke them.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import defaultdict
from collections.abc import Callable
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
    suite = suites.suite(kind)
    outcome = SuiteOutcome(suite=suite.name)
    for e in suite.expectations:
        outcome.results[e.meta["rule_id"]] = RuleResult(e.meta["rule_id"], e.expectation_type, e.description)
    # Every typed column: expectations read some, row conditions others (e.g. `status`, `x__given`).
    reader = con.sql(f"SELECT * FROM {table}").to_arrow_reader(chunk_rows)
    batch_definition = _batch_definition()
    for record_batch in _rebatch(reader, chunk_rows):
        frame = record_batch.to_pandas()
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        summary = batch.validate(suite, result_format="SUMMARY", expectation_parameters=parameters)
        failed = []
        for result in summary.results:
            _raise_if_broken(result)
            rule = outcome.results[result.expectation_config.meta["rule_id"]]
            rule.element_count += int(result.result.get("element_count") or 0)
            rule.unexpected_count += int(result.result.get("unexpected_count") or 0)
            if not result.success:
                failed.append(result.expectation_config)
        for config in failed:
            expectation = next(e for e in suite.expectations if e.meta["rule_id"] == config.meta["rule_id"])
            detail = batch.validate(
                expectation,
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"],
                               "return_unexpected_index_query": False},
                expectation_parameters=parameters,
            )
            _raise_if_broken(detail)
            rule_id = expectation.meta["rule_id"]
            for item in detail.result.get("unexpected_index_list") or []:
                outcome.failures.append((int(item["_row"]), rule_id, expectation.description))
        if on_chunk:
            on_chunk(len(frame))
    return outcome


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

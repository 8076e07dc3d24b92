"""The typing select's shortcuts give exactly what the plain rules give.

`typing._aware` skips the offset regular expression for values that could not match it; these tests
compare it with the expression it replaces (regular expression, then cast) on tricky values and on
random timestamp-like text.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.load import typing

PLAIN_AWARE = (f"CASE WHEN regexp_full_match(v, '{typing._ISO_OFFSET}') "
               "THEN try_cast(upper(v) AS TIMESTAMPTZ) END")


def _both(values: list[str | None]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", pa.table({"i": list(range(len(values))), "v": pa.array(values, pa.string())}))
    return con.execute(f"SELECT i, v, {typing._aware('v')} AS fast, {PLAIN_AWARE} AS plain FROM t ORDER BY i").fetchall()


@pytest.mark.parametrize("value", [
    "2026-10-05T14:00Z", "2026-10-05T14:00z", "2026-10-05 14:00:00+00:00", "2026-10-05T09:00:00-05:00",
    "2026-10-05 09:00-0500", "2026-10-05T09:00:00.123456-05", "2026-10-05T09:00:00+05:30",
    "2026-10-05 09:00", "2026-10-05T09:00:00", "10/05/2026 09:00", "2026-10-05", "-026-10-05 09:00",
    "2026-10-05 09:00 Z", "Z", "+", "2026-10-05+09:00", "2026-10-0509:00-05:00", "2026-10-05T25:00Z", "",
    None,
])
def test_the_offset_shortcut_reads_each_value_as_the_rule_does(value):
    [(_, _, fast, plain)] = _both([value])
    assert fast == plain


TIMESTAMP_LIKE = st.text(alphabet="0123456789-:+ TtZz./", max_size=32)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(TIMESTAMP_LIKE, st.text(max_size=20)), min_size=1, max_size=50))
def test_the_offset_shortcut_never_changes_a_reading(values):
    for _, value, fast, plain in _both(values):
        assert fast == plain, value


def test_the_shortcut_still_reads_offsets():
    # The property above would also hold if both sides were always NULL: make sure they are not.
    rows = _both(["2026-10-05T09:00:00-05:00", "2026-10-05T14:00Z", "2026-10-05 09:00"])
    assert [r[2] is not None for r in rows] == [True, True, False]

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import filters as flt
from dashboard.filters import FilterOptions, Filters

OPTIONS = FilterOptions(
    clinics={"OKC": "Oklahoma City", "NYC": "New York", "DEN": "Denver"},
    modalities=["iv_ketamine", "im_ketamine", "esketamine_nasal"],
    indications=["mdd", "ptsd"],
    data_start=dt.date(2025, 1, 1),
    data_end=dt.date(2026, 6, 30),
)


def test_default_period_is_the_last_full_quarter_in_the_data():
    p = flt.default_period(dt.date(2025, 1, 1), dt.date(2026, 6, 30))
    assert (p.start, p.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert p.label.startswith("Q2 2026")
    # data ending mid-quarter: the quarter before
    p = flt.default_period(dt.date(2025, 1, 1), dt.date(2026, 8, 14))
    assert (p.start, p.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    # Q4 boundaries
    p = flt.default_period(dt.date(2020, 1, 1), dt.date(2026, 1, 10))
    assert (p.start, p.end) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


def test_default_period_is_the_data_range_when_shorter_than_a_quarter():
    p = flt.default_period(dt.date(2026, 5, 3), dt.date(2026, 6, 30))
    assert (p.start, p.end) == (dt.date(2026, 5, 3), dt.date(2026, 6, 30))
    assert "whole data range" in p.label
    assert flt.default_period(None, None).start is None


def test_valid_link_is_read_whole():
    params = {"clinic": ["OKC", "NYC"], "start": ["2025-03-01"], "end": ["2025-05-31"],
              "modality": ["iv_ketamine"], "indication": ["ptsd"]}
    f, messages = flt.from_query_params(params, OPTIONS)
    assert messages == []
    assert f == Filters(("OKC", "NYC"), dt.date(2025, 3, 1), dt.date(2025, 5, 31), ("iv_ketamine",), ("ptsd",))
    assert flt.to_query_params(f) == {"clinic": ["OKC", "NYC"], "start": "2025-03-01", "end": "2025-05-31",
                                      "modality": ["iv_ketamine"], "indication": ["ptsd"]}


def test_no_link_gives_the_default_period():
    f, messages = flt.from_query_params({}, OPTIONS)
    assert messages == []
    assert (f.start, f.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert f.clinics == () and f.modalities == () and f.indications == ()


def test_unknown_values_are_ignored_with_a_message():
    params = {"clinic": ["OKC", "XYZ", "'; drop table raw.sessions; --"], "modality": ["laughing_gas"],
              "indication": ["<script>alert(1)</script>"]}
    f, messages = flt.from_query_params(params, OPTIONS)
    assert f.clinics == ("OKC",) and f.modalities == () and f.indications == ()
    assert len(messages) == 3
    assert any("clinic" in m and "XYZ" in m for m in messages)


def test_bad_dates_are_ignored_with_a_message():
    f, messages = flt.from_query_params({"start": ["2025-13-01"], "end": ["yesterday"]}, OPTIONS)
    assert (f.start, f.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert len(messages) == 2 and all("YYYY-MM-DD" in m for m in messages)


def test_reversed_period_is_ignored():
    f, messages = flt.from_query_params({"start": ["2025-06-01"], "end": ["2025-03-01"]}, OPTIONS)
    assert (f.start, f.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert "after it ends" in messages[0]


def test_period_outside_the_data_is_clipped_or_replaced():
    f, messages = flt.from_query_params({"start": ["2024-11-01"], "end": ["2025-02-28"]}, OPTIONS)
    assert (f.start, f.end) == (dt.date(2025, 1, 1), dt.date(2025, 2, 28))
    assert "clipped" in messages[0]
    f, messages = flt.from_query_params({"start": ["2030-01-01"], "end": ["2030-02-01"]}, OPTIONS)
    assert (f.start, f.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert "outside the data" in messages[0]


def test_oversized_links_are_cut_not_crashed():
    params = {"clinic": [f"C{i}" for i in range(5000)] + ["OKC"], "start": ["x" * 10_000]}
    f, messages = flt.from_query_params(params, OPTIONS)
    assert f.clinics == ()
    assert any("more than" in m for m in messages)


def test_scope_limits_what_a_link_can_ask_for():
    f, messages = flt.from_query_params({"clinic": ["OKC", "NYC"]}, OPTIONS, allowed_clinics=["OKC"])
    assert f.clinics == ("OKC",)
    assert messages


@pytest.mark.parametrize("start, end, previous_start, previous_end", [
    # whole calendar months: the previous months, so Q2 reconciles with Q1's report (it was 31 Dec - 31 Mar)
    ((2026, 4, 1), (2026, 6, 30), (2026, 1, 1), (2026, 3, 31)),
    ((2026, 3, 1), (2026, 3, 31), (2026, 2, 1), (2026, 2, 28)),
    ((2026, 1, 1), (2026, 1, 31), (2025, 12, 1), (2025, 12, 31)),
    ((2025, 7, 1), (2026, 6, 30), (2024, 7, 1), (2025, 6, 30)),
    ((2024, 3, 1), (2024, 3, 31), (2024, 2, 1), (2024, 2, 29)),
    # any other period: the same number of days just before
    ((2026, 4, 2), (2026, 6, 30), (2026, 1, 2), (2026, 4, 1)),
    ((2026, 6, 16), (2026, 6, 30), (2026, 6, 1), (2026, 6, 15)),
])
def test_previous_period(start, end, previous_start, previous_end):
    prev = Filters(start=dt.date(*start), end=dt.date(*end)).previous()
    assert (prev.start, prev.end) == (dt.date(*previous_start), dt.date(*previous_end))


dates = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2026, 6, 30))


@given(
    clinics=st.lists(st.sampled_from(sorted(OPTIONS.clinics)), unique=True),
    modalities=st.lists(st.sampled_from(list(OPTIONS.modalities)), unique=True),
    indications=st.lists(st.sampled_from(list(OPTIONS.indications)), unique=True),
    a=dates, b=dates,
)
def test_url_round_trip(clinics, modalities, indications, a, b):
    f = Filters(tuple(clinics), min(a, b), max(a, b), tuple(modalities), tuple(indications))
    back, messages = flt.from_query_params(flt.to_query_params(f), OPTIONS)
    assert messages == []
    assert back == f


@given(st.dictionaries(st.sampled_from(list(flt.URL_PARAMS) + ["other"]),
                       st.lists(st.text(max_size=80), max_size=5), max_size=6))
def test_any_link_gives_valid_filters(params):
    f, messages = flt.from_query_params(params, OPTIONS)
    assert set(f.clinics) <= set(OPTIONS.clinics)
    assert set(f.modalities) <= set(OPTIONS.modalities)
    assert set(f.indications) <= set(OPTIONS.indications)
    assert f.start is not None and f.end is not None and f.start <= f.end
    assert OPTIONS.data_start <= f.start and f.end <= OPTIONS.data_end

"""Board-pack periods (pure) and the key figures in words, for every chart of the catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import queries
from dashboard.charts import catalog
from dashboard.exports import keyfigures
from dashboard.exports import period as per
from dashboard.filters import Filters
from dashboard.scope import Scope


@pytest.mark.parametrize("text, start, end, label, slug", [
    ("2025Q3", dt.date(2025, 7, 1), dt.date(2025, 9, 30), "Q3 2025", "2025Q3"),
    ("2025-q4", dt.date(2025, 10, 1), dt.date(2025, 12, 31), "Q4 2025", "2025Q4"),
    ("Q1 2026", dt.date(2026, 1, 1), dt.date(2026, 3, 31), "Q1 2026", "2026Q1"),
    ("2025-07", dt.date(2025, 7, 1), dt.date(2025, 7, 31), "July 2025", "2025-07"),
    ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "February 2024", "2024-02"),
    ("2025-12", dt.date(2025, 12, 1), dt.date(2025, 12, 31), "December 2025", "2025-12"),
])
def test_periods(text, start, end, label, slug):
    p = per.parse(text)
    assert (p.start, p.end, p.label, p.slug) == (start, end, label, slug)


@pytest.mark.parametrize("text", ["2025Q5", "2025-13", "2025", "Q3", "July 2025", "", "1800Q1", "2025-7-1"])
def test_bad_periods_say_what_is_expected(text):
    with pytest.raises(per.PeriodError):
        per.parse(text)


@pytest.mark.parametrize("start, end", [
    (dt.date(1, 1, 1), dt.date(9999, 12, 31)),  # drew a chart of every week for 4 minutes, then timed out
    (dt.date(2015, 3, 31), dt.date(2025, 3, 31)),  # a day more than ten years
])
def test_a_custom_period_covers_at_most_ten_years(start, end):
    with pytest.raises(per.PeriodError, match="at most 10 years"):
        per.custom(start, end)


def test_custom_and_listed_periods():
    p = per.custom(dt.date(2025, 7, 1), dt.date(2025, 8, 15))
    assert p.label == "1 Jul – 15 Aug 2025" and p.slug == "2025-07-01_2025-08-15"
    with pytest.raises(per.PeriodError):
        per.custom(dt.date(2025, 8, 1), dt.date(2025, 7, 1))
    ten_years = per.custom(dt.date(2015, 4, 1), dt.date(2025, 3, 31))  # 3,653 days: the longest allowed
    assert (ten_years.end - ten_years.start).days + 1 == per.MAX_DAYS
    quarters = per.quarters_between(dt.date(2025, 1, 1), dt.date(2026, 6, 30))
    assert [q.slug for q in quarters] == ["2026Q2", "2026Q1", "2025Q4", "2025Q3", "2025Q2", "2025Q1"]
    assert [m.slug for m in per.months_between(dt.date(2025, 11, 15), dt.date(2026, 1, 3))] == \
        ["2026-01", "2025-12", "2025-11"]


def _pack_sentences(filters):
    """(chart, its suppressed data, its key-figure lines) for every chart a board pack can hold."""
    for spec in catalog.CATALOG:
        if spec.page == "Planning":  # never in packs (boardpack.in_packs)
            continue
        result = spec.suppressed(spec.data(Scope.everything(), filters, **spec.defaults))
        yield spec, result, keyfigures.sentences(spec.id, result.data, spec.defaults)


@pytest.mark.parametrize("filters", [
    Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30)),
    Filters(clinics=("DEN",), start=dt.date(2026, 6, 17), end=dt.date(2026, 6, 30)),
    Filters(clinics=("DEN",), start=dt.date(2025, 1, 5), end=dt.date(2025, 1, 5)),  # nothing at all
], ids=["quarter", "two-weeks", "nothing"])
def test_key_figures_of_every_chart(filters, sample_db, use_db):
    use_db(sample_db)
    for spec, result, lines in _pack_sentences(filters):
        assert spec.id in keyfigures.WRITERS
        for line in lines:
            assert "nan" not in line.lower().split() and "None" not in line.replace("None needed", "") and "—" not in line, (spec.id, line)
        if filters.clinics == () and spec.id == "outcomes.rates_by_instrument":  # rates with intervals and n
            phq = result.data.set_index("instrument").loc["PHQ9"]
            n = int(phq["evaluable"])
            expected = (f"PHQ-9: response {phq['response_rate']:.0%} ({phq['response_ci_low'] * 100:.0f}–"
                        f"{phq['response_ci_high']:.0%}, n={n:,}), remission {phq['remission_rate']:.0%} "
                        f"({phq['remission_ci_low'] * 100:.0f}–{phq['remission_ci_high']:.0%}, n={n:,})")
            assert n >= 100 and any(line.startswith(expected) for line in lines), (expected, lines)
        if filters.clinics == () and spec.id == "boosters.per_patient_year":  # lowest and highest with intervals
            clinics = result.data["clinics"]
            for row in (clinics.loc[clinics["boosters_per_patient_year"].idxmin()],
                        clinics.loc[clinics["boosters_per_patient_year"].idxmax()]):
                expected = (f"{row['clinic_name']} {row['boosters_per_patient_year']:.2f} "
                            f"(95% CI {row['ci_low']:.2f}–{row['ci_high']:.2f})")
                assert any(expected in line for line in lines), (expected, lines)


def test_peak_chairs_key_figure_says_how_many_names_it_leaves_out():
    """An 8-clinic pack said "8 of 8 clinics used every chair at once: Boston Ketamine Institute, Denver
    Ketamine Institute, Interventional Psychiatry, Tulsa, Ketamine Institute, New York": four names (or
    six, by the commas), read as the whole list."""
    import pandas as pd

    names = ["Boston Ketamine Institute", "Denver Ketamine Institute", "Interventional Psychiatry, Tulsa",
             "Ketamine Institute, New York", "Los Angeles Mood & Wellness", "Oklahoma City Interventional Psychiatry",
             "Phoenix Ketamine Center", "Salt Lake City Mood & Wellness"]
    df = pd.DataFrame({"clinic_id": [f"C{i}" for i in range(8)], "clinic_name": names,
                       "chairs": [7, 4, 9, 8, 9, 8, 6, 5], "peak_concurrent_chairs": [7, 4, 9, 8, 9, 8, 6, 5]})
    (line,) = keyfigures.sentences("capacity.peak_chairs", df, {})
    assert line == ("8 of 8 clinics used every chair at once: Boston Ketamine Institute; Denver Ketamine Institute; "
                    "Interventional Psychiatry, Tulsa; Ketamine Institute, New York; and 4 more")
    (one,) = keyfigures.sentences("capacity.peak_chairs", df.head(1), {})
    assert one == "1 of 1 clinic used every chair at once: Boston Ketamine Institute"


def test_peak_chairs_key_figures_say_for_how_long_every_chair_was_in_use():
    """Over a quarter every clinic reached its chairs once ("3 of 3 clinics used every chair at once"), and on
    nearly every open day: the pack names the clinics longest full, with their chairs and utilization (at the same
    utilization a clinic of 3 chairs fills all of them far longer than one of 8); a clinic whose figures the
    cell-size rule hid is left out, not shown as 0%."""
    import pandas as pd

    df = pd.DataFrame({"clinic_id": ["A", "B", "C", "D"], "clinic_name": ["Austin", "Boston", "Chicago", "Denver"],
                       "chairs": [4, 6, 8, 5], "peak_concurrent_chairs": [4, 6, 7, 5], "open_days": [65, 78, 65, 0],
                       "full_days": [13, 60, 0, None], "full_hours": [30.0, 181.5, 0.0, None],
                       "full_time_share": [0.05, 0.26, 0.0, None], "utilization": [0.7, 0.72, 0.69, None]})
    first, longest = keyfigures.sentences("capacity.peak_chairs", df, {})
    assert first.startswith("3 of 4 clinics used every chair at once")
    assert longest == ("Longest with every chair in use: Boston 26% of open hours (6 chairs, utilization 72%); "
                       "Austin 5.0% of open hours (4 chairs, utilization 70%); "
                       "Chicago 0% of open hours (8 chairs, utilization 69%). A clinic with fewer chairs fills all "
                       "of them more often at the same utilization.")


def test_funnel_key_figure_of_one_clinic_shown_is_singular():
    """A pack whose other clinics' counts were hidden said '1 clinics shown'."""
    import pandas as pd

    clinics = pd.DataFrame({"clinic_name": ["Denver", "Tulsa"], "n": [120, 8], "events": [60, None],
                            "rate": [0.5, None], "network_rate": [0.52] * 2, "network_events": [66] * 2,
                            "network_n": [128] * 2, "outside_998": [False, None]})
    lines = keyfigures.sentences("outcomes.clinic_funnel", {"clinics": clinics, "limits": pd.DataFrame()}, {})
    assert "1 clinic shown, 0 outside the 99.8% limits; 1 with its rate not shown (small counts)" in lines
    two = clinics.assign(rate=[0.5, 0.75], events=[60, 6], outside_998=[False, False])
    assert "2 clinics shown, 0 outside the 99.8% limits" in keyfigures.sentences(
        "outcomes.clinic_funnel", {"clinics": two, "limits": pd.DataFrame()}, {})


def test_funnel_key_figures_name_the_clinics_outside_the_limits_95_included():
    """A pack said '8 clinics shown, 0 outside the 99.8% limits' and never named Phoenix, outside the 95%
    limits (medical-director audit). Clinics outside 95% only are named too, as possibly chance."""
    import pandas as pd

    clinics = pd.DataFrame({"clinic_name": ["Phoenix", "Tulsa", "Boston"], "n": [271, 300, 280],
                            "events": [141, 180, 170], "rate": [0.520, 0.600, 0.607], "network_rate": [0.589] * 3,
                            "network_events": [491] * 3, "network_n": [851] * 3,
                            "outside_95": [True, False, False], "outside_998": [False, False, False]})
    lines = keyfigures.sentences("outcomes.clinic_funnel", {"clinics": clinics, "limits": pd.DataFrame()}, {})
    assert "3 clinics shown, 0 outside the 99.8% limits, 1 outside 95% only" in lines
    assert "Phoenix: 52.0% (141 of 271), outside 95% only: may be chance" in lines
    assert not any("Tulsa" in line for line in lines)


def test_key_figures_name_courses_still_in_induction_and_rate_the_others():
    """June's courses, when the data ends on 30 June, read '18% completed induction' (65 of 364); the
    rate is over the courses whose induction has ended and the others are counted apart."""
    import pandas as pd

    months = pd.DataFrame({"group_value": ["2026-05", "2026-06"], "courses": [414, 364],
                           "completed_induction": [212, 65], "still_in_induction": [0, 247],
                           "induction_ended": [414, 117], "induction_completion_rate": [212 / 414, 65 / 117],
                           "induction_completion_ci_low": [0.46, 0.46], "induction_completion_ci_high": [0.56, 0.65]})
    may, june = keyfigures.sentences("overview.courses_by_month", months, {})
    assert may == "May 2026: 414 courses, 51% (46–56%, n=414) completed induction"
    assert june == "Jun 2026: 364 courses, 56% (46–65%, n=117) completed induction, 247 still in induction"
    funnel = pd.DataFrame({"modality_family": ["ketamine"] * 2, "session_number": [1, 2], "courses_reaching": [10, 8],
                           "courses": [10, 10], "share_of_courses": [1.0, 0.8], "still_in_induction": [3, 3]})
    (line,) = keyfigures.sentences("outcomes.induction_funnel", funnel, {})
    assert line.endswith("(8 of 10); 3 still in induction")


BROKEN = ("not shown of", "of not shown", "n=not shown", "not shown courses", "not shown completed", "not shown sessions",
          "not shown boosters", "not shown rows", "not shown no-shows", "not shown cancellations", "not shown)",
          "counts) (", " 1 clinics", " 1 groups", " 1 months", " 1 rows", "(1 boosters", "(1 sessions")


def test_key_figures_print_counts_shown_and_say_what_is_hidden_in_words():
    """A one-clinic pack read "Sep 2026: not shown courses, not shown completed induction", an 8-clinic one
    "Aug 2026: 800 courses, not shown completed induction" (365 completed were drawn; only the rate was
    hidden), and elsewhere "not shown of 53 courses evaluable", "With both (n=not shown)"."""
    import pandas as pd

    months = pd.DataFrame({"group_value": ["2026-07", "2026-08", "2026-09"], "courses": [1016, 800, None],
                           "completed_induction": [494, 365, None], "still_in_induction": [0, None, None],
                           "induction_ended": [1016, None, None], "induction_completion_rate": [494 / 1016, None, None],
                           "induction_completion_ci_low": [0.46, None, None], "induction_completion_ci_high": [0.52, None, None]})
    jul, aug, sep = keyfigures.sentences("overview.courses_by_month", months, {})
    assert jul == "Jul 2026: 1,016 courses, 49% (46–52%, n=1,016) completed induction"
    assert aug == "Aug 2026: 800 courses, 365 completed induction, completion rate not shown (small counts)"
    assert sep == "Sep 2026: courses and completion not shown (small counts)"
    evaluability = pd.DataFrame({"instrument": ["PHQ9", "GAD7"], "courses": [53, None], "evaluable": [None, None]})
    assert keyfigures.sentences("outcomes.evaluability", evaluability, {}) == [
        "PHQ-9: 53 courses, evaluable courses not shown (small counts)",
        "GAD-7: evaluable courses not shown (small counts)"]
    item9 = pd.DataFrame({"courses_with_baseline_item9": [51], "flagged_at_baseline": [22], "baseline_flag_rate": [22 / 51],
                          "courses_with_follow_up_item9": [38], "flagged_at_follow_up": [None], "follow_up_flag_rate": [None],
                          "courses_with_both": [None], "resolved": [None], "emerged": [None], "persisted": [None]})
    assert keyfigures.sentences("outcomes.item9", item9, {}) == [
        "Flagged at baseline: 43% (22 of 51)", "Flagged at follow-up: not shown (small counts; n=38)",
        "With both: not shown (small counts)"]
    lost = pd.DataFrame({"clinic_name": ["Tulsa"], "lost_share": [0.05], "no_show_sessions": [12], "cancelled_sessions": [None]})
    assert keyfigures.sentences("capacity.lost", lost, {}) == [
        "Tulsa: 5.0% of chair-hours lost (12 no-shows; the rest not shown (small counts))"]


@pytest.mark.parametrize("filters", [
    Filters(clinics=("DEN",), start=dt.date(2026, 6, 17), end=dt.date(2026, 6, 30)),
    Filters(clinics=("DEN",), start=dt.date(2024, 11, 1), end=dt.date(2024, 11, 30)),
], ids=["two-weeks", "first-month"])
def test_key_figures_of_small_selections_never_put_not_shown_where_a_number_goes(filters, sample_db, use_db):
    use_db(sample_db)
    for spec, _, lines in _pack_sentences(filters):
        for line in lines:
            assert not any(b in line for b in BROKEN), (spec.id, line)


@pytest.mark.parametrize("text, expected", [
    ("2026-09", "September 2026"),
    ("2026Q3", "Q3 2026 · 1 Jul – 30 Sep 2026"),
])
def test_the_cover_states_the_period_once(text, expected):
    """A month's cover read "September 2026 · September 2026"."""
    from dashboard.exports.boardpack import period_words

    assert period_words(per.parse(text)) == expected


def test_key_figures_count_one_thing_in_the_singular():
    """"1 clinics: 0 below, 1 within …" and "… and 1 more groups" were printed as is."""
    import pandas as pd

    one = pd.DataFrame({"clinic_name": ["Tulsa"], "utilization": [0.75]})
    assert keyfigures.sentences("capacity.by_clinic", one, {})[0] == "1 clinic: 0 below, 1 within, 0 above the 70–80% band"
    groups = pd.DataFrame({"instrument": ["PHQ9"] * 7, "group_value": list("ABCDEFG"), "evaluable": [50] * 7,
                           "response_rate": [0.5] * 7, "response_ci_low": [0.4] * 7, "response_ci_high": [0.6] * 7})
    lines = keyfigures.sentences("outcomes.rates_by_group", groups, {"breakdown": "clinic"})
    assert lines[-1] == "… and 1 more group (see the chart)"


def test_rate_key_figures_add_the_rates_counting_missed_follow_ups():
    """A board pack's '59% response' now carries the rate over every course with a qualifying baseline too."""
    import pandas as pd

    df = pd.DataFrame({"instrument": ["PHQ9", "MADRS"], "evaluable": [828, 40], "responders": [472, 29],
                       "response_rate": [0.570, 0.725], "response_ci_low": [0.536, 0.57], "response_ci_high": [0.603, 0.84],
                       "remission_rate": [0.27, 0.3], "remission_ci_low": [0.24, 0.18], "remission_ci_high": [0.30, 0.45],
                       "missed_follow_up": [214, None], "itt_response_rate": [0.453, None], "itt_remission_rate": [0.215, None]})
    lines = keyfigures.sentences("outcomes.rates_by_instrument", df, {})
    (phq9,) = [line for line in lines if line.startswith("PHQ-9")]
    assert phq9.endswith("; counting the 214 without follow-up as not responding: 45% and 22%")
    (madrs,) = [line for line in lines if line.startswith("MADRS")]
    assert "without follow-up" not in madrs  # hidden (small counts): nothing said


def test_the_highest_and_lowest_week_are_whole_weeks_when_there_are_any():
    """Q3's 'Highest week: Salt Lake City, week of 29 Jun 2026: 81%' had 3 of its days in the quarter; the
    highest whole week was 79.7% (operations audit). Key figures read whole weeks; a period without one says
    how many of the week's days it holds."""
    import pandas as pd

    df = pd.DataFrame({"clinic_name": ["SLC", "SLC", "TUL"], "week_start": pd.to_datetime(["2026-06-29", "2026-07-06", "2026-07-06"]),
                       "days_in_period": [3, 7, 7], "utilization": [0.81, 0.797, 0.60]})
    lines = keyfigures.sentences("capacity.by_week", df, {})
    assert lines == ["Lowest whole week: TUL, week of 6 Jul 2026: 60%", "Highest whole week: SLC, week of 6 Jul 2026: 80%"]
    short = keyfigures.sentences("capacity.by_week", df.iloc[:1], {})
    assert short[1] == "Highest week: SLC, week of 29 Jun 2026: 81% (3 of 7 days in the period)"
    whole = keyfigures.sentences("capacity.by_week", df.iloc[1:], {})
    assert whole[1] == "Highest week: SLC, week of 6 Jul 2026: 80%"


def test_completion_by_group_key_figures_name_each_group_with_its_rate():
    import pandas as pd

    nan = float("nan")
    df = pd.DataFrame({"group_value": ["yes", "no", "not_recorded"], "courses": [300, 900, 12.0],
                       "induction_ended": [280, 840, nan], "induction_completion_rate": [120 / 280, 450 / 840, nan],
                       "induction_completion_ci_low": [0.37, 0.50, nan], "induction_completion_ci_high": [0.49, 0.57, nan]})
    assert keyfigures.sentences("outcomes.completion_by_group", df, {"breakdown": "benzodiazepine"}) == [
        "Benzodiazepine not recorded: completed induction not shown (small counts)",
        "Not on benzodiazepine: completed induction 54% (50–57%, n=840)",
        "On benzodiazepine: completed induction 43% (37–49%, n=280)"]


def test_the_lowest_week_says_when_the_clinic_closed_on_a_public_holiday():
    """A board read "Lowest week: Denver, week of 24 Nov 2025: 58%" as a slow week; the clinic had closed on
    Thanksgiving, a day that still counts as available chair time."""
    import pandas as pd

    df = pd.DataFrame({"clinic_name": ["DEN", "DEN"], "week_start": pd.to_datetime(["2025-11-17", "2025-11-24"]),
                       "days_in_period": [7, 7], "utilization": [0.70, 0.58], "closed_holidays": [None, "Thanksgiving"]})
    lines = keyfigures.sentences("capacity.by_week", df, {})
    assert lines == ["Lowest week: DEN, week of 24 Nov 2025: 58% (closed on Thanksgiving)",
                     "Highest week: DEN, week of 17 Nov 2025: 70%"]


def test_rates_key_figures_say_how_many_courses_are_provisional():
    import pandas as pd

    row = {"instrument": "PHQ9", "evaluable": 521, "provisional": 454, "response_rate": 0.51, "response_ci_low": 0.47,
           "response_ci_high": 0.55, "remission_rate": 0.16, "remission_ci_low": 0.13, "remission_ci_high": 0.2}
    (line,) = keyfigures.sentences("outcomes.rates_by_instrument", pd.DataFrame([row]), {})
    assert line.endswith("; 454 of 521 provisional (follow-up window still open)")
    (hidden,) = keyfigures.sentences("outcomes.rates_by_instrument", pd.DataFrame([{**row, "provisional": None}]), {})
    assert hidden.endswith(f"; provisional courses {keyfigures.HIDDEN}")  # hidden is not zero: the rates may be early
    (settled,) = keyfigures.sentences("outcomes.rates_by_instrument", pd.DataFrame([{**row, "provisional": 0}]), {})
    assert "provisional" not in settled


def test_trajectory_key_figures_say_the_baseline_is_hidden_instead_of_starting_at_session_2():
    """Where the outcome table hides the courses with a baseline, the trajectory hides its baseline mean with
    its n: the key figures began 'PHQ-9 mean at session 2: 10.2', read as where the courses started."""
    import pandas as pd

    nan = float("nan")
    df = pd.DataFrame({"session_number": [0, 2, 6], "courses": [nan, 140.0, 82.0], "mean_score": [nan, 10.23, 5.73],
                       "ci_low": [nan, 9.37, 4.6], "ci_high": [nan, 11.08, 6.9]})
    lines = keyfigures.trajectory(df, {"instrument": "PHQ9"})
    assert lines[0] == f"PHQ-9 baseline (session 0): {keyfigures.HIDDEN}"
    assert lines[1].startswith("PHQ-9 mean at session 2: 10.2")
    shown = keyfigures.trajectory(df.assign(courses=[212.0, 140.0, 82.0], mean_score=[17.44, 10.23, 5.73],
                                            ci_low=[16.9, 9.37, 4.6], ci_high=[18.0, 11.08, 6.9]), {"instrument": "PHQ9"})
    assert shown[0].startswith("PHQ-9 mean at session 0: 17.4") and keyfigures.HIDDEN not in " ".join(shown)


def test_funnel_key_figures_compare_no_clinic_when_the_network_rate_is_hidden():
    """BP elevation, all clinics, 6-12 January 2025: the network rate hidden, the key figures still said "1 clinic
    shown, 0 outside the 99.8% limits" (the hidden flag read as False; a NaN one as True, pd.NA crashed them all)."""
    import pandas as pd

    clinics = pd.DataFrame({"clinic_name": ["Denver", "New York", "Oklahoma City"], "n": [120, 300, 967],
                            "events": [2.0, None, None], "rate": [2 / 120, None, None], "network_rate": [None] * 3,
                            "network_events": [None] * 3, "network_n": [1387] * 3,
                            "outside_95": [pd.NA] * 3, "outside_998": [pd.NA] * 3})
    lines = keyfigures.sentences("safety.bp_funnel", {"clinics": clinics, "limits": pd.DataFrame()}, {})
    assert lines[-1] == "1 clinic shown, not compared: the network rate is not shown; 2 have their rates not shown"
    assert not [line for line in lines if "outside" in line]

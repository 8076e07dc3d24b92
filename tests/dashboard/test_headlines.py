"""The Overview's headline figures (dashboard.headlines) on the sample warehouse."""

from __future__ import annotations

import datetime as dt

from dashboard import queries
from dashboard.filters import Filters
from dashboard.headlines import headlines
from dashboard.scope import Scope


def test_a_period_without_boosters_says_so_instead_of_an_empty_iqr(sample_db, use_db):
    """The data's first days hold no booster (every course is still in induction): the card read
    'IQR —–— days, n=0 boosters'. It says there was no booster session; a period with boosters keeps
    its IQR and n."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    first_week = Filters(start=options.data_start, end=options.data_start + dt.timedelta(days=6))
    assert int(queries.booster_intervals(scope, first_week)["intervals"].iloc[0]) == 0
    card = {h.key: h for h in headlines(scope, first_week, options)[0]}["booster_interval"]
    assert card.value == "—"
    assert card.caption == "no booster session in the period"
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    card = {h.key: h for h in headlines(scope, quarter, options)[0]}["booster_interval"]
    assert card.caption.startswith("IQR ") and "—" not in card.caption and card.caption.endswith(" boosters")


def test_the_courses_card_leaves_courses_still_in_induction_out_of_completion_and_names_them(sample_db, use_db):
    """The quarter ends on the data's last day: June's courses cannot have had 6 (8) sessions yet. The card read
    'completed induction 46%' over every course; it now counts them apart and rates the others."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    counts = queries.course_counts(scope, quarter).iloc[0]
    waiting = int(counts["still_in_induction"])
    assert waiting > 0 and int(counts["induction_ended"]) == int(counts["courses"]) - waiting
    assert counts["induction_completion_rate"] == int(counts["completed_induction"]) / int(counts["induction_ended"])
    card = {h.key: h for h in headlines(scope, quarter, options)[0]}["courses"]
    assert card.caption.startswith(f"completed induction {counts['induction_completion_rate'] * 100:.0f}% (")
    assert card.caption.endswith(f" · {waiting:,} still in induction")
    assert "still in induction" in card.help


def test_a_rate_change_inside_both_periods_intervals_reads_may_be_chance_and_is_not_coloured(sample_db, use_db):
    """Month after month of the sample, response, remission, side-effect and BP cards each had a green or red
    arrow for any move, a 2-point swing on a few dozen courses included. A change is now coloured only when the
    two periods' 95% intervals (from SQL) do not overlap; inside them it is grey and says it may be chance."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    columns = {"response": ("PHQ9", "response_rate", "response_ci_low", "response_ci_high", "normal"),
               "remission": ("PHQ9", "remission_rate", "remission_ci_low", "remission_ci_high", "normal"),
               "side_effect": ("any", "rate", "ci_low", "ci_high", "inverse"),
               "bp_elevation": (None, "rate", "ci_low", "ci_high", "inverse")}
    seen = {"coloured": 0, "chance": 0, "provisional": 0}

    def key_is_provisional(key, now):
        return key in ("response", "remission") and now["provisional"] > 0

    month = dt.date(options.data_start.year, options.data_start.month, 1)
    while month <= options.data_end:
        following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        f = Filters(start=month, end=following - dt.timedelta(days=1))
        cards, previous = headlines(scope, f, options)
        month = following
        if previous is None:
            continue
        frames = {"response": queries.outcome_rates, "remission": queries.outcome_rates,
                  "side_effect": queries.side_effect_rates, "bp_elevation": queries.bp_elevation}
        for card in cards:
            if card.key not in columns or card.delta is None or card.delta.startswith("±"):
                continue
            match, _, low, high, colour = columns[card.key]

            def row(filters, key=card.key, match=match):
                df = frames[key](scope, filters)
                if match is not None:
                    df = df[df["instrument" if key in ("response", "remission") else "effect"] == match]
                return df.iloc[0]

            now, before = row(f), row(previous)
            apart = now[low] > before[high] or now[high] < before[low]
            if key_is_provisional(card.key, now):  # the last months: never coloured (the test below)
                assert card.delta_color == "off" and card.delta.endswith(" · provisional"), (card.key, f)
                seen["provisional"] += 1
            elif apart:
                assert card.delta_color == colour and "chance" not in card.delta, (card.key, f)
                seen["coloured"] += 1
            else:
                assert card.delta_color == "off" and card.delta.endswith(" · may be chance"), (card.key, f)
                seen["chance"] += 1
            assert "intervals do not overlap" in card.help
    assert seen["chance"] >= 10 and seen["provisional"] >= 2, seen


def test_a_change_whose_intervals_do_not_overlap_is_coloured_better_or_worse():
    """The sample's one coloured change was June's remission, read on interim scores (provisional now)."""
    import pandas as pd

    import pandas as pd

    from dashboard.headlines import _rate_change

    now = pd.Series({"rate": 0.40, "ci_low": 0.35, "ci_high": 0.45})
    before = pd.Series({"rate": 0.20, "ci_low": 0.15, "ci_high": 0.25})
    assert _rate_change(now, before, "rate", "ci_low", "ci_high", "normal") == ("+20.0 pts", "normal")
    assert _rate_change(now, before, "rate", "ci_low", "ci_high", "inverse") == ("+20.0 pts", "inverse")
    close = pd.Series({"rate": 0.24, "ci_low": 0.19, "ci_high": 0.29})
    assert _rate_change(close, before, "rate", "ci_low", "ci_high", "normal") == ("+4.0 pts · may be chance", "off")
    assert _rate_change(now, before, "rate", "ci_low", "ci_high", "normal", provisional=True) == \
        ("+20.0 pts · provisional", "off")
    assert _rate_change(now, before, "rate", "ci_low", "ci_high", "normal", few=True) == (None, "off")


def test_outcome_rates_read_on_interim_scores_are_provisional_and_never_coloured(sample_db, use_db):
    """An audit found the newest month's remission flagged in red as a real fall (October: 16%, -17.2 pts):
    most of its evaluable courses were still in induction, scored after an early infusion. Such courses
    are counted (SQL `provisional`: evaluable with the follow-up window still open); the cards say how many
    and leave the change grey. A period whose windows have all closed is not provisional."""
    import duckdb

    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    with duckdb.connect(str(sample_db), read_only=True) as con:
        expected = con.execute(
            "select count(*) filter (where o.evaluable and o.follow_up_window_open), count(*) filter (where o.evaluable) "
            "from marts.course_outcomes o join marts.courses c using (course_id) "
            "where o.instrument = 'PHQ9' and c.course_start_date between ? and ?", [quarter.start, quarter.end],
        ).fetchone()
    provisional, evaluable = expected
    assert 0 < provisional < evaluable
    assert int(queries.outcome_rates(scope, quarter).set_index("instrument").loc["PHQ9", "provisional"]) == provisional
    cards = {h.key: h for h in headlines(scope, quarter, options)[0]}
    for key in ("response", "remission"):
        assert f" · {provisional:,} provisional" in cards[key].caption, cards[key].caption
        assert cards[key].delta.endswith(" · provisional") and cards[key].delta_color == "off"
        assert "still open" in cards[key].help
    year_before = Filters(start=dt.date(2025, 4, 1), end=dt.date(2025, 6, 30))
    for key in ("response", "remission"):
        card = {h.key: h for h in headlines(scope, year_before, options)[0]}[key]
        assert "provisional" not in card.caption and "provisional" not in (card.delta or "")


def test_the_utilization_card_says_it_counts_every_modality_when_a_modality_is_chosen(sample_db, use_db):
    """Chairs are shared, so utilization ignores the modality and indication filters; with one modality chosen
    the card read as that modality's share, and only its tooltip said otherwise."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    plain = {h.key: h for h in headlines(scope, quarter, options)[0]}["utilization"]
    assert plain.caption.endswith(" chair-hours")
    for chosen in (Filters(start=quarter.start, end=quarter.end, modalities=("esketamine_nasal",)),
                   Filters(start=quarter.start, end=quarter.end, indications=("mdd",))):
        card = {h.key: h for h in headlines(scope, chosen, options)[0]}["utilization"]
        assert card.value == plain.value and card.caption == plain.caption + " · all modalities and indications"


def test_a_rate_on_fewer_than_30_evaluable_courses_is_given_as_a_count(sample_db, use_db):
    """An audit saw 'PHQ-9 response 100%' in headline type for 4 courses (the interval only in small grey
    text). Under 30 evaluable courses the card gives '4 of 4', says 'few courses', and shows no change."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    small = Filters(clinics=("DEN",), start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 14))
    phq9 = queries.outcome_rates(scope, small).set_index("instrument").loc["PHQ9"]
    assert 0 < int(phq9["evaluable"]) < 30
    cards = {h.key: h for h in headlines(scope, small, options)[0]}
    for key, count in (("response", "responders"), ("remission", "remitters")):
        card = cards[key]
        assert card.value == f"{int(phq9[count])} of {int(phq9['evaluable'])}"
        assert card.caption.startswith("few courses: ")
        assert card.delta is None  # a change in points on a handful of courses is precision it does not have
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    assert {h.key: h for h in headlines(scope, quarter, options)[0]}["response"].value.endswith("%")


def test_every_rate_and_median_card_gives_the_count_under_30_and_no_change(sample_db, use_db):
    """The few-courses rule covered the PHQ-9 cards only: one clinic over one day showed 'Any side effect 82%'
    with '↓ -18.2 pts · may be chance' on 11 sessions, 'BP elevation 0.0%' with '↓ -12.5 pts', a booster median
    moving 13.5 days on 6 boosters and completion '0% (0–66%)' on 2 courses (medical-director audit). Each card
    now gives the count under 30 of its own denominator, says 'few', and shows no change."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    day = Filters(clinics=("DEN",), start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 1))
    se = queries.side_effect_rates(scope, day).set_index("effect").loc["any"]
    bp = queries.bp_elevation(scope, day).iloc[0]
    boosters = queries.booster_intervals(scope, day).iloc[0]
    courses = queries.course_counts(scope, day).iloc[0]
    assert 0 < se["treated_sessions"] < 30 and 0 < bp["sessions_with_vitals"] < 30
    assert 0 < boosters["intervals"] < 30 and 0 < courses["induction_ended"] < 30
    cards = {h.key: h for h in headlines(scope, day, options)[0]}
    assert cards["side_effect"].value == f"{int(se['sessions'])} of {int(se['treated_sessions'])}"
    assert cards["side_effect"].caption.startswith("few sessions: ") and cards["side_effect"].delta is None
    assert cards["bp_elevation"].value == f"{int(bp['elevated_sessions'])} of {int(bp['sessions_with_vitals'])}"
    assert cards["bp_elevation"].caption.startswith("few sessions: ") and cards["bp_elevation"].delta is None
    assert cards["booster_interval"].caption.startswith("few boosters: ") and cards["booster_interval"].delta is None
    assert cards["courses"].caption.startswith(
        f"completed induction {int(courses['completed_induction'])} of {int(courses['induction_ended'])} (few courses)")
    # a quarter keeps rates and changes
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    big = {h.key: h for h in headlines(scope, quarter, options)[0]}
    assert big["side_effect"].value.endswith("%") and big["side_effect"].delta is not None
    assert big["booster_interval"].delta is not None and not big["booster_interval"].caption.startswith("few")
    assert "%" in big["courses"].caption


def test_response_cards_give_the_rate_counting_missed_follow_ups_as_no_response(sample_db, use_db):
    """'PHQ-9 response 59%' read as 'of the patients we treat' while the courses with a qualifying baseline and
    no follow-up, mostly dropouts, were nowhere near it (medical-director audit). The caption adds the same
    responders over those courses too (outcome_rates: itt_response_rate, missed_follow_up)."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    quarter = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    phq9 = queries.outcome_rates(scope, quarter).set_index("instrument").loc["PHQ9"]
    assert phq9["missed_follow_up"] > 0 and phq9["itt_response_rate"] < phq9["response_rate"]
    cards = {h.key: h for h in headlines(scope, quarter, options)[0]}
    for kind in ("response", "remission"):
        rate = phq9[f"itt_{kind}_rate"]
        assert cards[kind].caption.endswith(f" · {rate:.0%} counting {int(phq9['missed_follow_up']):,} without follow-up")
        assert "intention to treat" in cards[kind].help


def test_the_side_effect_card_gives_the_severe_rate_beside_any(sample_db, use_db):
    """'Any side effect 81%' is mostly mild, expected dizziness and dissociation; the severe rate (6.4% on 8
    clinics) was nowhere in figures (medical-director audit). The caption gives it with its interval."""
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    by_severity = queries.side_effect_rates(scope, quarter, "severity")
    severe = by_severity[(by_severity["effect"] == "any") & (by_severity["group_value"] == "severe")].iloc[0]
    assert 0 < severe["rate"] < 0.2
    card = {h.key: h for h in headlines(scope, quarter, options)[0]}["side_effect"]
    assert card.caption.endswith(f" · severe {severe['rate']:.1%} ({severe['ci_low'] * 100:.1f}–{severe['ci_high']:.1%})")
    assert "severe" in card.help


def test_outcome_cards_follow_the_scale_of_the_chosen_indications(sample_db, use_db):
    """With PTSD chosen the cards still read 'PHQ-9 response' (medical-director audit): PTSD is measured on
    PCL-5, pain on the pain NRS, anxiety on GAD-7. A mix of indications, or none, keeps PHQ-9."""
    from dashboard.headlines import headline_instrument

    assert headline_instrument(Filters()) == "PHQ9"
    assert headline_instrument(Filters(indications=("ptsd",))) == "PCL5"
    assert headline_instrument(Filters(indications=("chronic_pain", "fibromyalgia"))) == "PAIN_NRS"
    assert headline_instrument(Filters(indications=("gad",))) == "GAD7"
    assert headline_instrument(Filters(indications=("ptsd", "mdd"))) == "PHQ9"
    use_db(sample_db)
    scope = Scope.everything()
    options = queries.filter_options(scope)
    f = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30), indications=("ptsd",))
    pcl5 = queries.outcome_rates(scope, f).set_index("instrument").loc["PCL5"]
    cards = {h.key: h for h in headlines(scope, f, options)[0]}
    assert cards["response"].label == "PCL-5 response" and cards["remission"].label == "PCL-5 remission"
    n = int(pcl5["evaluable"])
    assert f"n={n:,}" in cards["response"].caption or cards["response"].value.endswith(f" of {n}")


def test_a_board_member_gets_the_cards_with_small_counts_masked_as_every_chart_is(sample_db, use_db):
    """The board sees aggregates only, small counts suppressed on screen (docs/access.md), but the cards read
    'Courses started 1 (-3)', 'Active patients 9', 'Any side effect 13 of 14' for Denver's PTSD patients in two
    June weeks (access audit). Under the board's scope a card whose figure the cell-size rule hides says
    'Not shown', with no change and no caption figures; the medical director still sees the counts."""
    use_db(sample_db)
    options = queries.filter_options(Scope.everything())
    narrow = Filters(start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 14), clinics=("DEN",), indications=("ptsd",))
    board = Scope(clinics=None, aggregates_only=True, name="board")
    director = {h.key: h for h in headlines(Scope.everything(), narrow, options)[0]}
    masked = {h.key: h for h in headlines(board, narrow, options)[0]}
    courses = queries.course_counts(Scope.everything(), narrow).iloc[0]
    active = queries.active_patients(Scope.everything(), narrow).iloc[0]
    assert 0 < int(courses["courses"]) < 11 and 0 < int(active["active_patients"]) < 11  # the selection is small
    for key in ("courses", "active_patients"):
        assert director[key].value != "Not shown"
        assert masked[key].value == "Not shown" and masked[key].delta is None, masked[key]
        assert "small counts" in masked[key].caption
    side = queries.side_effect_rates(Scope.everything(), narrow)
    any_effect = side[side["effect"] == "any"].iloc[0]
    if 0 < int(any_effect["treated_sessions"]) - int(any_effect["sessions"]) < 11:  # 13 of 14: one without
        assert masked["side_effect"].value == "Not shown"
    # no card of the board's shows a count from 1 to 10 as its figure
    for card in masked.values():
        assert not (card.value.isdigit() and 0 < int(card.value) < 11), card
    # the whole network's quarter has no small count: the board reads the same cards as the director
    quarter = Filters(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))
    assert [h.value for h in headlines(board, quarter, options)[0]] == [
        h.value for h in headlines(Scope.everything(), quarter, options)[0]]


def test_few_sessions_give_no_change_even_when_the_rate_did_not_move():
    """DEN on 1 May 2026: 'BP elevation 0 of 17' beside '±0 pts' (0% the day before too). An unchanged rate is
    still a change read from a few sessions: the card gives none."""
    import pandas as pd

    from dashboard.headlines import _rate_change

    now = pd.Series({"rate": 0.0, "ci_low": 0.0, "ci_high": 0.184})
    before = pd.Series({"rate": 0.0, "ci_low": 0.0, "ci_high": 0.161})
    assert _rate_change(now, before, "rate", "ci_low", "ci_high", "inverse", few=True) == (None, "off")
    assert _rate_change(now, before, "rate", "ci_low", "ci_high", "inverse", few=False)[0] == "±0 pts"


def test_a_provisional_count_the_board_may_not_see_still_keeps_the_change_grey(sample_db, use_db):
    """New York, June 2026, for the board: 73 of 83 PHQ-9 courses are provisional, but that count is hidden
    (only 10 are settled), and the remission card coloured '-18.5 pts' as a real fall: the hidden count was read
    as 0. A hidden provisional count keeps the change grey and says the count is not shown."""
    from dashboard.headlines import PROVISIONAL_HIDDEN

    use_db(sample_db)
    board = Scope(clinics=None, aggregates_only=True, name="board")

    def the_case(month: Filters) -> bool:  # over 10 provisional, 1-10 settled: the provisional count is hidden
        rates = queries.outcome_rates(Scope.everything(), month).set_index("instrument").loc["PHQ9"]
        return rates["provisional"] > 10 and 0 < rates["evaluable"] - rates["provisional"] < 11

    months = [Filters(clinics=(clinic,), start=dt.date(2026, m, 1), end=dt.date(2026, m + 1, 1) - dt.timedelta(days=1))
              for m in (6, 5, 4) for clinic in ("NYC", "OKC", "DEN")]
    june = next((month for month in months if the_case(month)), None)
    assert june is not None, "no clinic-month of the sample's spring 2026 has the case"
    cards = {h.key: h for h in headlines(board, june, queries.filter_options(board))[0]}
    checked = 0
    for key in ("response", "remission"):
        card = cards[key]
        if card.value == "Not shown":
            continue
        checked += 1
        assert card.delta_color == "off", (key, card.delta)
        assert card.delta is None or card.delta.endswith(PROVISIONAL_HIDDEN) or card.delta.startswith("±"), card.delta
        assert PROVISIONAL_HIDDEN in card.caption
    assert checked

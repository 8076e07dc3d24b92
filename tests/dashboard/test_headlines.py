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
    seen = {"coloured": 0, "chance": 0}
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
            if apart:
                assert card.delta_color == colour and "chance" not in card.delta, (card.key, f)
                seen["coloured"] += 1
            else:
                assert card.delta_color == "off" and card.delta.endswith(" · may be chance"), (card.key, f)
                seen["chance"] += 1
            assert "intervals do not overlap" in card.help
    assert seen["coloured"] >= 1 and seen["chance"] >= 10, seen

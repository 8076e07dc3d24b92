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

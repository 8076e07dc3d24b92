"""The Overview's headline figures with their change against the previous period (Filters.previous).

Every figure comes from a query-layer function (macros); the only arithmetic here is the difference
between the two periods' figures for the delta. Issue 5's board pack can reuse `headlines()` for its
"key figures in words".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from dashboard import format as fmt
from dashboard import labels, queries
from dashboard import suppression as sup
from dashboard.charts import suppression_rules as rules
from dashboard.charts.outcomes import FEW_COURSES
from dashboard.filters import FilterOptions, Filters
from dashboard.scope import Scope


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: str
    delta: str | None  # ASCII sign first ("+3.1 pts", "-12"), None when there is no previous period
    delta_color: str  # "normal" (up is good), "inverse" (up is bad), "off"
    help: str
    caption: str | None = None


def _row(df: pd.DataFrame, **match) -> pd.Series | None:
    if df is None or df.empty:
        return None
    for column, value in match.items():
        df = df[df[column] == value]
    return df.iloc[0] if not df.empty else None


def _num(row: pd.Series | None, column: str) -> float | None:
    if row is None or column not in row or pd.isna(row[column]):
        return None
    return float(row[column])


def _delta(now: float | None, before: float | None, kind: str) -> str | None:
    if now is None or before is None:
        return None
    diff = now - before
    if kind == "pts" and abs(diff) < 0.0005 or kind == "days" and abs(diff) < 0.05 or kind == "count" and diff == 0:
        return "±0 pts" if kind == "pts" else ("±0 days" if kind == "days" else "±0")
    if kind == "pts":
        return f"{diff * 100:+.1f} pts"
    if kind == "days":
        return f"{diff:+.1f} days"
    return f"{diff:+,.0f}"


CHANCE = "may be chance"
CHANCE_HELP = (" The change against the previous period is coloured only when the two periods' 95% intervals do "
               f"not overlap; otherwise it reads \"{CHANCE}\" and stays grey: a move that small can come from "
               "chance alone.")


PROVISIONAL = "provisional"
# the board's cards when the cell-size rule hides the provisional count: some rates may be read on interim scores
PROVISIONAL_HIDDEN = "provisional count not shown"
PROVISIONAL_HELP = (" Provisional: some evaluable courses were scored inside a follow-up window that is still open (most "
                    "still in induction, scored after an early infusion), so their last score can still change and a "
                    "recent period reads them early; the change is then not coloured.")


# evaluable courses: under this, a rate card gives the count ("4 of 4"), as the charts draw open points; the
# same for the other cards' own counts (sessions, boosters, courses whose induction ended)
FEW = FEW_COURSES
FEW_WORDS = "few courses"  # the caption's first words on a card under FEW


def _few(n: float | None) -> bool:
    return n is not None and 0 < n < FEW


def _share_value(row: pd.Series | None, count: str, n: float | None, rate: float | None, digits: int = 0) -> str:
    """A rate card's value: the rate, or "k of n" under FEW (82% of 11 sessions is 9 sessions)."""
    return f"{fmt.count(_num(row, count))} of {fmt.count(n)}" if _few(n) else fmt.pct(rate, digits)


def _rate_change(now: pd.Series | None, before: pd.Series | None, column: str, low: str, high: str,
                 colour: str, provisional: bool | None = False, few: bool = False) -> tuple[str | None, str]:
    """The change of a rate and its colour: coloured (better or worse) only when the two periods' 95%
    intervals, from SQL, do not overlap. A move inside them reads "may be chance" in grey, so a
    director does not read a 2-point swing on 40 courses as a trend. A provisional rate (outcomes
    read on interim scores) is never coloured: its gap to the last period is a bias, not chance, and an
    interval test cannot tell it apart from a real change."""
    rate, previous = _num(now, column), _num(before, column)
    delta = _delta(rate, previous, "pts")
    if few:  # "+23.2 pts" (or "±0 pts") beside "5 of 11" is precision the count does not have: no change at all
        return None, "off"
    if delta is None or delta.startswith("±"):
        return delta, colour
    if provisional is None:  # hidden (cell-size rule): maybe provisional, so never coloured as a change
        return f"{delta} · {PROVISIONAL_HIDDEN}", "off"
    if provisional:
        return f"{delta} · {PROVISIONAL}", "off"
    now_low, now_high, before_low, before_high = _num(now, low), _num(now, high), _num(before, low), _num(before, high)
    apart = None not in (now_low, now_high, before_low, before_high) and (now_low > before_high or now_high < before_low)
    return (delta, colour) if apart else (f"{delta} · {CHANCE}", "off")


@dataclass(frozen=True)
class _Figures:
    courses: pd.Series | None
    active: pd.Series | None
    outcomes: pd.Series | None  # the outcome rates of the cards' instrument (headline_instrument)
    side_effect: pd.Series | None
    bp: pd.Series | None
    boosters: pd.Series | None
    utilization: pd.Series | None
    severe: pd.Series | None = None  # sessions with a severe side effect (this period only: no change given)


# The scale a selection of indications is measured on: PTSD on PCL-5, pain on the pain NRS, anxiety on GAD-7.
# PHQ-9 otherwise (depression, and any mix): "PHQ-9 response 0 of 1" for a PTSD selection measured nothing.
_INDICATION_SCALE = {"ptsd": "PCL5", "chronic_pain": "PAIN_NRS", "fibromyalgia": "PAIN_NRS", "gad": "GAD7"}


def headline_instrument(f: Filters) -> str:
    """The instrument of the Overview's outcome cards for these filters (PHQ-9 unless every chosen
    indication is measured on one other scale)."""
    scales = {_INDICATION_SCALE.get(i, "PHQ9") for i in f.indications}
    return scales.pop() if len(scales) == 1 else "PHQ9"


def _one_row(rule: sup.Suppression, part: str = "") -> sup.Suppression:
    """A chart's rule for the period's one row of totals (a card has no groups to add up)."""
    return sup.Suppression({"": replace(rule.tables[part], group_sums=())})


# Viewers who see aggregates only (the board) get the cards as they get every chart: the figures of the
# chart each card summarises, through that chart's rule; a count from 1 to 10, and what would give one
# away, reads "not shown". Utilization's chair-hours are not counts of anyone: only the sessions are.
_CARD_RULES = {
    "courses": _one_row(rules.COURSES_BY_GROUP),
    "active": sup.Suppression.table(counts=("active_patients",)),
    "outcomes": rules.OUTCOME_RATES,
    "side_effects": rules.SIDE_EFFECTS_BY_SEVERITY,
    "bp": _one_row(rules.PEAK_RISE, "summary"),
    "boosters": _one_row(rules.BOOSTER_HISTOGRAM, "summary"),
    "utilization": _one_row(rules.UTILIZATION),
}


def _figures(scope: Scope, f: Filters) -> _Figures:
    def shown(rule: str, data):
        return sup.apply(data, _CARD_RULES[rule]).data if scope.aggregates_only else data

    effects = shown("side_effects", {"by_severity": queries.side_effect_rates(scope, f, "severity"),
                                     "overall": queries.side_effect_rates(scope, f)})
    return _Figures(
        courses=_row(shown("courses", queries.course_counts(scope, f))),
        active=_row(shown("active", queries.active_patients(scope, f))),
        outcomes=_row(shown("outcomes", queries.outcome_rates(scope, f)), instrument=headline_instrument(f)),
        side_effect=_row(effects["overall"], effect="any"),
        bp=_row(shown("bp", queries.bp_elevation(scope, f))),
        boosters=_row(shown("boosters", queries.booster_intervals(scope, f))),
        utilization=_row(shown("utilization", queries.network_utilization(scope, f))),
        severe=_row(effects["by_severity"], effect="any", group_value="severe"),
    )


NOT_SHOWN = "Not shown"
NOT_SHOWN_CAPTION = "small counts: fewer than 11, or a figure that would reveal one (cell-size rule)"


def _hidden(row: pd.Series | None, column: str) -> bool:
    """A count the cell-size rule masked (counts are never NULL otherwise: an empty period counts 0)."""
    return row is not None and column in row and pd.isna(row[column])


ITT_HELP = (" The second figure counts every course with a qualifying baseline (at least the scale's minimum) "
            "whose follow-up window has closed, those without a follow-up score as not responding: most of them "
            "stopped early (intention to treat, docs/metrics.md).")


def _itt_text(row: pd.Series | None, kind: str) -> str:
    """' · 42% counting 309 without follow-up': the same responders over every course with a qualifying
    baseline (metrics.outcome_rates), so 59% is not read as 'of everyone we treat'."""
    missed, rate = _num(row, "missed_follow_up"), _num(row, f"itt_{kind}_rate")
    if not missed or rate is None:
        return ""
    return f" · {fmt.pct(rate)} counting {fmt.count(missed)} without follow-up"


def previous_filters(f: Filters, options: FilterOptions) -> Filters | None:
    """The previous period (the previous calendar months, or as many days), if the data covers all of it."""
    prev = f.previous()
    if prev is None or prev.start is None or options.data_start is None or prev.start < options.data_start:
        return None
    return prev


def _induction_caption(courses: pd.Series | None, suppressed: bool = False) -> str:
    ended = _num(courses, "induction_ended")
    if suppressed and _num(courses, "induction_completion_rate") is None and (ended or _hidden(courses, "induction_ended")):
        caption = "completion not shown (small counts)"
    elif _few(ended):  # "0% (0–66%)" on 2 courses: the count says it
        caption = (f"completed induction {fmt.count(_num(courses, 'completed_induction'))} of {fmt.count(ended)} "
                   "(few courses)")
    else:
        caption = "completed induction " + fmt.pct_interval(_num(courses, "induction_completion_rate"),
                                                            _num(courses, "induction_completion_ci_low"),
                                                            _num(courses, "induction_completion_ci_high"))
    waiting = _num(courses, "still_in_induction")
    if waiting:
        caption += f" · {fmt.count(waiting)} still in induction"
    return caption


def headlines(scope: Scope, f: Filters, options: FilterOptions) -> tuple[list[Headline], Filters | None]:
    now = _figures(scope, f)
    prev_f = previous_filters(f, options)
    before = _figures(scope, prev_f) if prev_f else _Figures(None, None, None, None, None, None, None)
    out: list[Headline] = []

    out.append(Headline(
        "courses", "Courses started", fmt.count(_num(now.courses, "courses") or 0),
        _delta(_num(now.courses, "courses"), _num(before.courses, "courses"), "count"), "off",
        "Courses whose first treated session falls in the period (a new course after a 180-day gap). Completed "
        "induction: courses that reached session 6 (ketamine) or 8 (esketamine), over the courses whose induction "
        "has ended; a course still in induction (its last session under 14 days before the data's last day) is "
        "not counted as stopping.",
        _induction_caption(now.courses, scope.aggregates_only),
    ))
    out.append(Headline(
        "active_patients", "Active patients", fmt.count(_num(now.active, "active_patients") or 0),
        _delta(_num(now.active, "active_patients"), _num(before.active, "active_patients"), "count"), "off",
        "Patients with at least one treated session in the period.",
        "with a treated session in the period",
    ))
    provisional = _num(now.outcomes, "provisional") or 0
    evaluable = _num(now.outcomes, "evaluable") or 0
    # NYC, June 2026, for the board: 73 of 83 courses provisional, the count hidden (10 settled), and the card
    # coloured "-18.5 pts" as a real fall: a hidden count is not a zero
    provisional_hidden = _hidden(now.outcomes, "provisional") and evaluable > 0
    few = _few(evaluable)
    scale = labels.instrument(headline_instrument(f))
    for kind, label, count in (("response", f"{scale} response", "responders"), ("remission", f"{scale} remission", "remitters")):
        rate = _num(now.outcomes, f"{kind}_rate")
        caption = fmt.pct_ci(rate, _num(now.outcomes, f"{kind}_ci_low"), _num(now.outcomes, f"{kind}_ci_high"), evaluable)
        # "100%" in headline type on 4 courses read like a result; the count says how few they are
        value = f"{fmt.count(_num(now.outcomes, count))} of {fmt.count(evaluable)}" if few else fmt.pct(rate)
        out.append(Headline(
            kind, label, value,
            *_rate_change(now.outcomes, before.outcomes, f"{kind}_rate", f"{kind}_ci_low", f"{kind}_ci_high", "normal",
                          provisional=None if provisional_hidden else provisional > 0, few=few),
            "Responders (drop ≥ 50%; pain NRS ≥ 30%) or remitters (follow-up at or under the scale's remission "
            f"score) over evaluable {scale} courses started in the period (PCL-5 for PTSD, the pain NRS for pain, "
            f"GAD-7 for anxiety, PHQ-9 otherwise); Wilson 95% interval. Under {FEW} evaluable courses the card gives the count, not a rate."
            + ITT_HELP + CHANCE_HELP + PROVISIONAL_HELP,
            (f"{FEW_WORDS}: " if few else "") + caption + (f" · {fmt.count(provisional)} {PROVISIONAL}" if provisional
                                                        else f" · {PROVISIONAL_HIDDEN}" if provisional_hidden else "")
            + ("" if few else _itt_text(now.outcomes, kind)),
        ))
    # The safety cards and the booster median follow the same small-number rule as the outcome cards: under FEW
    # sessions (or boosters) the card gives the count and no change ("↓ -18.2 pts" on 11 sessions read as a trend)
    se, se_n = _num(now.side_effect, "rate"), _num(now.side_effect, "treated_sessions")
    # sessions with a severe side effect, this period only (no change is given for it): "any" is mostly mild
    severe = now.severe
    out.append(Headline(
        "side_effect", "Any side effect", _share_value(now.side_effect, "sessions", se_n, se),
        *_rate_change(now.side_effect, before.side_effect, "rate", "ci_low", "ci_high", "inverse", few=_few(se_n)),
        "Treated sessions with at least one side effect recorded / treated sessions; most are mild and expected "
        "(dizziness, dissociation), so the caption adds the sessions with a severe one (Wilson 95% interval). "
        f"Under {FEW} sessions the card gives the count, not a rate." + CHANCE_HELP,
        ("few sessions: " if _few(se_n) else "")
        + fmt.pct_ci(se, _num(now.side_effect, "ci_low"), _num(now.side_effect, "ci_high"), se_n or 0) + " sessions"
        + ("" if _few(se_n) or (_num(severe, "rate") is None and not _hidden(severe, "sessions")) else
           " · severe not shown (small counts)" if _num(severe, "rate") is None else
           f" · severe {fmt.pct_interval(_num(severe, 'rate'), _num(severe, 'ci_low'), _num(severe, 'ci_high'))}"),
    ))
    bp, bp_n = _num(now.bp, "rate"), _num(now.bp, "sessions_with_vitals")
    out.append(Headline(
        "bp_elevation", "BP elevation", _share_value(now.bp, "elevated_sessions", bp_n, bp, 1),
        *_rate_change(now.bp, before.bp, "rate", "ci_low", "ci_high", "inverse", few=_few(bp_n)),
        "Treated sessions with a reading systolic ≥ 180 or diastolic ≥ 110 / sessions with vitals. Under "
        f"{FEW} sessions the card gives the count, not a rate." + CHANCE_HELP,
        ("few sessions: " if _few(bp_n) else "")
        + fmt.pct_ci(bp, _num(now.bp, "ci_low"), _num(now.bp, "ci_high"), bp_n or 0, digits=1),
    ))
    med, boosters = _num(now.boosters, "median_days"), _num(now.boosters, "intervals")
    out.append(Headline(
        "booster_interval", "Median booster interval", fmt.days(med),
        None if _few(boosters) else _delta(med, _num(before.boosters, "median_days"), "days"), "off",
        "Calendar days from the previous session to each booster in the period (median). Under "
        f"{FEW} boosters no change is given: a median of a few intervals moves by weeks with one patient.",
        # No booster at all (the data's first weeks, a clinic without maintenance): words, not "IQR —–— days".
        ("few boosters: " if _few(boosters) else "")
        + f"IQR {fmt.number(_num(now.boosters, 'p25_days'), 0)}–{fmt.number(_num(now.boosters, 'p75_days'), 0)} days, "
        f"n={fmt.count(boosters)} boosters" if boosters
        else "no booster session in the period",
    ))
    util = _num(now.utilization, "utilization")
    out.append(Headline(
        "utilization", "Chair utilization", fmt.pct(util),
        _delta(util, _num(before.utilization, "utilization"), "pts"), "off",
        "Occupied / available chair-hours of the selected clinics pooled (benchmark 70–80%). "
        "Modality and indication filters do not apply.",
        f"{fmt.count(_num(now.utilization, 'occupied_chair_hours'))} of "
        f"{fmt.count(_num(now.utilization, 'available_chair_hours'))} chair-hours"
        # chairs are shared: with "IM ketamine" chosen, 75% read as the IM sessions' share
        + (" · all modalities and indications" if f.modalities or f.indications else ""),
    ))
    if scope.aggregates_only:
        out = [_not_shown(h, now) for h in out]
    return out, prev_f


def _not_shown(card: Headline, now: _Figures) -> Headline:
    """The card with its figure masked by the cell-size rule says so, with no change and no caption
    figures (they are of the same hidden count). A rate that is NULL because nothing was counted (n = 0)
    is not hidden: its card keeps its dash."""
    def rate_hidden(row, n: str, rate: str) -> bool:
        return _hidden(row, n) or (bool(_num(row, n)) and _hidden(row, rate))

    hidden = {
        "courses": _hidden(now.courses, "courses"),
        "active_patients": _hidden(now.active, "active_patients"),
        "response": rate_hidden(now.outcomes, "evaluable", "response_rate"),
        "remission": rate_hidden(now.outcomes, "evaluable", "remission_rate"),
        "side_effect": rate_hidden(now.side_effect, "treated_sessions", "rate"),
        "bp_elevation": rate_hidden(now.bp, "sessions_with_vitals", "rate"),
        "booster_interval": rate_hidden(now.boosters, "intervals", "median_days"),
        "utilization": _hidden(now.utilization, "utilization"),
    }.get(card.key, False)
    if not hidden:
        return card
    return replace(card, value=NOT_SHOWN, delta=None, delta_color="off", caption=NOT_SHOWN_CAPTION)

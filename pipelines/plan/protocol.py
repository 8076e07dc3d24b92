"""Induction protocols as calendars: the days a course's induction sessions fall on, and the rules.

Rules (issue 7, docs/planning.md):
- ketamine: 6 infusions within 3 weeks (the 6th at most 20 days after the 1st), never on consecutive days;
- esketamine: 8 sessions, twice a week for 4 weeks (sessions 2j-1 and 2j inside the j-th week counted
  from session 1), never on consecutive days.

A calendar is a tuple of day offsets from session 1 (session 1 is offset 0). `induction_calendar`
searches every calendar the clinic's open days allow and keeps the one whose days are closest to the
days the clinic actually practises (the observed median day of each session, counted from session 1),
so the plan books sessions the way the clinic does, only within the rules. Pure Python, no heavy
imports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

FAMILIES = ("ketamine", "esketamine")
MODALITIES = ("iv_ketamine", "im_ketamine", "esketamine_nasal")
MODALITY_FAMILY = {"iv_ketamine": "ketamine", "im_ketamine": "ketamine", "esketamine_nasal": "esketamine"}
INDUCTION_SIZE = {"ketamine": 6, "esketamine": 8}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

MIN_GAP_DAYS = 2  # never on consecutive days
KETAMINE_MAX_SPAN_DAYS = 20  # 6 within 3 weeks: day 0 .. day 20
# When a clinic's practice is unknown: ketamine about every 3-4 days, esketamine twice weekly.
DEFAULT_GAPS = {"ketamine": (4.0, 3.0, 4.0, 3.0, 4.0), "esketamine": (3.0, 4.0, 3.0, 4.0, 3.0, 4.0, 3.0)}
DEFAULT_DAYS = {"ketamine": (4.0, 7.0, 11.0, 14.0, 18.0), "esketamine": (3.0, 7.0, 10.0, 14.0, 17.0, 21.0, 24.0)}
# The longest gap the search tries; the rules bound the span anyway.
_MAX_GAP = {"ketamine": 12, "esketamine": 6}


def rule_violations(family: str, offsets: Sequence[int]) -> list[str]:
    """The induction rules a calendar (day offsets from session 1, any length up to the full
    induction) breaks, in words; empty when it keeps them."""
    problems: list[str] = []
    gaps = [b - a for a, b in zip(offsets, offsets[1:])]
    if any(g < MIN_GAP_DAYS for g in gaps):
        problems.append("two induction sessions on consecutive days (or the same day)")
    if family == "ketamine":
        if len(offsets) >= INDUCTION_SIZE["ketamine"] and offsets[5] - offsets[0] > KETAMINE_MAX_SPAN_DAYS:
            problems.append("ketamine: 6 infusions not within 3 weeks")
    elif family == "esketamine":
        start = offsets[0] if offsets else 0
        for index, day in enumerate(offsets[: INDUCTION_SIZE["esketamine"]]):
            week = index // 2
            if not 7 * week <= day - start < 7 * (week + 1):
                problems.append("esketamine: not twice a week for 4 weeks")
                break
    else:
        raise ValueError(f"unknown modality family {family!r}")
    return problems


def _partial_ok(family: str, offsets: tuple[int, ...]) -> bool:
    """Can this prefix still become a calendar that keeps the rules? (prunes the search)"""
    if offsets[-1] - offsets[-2] < MIN_GAP_DAYS:
        return False
    n = len(offsets)
    if family == "ketamine":
        # the remaining sessions need at least MIN_GAP_DAYS each
        remaining = INDUCTION_SIZE["ketamine"] - n
        return offsets[-1] + remaining * MIN_GAP_DAYS <= KETAMINE_MAX_SPAN_DAYS
    index = n - 1
    week = index // 2
    return 7 * week <= offsets[-1] < 7 * (week + 1)


def induction_calendar(family: str, open_days: Sequence[bool], target_days: Sequence[float] | None = None
                       ) -> tuple[int, ...] | None:
    """The rule-keeping calendar closest to the target days, or None when the open days allow none.

    `open_days[i]` says whether the clinic is open i days after session 1 (open_days[0] must be True:
    session 1 is on an open day); at least 28 days are needed. `target_days` are the wished-for days of
    sessions 2..K counted from session 1. Closeness is the sum of squared differences; ties go to the
    earlier calendar.
    """
    days = tuple(float(d) for d in (target_days or DEFAULT_DAYS[family]))
    return _search(family, tuple(bool(x) for x in open_days[:28]), days)


@lru_cache(maxsize=4096)
def _search(family: str, open_days: tuple[bool, ...], targets: tuple[float, ...]) -> tuple[int, ...] | None:
    size = INDUCTION_SIZE[family]
    if not open_days or not open_days[0]:
        return None
    best: list = [math.inf, None]

    def visit(offsets: tuple[int, ...], cost: float) -> None:
        if cost >= best[0]:
            return
        if len(offsets) == size:
            best[0], best[1] = cost, offsets
            return
        index = len(offsets) - 1
        target = targets[index] if index < len(targets) else targets[-1] + 3.5 * (index - len(targets) + 1)
        for gap in range(MIN_GAP_DAYS, _MAX_GAP[family] + 1):
            day = offsets[-1] + gap
            if day >= len(open_days):
                break
            if not open_days[day]:
                continue
            candidate = offsets + (day,)
            if _partial_ok(family, candidate):
                visit(candidate, cost + (day - target) ** 2)

    visit((0,), 0.0)
    return best[1]


def greedy_calendar(family: str, open_days: Sequence[bool], target_days: Sequence[float] | None = None
                    ) -> tuple[int, ...]:
    """The days patients actually come back, without the rules' limits: each next session on the open
    day nearest its target day (the earlier one on a tie) that is at least 2 days after the previous
    one (beyond the given open days the calendar simply counts on)."""
    days = [float(d) for d in (target_days or DEFAULT_DAYS[family])]
    offsets = [0]
    while len(offsets) < INDUCTION_SIZE[family]:
        index = len(offsets) - 1
        target = days[index] if index < len(days) else days[-1] + 3.5 * (index - len(days) + 1)
        earliest = offsets[-1] + MIN_GAP_DAYS
        candidates = [d for d in range(earliest, len(open_days)) if open_days[d]]
        if candidates:
            offsets.append(min(candidates, key=lambda d: (abs(d - target), d)))
        else:
            offsets.append(max(earliest, int(round(target))))
    return tuple(offsets)


def weekday_pattern(open_weekdays: Sequence[str]) -> tuple[bool, ...]:
    """Mon..Sun open flags from names such as ('Mon', 'Wed', 'Fri')."""
    wanted = {d[:3].title() for d in open_weekdays}
    return tuple(d in wanted for d in WEEKDAYS)


def days_from(pattern: Sequence[bool], first_weekday: int, days: int = 35) -> tuple[bool, ...]:
    """Open flags for `days` consecutive days starting on weekday `first_weekday` (0 = Monday)."""
    return tuple(pattern[(first_weekday + i) % 7] for i in range(days))

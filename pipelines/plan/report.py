"""A projection as plain text: what the `plan` command prints with --format table."""

from __future__ import annotations

import datetime as dt


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def amount(value) -> str:
    """Chair-hours that are often small: one decimal under 10 (0.4, not 0 beside 'most on Wed 16:00')."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return f"{value:,.1f}" if abs(value) < 9.95 else f"{value:,.0f}"


def peak_overflow_text(peak: dict) -> str:
    """Where most overflow comes from: 'most on Wed 16:00', or the hour it wanted when the clinic is closed."""
    when = f"{peak['weekday']} {peak['hour']:02d}:00"
    return f"most wanted on {when}, when the clinic is closed" if peak.get("closed") else f"most on {when}"


def peak_text(s: dict) -> str:
    """The peak week's booked utilization, with the decimals that tell it from the target when whole percents
    would not ('80.04%' against a target of 80%, never '80%: not met')."""
    peak, target = s["peak_week_booked_utilization"], s["target_utilization"]
    if peak is None:
        return "-"
    for digits in range(0, 4):
        if round(peak * 100, digits) != round(target * 100, digits) or peak == target:
            break
    return f"{peak * 100:.{digits}f}%"


def target_verdict(s: dict) -> str:
    """'met', 'not met', or why not when the peak week is within the target: the induction rules."""
    if s["meets_target"]:
        return "met"
    peak = s["peak_week_booked_utilization"]
    if not s["induction_rules_met"] and peak is not None and peak <= s["target_utilization"]:
        return "not met: the induction rules are not kept"
    return "not met"


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


def alternatives_text(s: dict, resolved, dash: str = "-") -> str | None:
    """What meets the target with the scenario's chairs instead of more chairs: a longer day, one more open
    day ('Or keep 4 chairs and open 08:00-18:30 (+30 min a day; ...)'), or that neither does within their
    limits. None when the scenario meets the target (nothing to fix)."""
    if s["meets_target"]:
        return None
    chairs = f"{resolved.chairs} chair{'s' if resolved.chairs != 1 else ''}"
    hours, day = s.get("hours_alternative"), s.get("open_day_alternative")
    options = []
    if hours:
        options.append(f"open {hours['opens_at']}{dash}{hours['closes_at']} (+{_duration(hours['extra_minutes_per_day'])}"
                       f" a day; peak week booked {hours['peak_week_booked_utilization']:.1%})")
    if day:
        options.append(f"also open on {day['day']} (peak week booked {day['peak_week_booked_utilization']:.1%})")
    if not options:
        from pipelines.plan.engine import EARLIEST_OPEN, LATEST_CLOSE, MAX_EXTRA_MINUTES

        longer = (f"a day up to {_duration(MAX_EXTRA_MINUTES)} longer (opening no earlier than {EARLIEST_OPEN}, "
                  f"closing no later than {LATEST_CLOSE})")
        if len(resolved.open_days) == 7:
            return f"With {chairs}, {longer} does not meet the target either"
        both = s.get("day_and_hours_alternative")
        if both:
            return (f"With {chairs}, neither {longer} nor one more open day meets the target alone; together they "
                    f"do: also open on {both['day']} and open {both['opens_at']}{dash}{both['closes_at']} "
                    f"(+{_duration(both['extra_minutes_per_day'])} a day; peak week booked "
                    f"{both['peak_week_booked_utilization']:.1%})")
        return f"With {chairs}, neither {longer} nor one more open day meets the target, alone or together"
    return f"Or keep {chairs} and " + ", or ".join(options)


def holidays_text(p) -> str | None:
    """The US federal holidays on the scenario's open days inside the weeks reported: which the plan closes
    and which it books as ordinary days, and why ('Closed on Thanksgiving (Thu 26 Nov 2026) ...'); None when
    there is none."""
    from pipelines.plan.holidays import holidays_between
    from pipelines.plan.protocol import WEEKDAYS

    end = p.start + dt.timedelta(weeks=p.horizon_weeks, days=-1)
    days = [(day, name) for day, name in holidays_between(p.start, end)
            if WEEKDAYS[day.weekday()] in p.resolved.open_days]
    if not days:
        return None

    def listed(pairs) -> str:
        return "; ".join(f"{name} ({WEEKDAYS[day.weekday()]} {day.day} {day:%b %Y})" for day, name in pairs)

    closed = [(day, name) for day, name in days if name in p.resolved.closed_on]
    ordinary = [(day, name) for day, name in days if name not in p.resolved.closed_on]
    observed = getattr(p.resolved, "closed_on_observed", True)
    seen = (getattr(p, "observed", None) or {}).get("holidays_seen", {})
    parts = []
    if closed:
        why = (f"the clinic closed on {'it' if len(closed) == 1 else 'each'} the last time it fell on an open day"
               if observed else "as the scenario says")
        parts.append(f"Closed on {listed(closed)}: no chair time, the week's sessions booked on its other open "
                     f"days ({why})")
    if ordinary:
        if not observed:
            why = "as the scenario says"
        elif all(name in seen for _, name in ordinary):
            why = (f"the clinic had sessions on {'it' if len(ordinary) == 1 else 'each'} the last time it fell on "
                   "an open day")
        else:
            why = ("the clinic's sessions do not show it closed; a clinic closed on a public holiday has less "
                   "capacity that week than the plan shows")
        parts.append(f"Planned as ordinary open days: {listed(ordinary)} ({why})")
    return ". ".join(parts)


def holiday_weeks_text(summary: dict) -> str | None:
    """The weeks around a closed holiday, which the target does not apply to, with their booked utilization
    ('Weeks around a closed holiday are not held to the target (...): week of 23 Nov 2026, 98% booked
    (Thanksgiving)');
    None when there is none."""
    weeks = summary.get("weeks_around_holidays") or []
    if not weeks:
        return None
    listed = "; ".join(
        f"week of {w['week_start'].day} {w['week_start']:%b %Y}, {_pct(w['booked_utilization'])} booked "
        f"({', '.join(w['holidays'])})" for w in weeks)
    return ("Weeks around a closed holiday are not held to the target (its week is a day short, and its sessions "
            "move across the weekend when it is the week's first or last open day; such a week calls for longer "
            f"hours or moved bookings, not more chairs): {listed}")


def busy_days_text(summary: dict) -> str | None:
    """How often the plan's days would run over the chairs at the clinic's own day-to-day spread ('Day to day,
    booked chair time varied about ±12% around its weekday's average ...; at that spread 6% of the plan's open
    days would ask for more chair time than the chairs give in the day'); None without a spread."""
    spread, share = summary.get("daily_spread"), summary.get("busy_day_share")
    if spread is None or share is None:
        return None
    if share < 0.001:
        share_text = "almost none (under 0.1%)"
    elif share < 0.01:
        share_text = "under 1%"
    else:
        share_text = f"{share:.0%}"
    return (f"Day to day, the clinic's booked chair time varied about ±{spread:.0%} around its weekday's average in "
            f"the last 13 weeks; at that spread, {share_text} of the plan's open days would ask for more chair "
            "time than the chairs give in the day (the plan itself books average days)")


def projection_table(p) -> str:
    r, s = p.resolved, p.summary
    lines = [
        f"Clinic {p.clinic_id}: {p.horizon_weeks} weeks from {p.start.isoformat()} "
        f"(data up to {(p.as_of - dt.timedelta(days=1)).isoformat()}, scenario {p.scenario.name!r})",
        f"Capacity: {r.chairs} chairs, {r.opens_at}-{r.closes_at}, {','.join(r.open_days)}; "
        f"no-shows {r.no_show_rate:.1%}; chair minutes "
        + ", ".join(f"{m} {v:.0f}" for m, v in r.chair_minutes.items()),
        f"New patients: {p.forecast_method}; interval {p.interval:.0%}",
        *([holidays] if (holidays := holidays_text(p)) else []),
        "",
    ]
    header = ("week", "new patients", "sessions", "chair-h avail", "util", "booked", "overflow h",
              "wait d (max)")
    rows = [header]
    for w in p.weeks:
        rows.append((
            w["week_start"].isoformat(),
            f"{w['new_courses']:.0f} ({w['new_courses_low']:.0f}-{w['new_courses_high']:.0f})",
            f"{w['sessions']:.0f} ({w['sessions_low']:.0f}-{w['sessions_high']:.0f})",
            _num(w["available_chair_hours"]),
            _pct(w["utilization"]),
            _pct(w["booked_utilization"]),
            amount(w["overflow_chair_hours"]),
            f"{w['mean_wait_days']:.1f} ({w['max_wait_days']:.0f})",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(widths[j]) if j else cell.ljust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    peak = s["peak_overflow"]
    lines += [
        "",
        f"Utilization {_pct(s['utilization'])} (booked {_pct(s['booked_utilization'])}); "
        f"peak week {_pct(s['peak_week_utilization'])} (booked {peak_text(s)}, "
        f"{_pct(s['peak_week_booked_utilization_upper'])} booked at the top of the demand interval)",
        f"Peak-hour overflow: {amount(s['overflow_chair_hours'])} chair-hours"
        + (f", {peak_overflow_text(peak)} ({amount(peak['chair_hours'])} h)" if peak else ""),
        *([busy] if (busy := busy_days_text(s)) else []),
        f"Wait for a first infusion: mean {s['mean_wait_days']:.1f} days, 90th percentile "
        f"{s['p90_wait_days']:.1f}, longest {s['max_wait_days']:.0f}"
        + (" (some still waiting at the end: a lower bound)" if s["waits_censored"] else ""),
        "Induction rules: " + ("met" if s["induction_rules_met"] else "NOT met - " + "; ".join(s["induction_problems"])),
        f"Target {_pct(s['target_utilization'])} booked utilization: " + target_verdict(s)
        + f"; fewest chairs that meet it: {s['recommended_chairs'] if s['recommended_chairs'] is not None else 'none up to 60'}"
        + f" ({s['recommended_chairs_upper'] if s['recommended_chairs_upper'] is not None else 'none up to 60'}"
        " at the top of the demand interval)",
    ]
    other = alternatives_text(s, r)
    lines += [other] if other else []
    lines += [around] if (around := holiday_weeks_text(s)) else []
    lines += [f"Note: {n}" for n in p.notes]
    return "\n".join(lines)

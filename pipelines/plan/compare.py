"""Scenarios side by side: one row per measure, one column per scenario (for the page and exports)."""

from __future__ import annotations

# (key, label, how to read it from a Projection)
MEASURES = [
    ("chairs", "Chairs", lambda p: p.resolved.chairs),
    ("opening_hours", "Opening hours", lambda p: f"{p.resolved.opens_at}-{p.resolved.closes_at}"),
    ("open_days", "Open days", lambda p: ",".join(p.resolved.open_days)),
    ("no_show_rate", "No-show rate", lambda p: p.resolved.no_show_rate),
    ("new_patients_per_week", "New patients per week", lambda p: p.summary["new_patients_per_week"]),
    ("sessions_per_week", "Sessions per week", lambda p: p.summary["sessions_per_week"]),
    ("utilization", "Utilization", lambda p: p.summary["utilization"]),
    ("booked_utilization", "Booked utilization", lambda p: p.summary["booked_utilization"]),
    ("peak_week_booked_utilization", "Peak week booked utilization",
     lambda p: p.summary["peak_week_booked_utilization"]),
    ("peak_week_booked_utilization_upper", "Peak week booked utilization, high demand",
     lambda p: p.summary["peak_week_booked_utilization_upper"]),
    ("overflow_chair_hours", "Peak-hour overflow (chair-hours)", lambda p: p.summary["overflow_chair_hours"]),
    ("mean_wait_days", "Mean wait for a first infusion (days)", lambda p: p.summary["mean_wait_days"]),
    ("p90_wait_days", "90th percentile wait (days)", lambda p: p.summary["p90_wait_days"]),
    ("induction_rules_met", "Induction rules met", lambda p: p.summary["induction_rules_met"]),
    ("meets_target", "Meets the target", lambda p: p.summary["meets_target"]),
    ("target_utilization", "Target (booked utilization)", lambda p: p.summary["target_utilization"]),
    ("recommended_chairs", "Fewest chairs for the target", lambda p: p.summary["recommended_chairs"]),
    ("recommended_chairs_upper", "Fewest chairs, high demand", lambda p: p.summary["recommended_chairs_upper"]),
]


def _names(projections) -> list[str]:
    """Column names: the scenario names, made unique (a second 'current' becomes 'current (2)')."""
    seen: dict[str, int] = {}
    names = []
    for p in projections:
        name = p.scenario.name
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def compare_scenarios(projections):
    """A DataFrame: index = measure label, one column per scenario (values as numbers or text)."""
    import pandas as pd

    names = _names(projections)
    data = {name: [read(p) for _, _, read in MEASURES] for name, p in zip(names, projections)}
    frame = pd.DataFrame(data, index=[label for _, label, _ in MEASURES], dtype=object)
    frame.index.name = "measure"
    return frame


def weekly_comparison(projections, column: str = "booked_utilization"):
    """Long DataFrame (scenario, week_start, value) of one weekly column across scenarios."""
    import pandas as pd

    rows = [
        {"scenario": name, "week_start": w["week_start"], "value": w[column]}
        for name, p in zip(_names(projections), projections)
        for w in p.weeks
    ]
    return pd.DataFrame(rows, columns=["scenario", "week_start", "value"])

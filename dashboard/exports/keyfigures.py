"""The key figures of a chart in words, from the chart's (suppressed) data rows: never recomputed.

    sentences("outcomes.rates_by_instrument", data) ->
        ["PHQ-9: response 57% (54–61%, n=828), remission 28% (25–31%, n=828)", ...]

Every number comes from a row the macro returned; a figure that suppression hides reads "not shown (small
counts)", as its own phrase: a hidden count is never put where a number goes ("not shown of 53 courses",
"n=not shown").
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from dashboard import format as fmt
from dashboard import labels

HIDDEN = "not shown (small counts)"
MAX_LINES = 6


def _t(text: str) -> str:
    return text.replace(fmt.MISSING, HIDDEN)


def _known(v: object) -> bool:
    return v is not None and not pd.isna(v)


def _rate(r: pd.Series, rate: str, low: str, high: str, n: str) -> str:
    if not _known(r.get(rate)):
        return "not shown (small counts" + (f"; n={fmt.count(r[n])})" if _known(r.get(n)) else ")")
    return fmt.pct_ci(r[rate], r.get(low), r.get(high), r[n])


def _count(value: object, noun: str) -> str:
    """'27 courses'; a hidden count: 'courses not shown (small counts)'."""
    return f"{fmt.count(value)} {noun}" if _known(value) else f"{noun} {HIDDEN}"


def _n(value: object) -> str:
    """', n=264', or nothing when the n is hidden (the sentence says what is not shown)."""
    return f", n={fmt.count(value)}" if _known(value) else ""


def _share(rate: object, k: object, n: object, noun: str = "", digits: int | None = None) -> str:
    """'12% (22 of 183)'; with the rate hidden 'not shown (small counts; n=183)'."""
    of = f" {noun}" if noun else ""
    if _known(rate) and _known(k) and _known(n):
        return f"{fmt.pct(rate, digits) if digits is not None else fmt.pct(rate)} ({fmt.count(k)} of {fmt.count(n)}{of})"
    if _known(k) and _known(n):
        return f"{fmt.count(k)} of {fmt.count(n)}{of}"
    return "not shown (small counts" + (f"; n={fmt.count(n)}{of})" if _known(n) else ")")


def plural(n: object, one: str, many: str | None = None) -> str:
    """'1 clinic', '3 clinics'."""
    try:
        single = float(n) == 1  # type: ignore[arg-type]
    except (TypeError, ValueError):
        single = False
    return f"{fmt.count(n)} {one if single else (many or one + 's')}"


def _frame(data, part: str | None = None) -> pd.DataFrame:
    if isinstance(data, dict):
        df = data.get(part or "", pd.DataFrame())
    else:
        df = data
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def _instrument_sort(df: pd.DataFrame) -> pd.DataFrame:
    order = {c: i for i, c in enumerate(labels.INSTRUMENT_ORDER)}
    return df.assign(_o=df["instrument"].map(order).fillna(99)).sort_values("_o")


def _more(lines: list[str], total: int, noun: str) -> list[str]:
    if total > len(lines):
        more = total - len(lines)
        lines.append(f"… and {more} more {noun if more != 1 else _singular(noun)} (see the chart)")
    return lines


def _singular(noun: str) -> str:
    """'groups' -> 'group', 'dose bands' -> 'dose band', 'months' -> 'month' (the nouns of _more)."""
    return noun[:-1] if noun.endswith("s") else noun


# ---------------------------------------------------------------------------------------- outcomes


def courses_by_month(df, opts):
    df = _frame(df)
    df = df[df["courses"].fillna(1) > 0].sort_values("group_value") if not df.empty else df
    lines = []
    for _, r in df.head(MAX_LINES).iterrows():
        month = pd.to_datetime(str(r["group_value"])[:7] + "-01", errors="coerce")
        name = f"{month:%b %Y}" if pd.notna(month) else str(r["group_value"])
        if not _known(r["courses"]):
            lines.append(f"{name}: courses and completion {HIDDEN}")
            continue
        if _known(r.get("induction_completion_rate")):
            completion = (_rate(r, "induction_completion_rate", "induction_completion_ci_low", "induction_completion_ci_high",
                                "induction_ended" if "induction_ended" in r else "courses") + " completed induction")
        elif _known(r.get("completed_induction")):
            completion = f"{fmt.count(r['completed_induction'])} completed induction, completion rate {HIDDEN}"
        else:
            completion = f"completion {HIDDEN}"
        lines.append(f"{name}: {fmt.count(r['courses'])} courses, {completion}"
                     + (f", {fmt.count(r['still_in_induction'])} still in induction"
                        if _known(r.get("still_in_induction")) and r.get("still_in_induction") else ""))
    return _more(lines, len(df), "months")


def rates_by_instrument(df, opts):
    df = _frame(df)
    df = _instrument_sort(df[df["evaluable"].fillna(1) > 0]) if not df.empty else df
    return [_t(f"{labels.instrument(r['instrument'])}: response {_rate(r, 'response_rate', 'response_ci_low', 'response_ci_high', 'evaluable')}, "
               f"remission {_rate(r, 'remission_rate', 'remission_ci_low', 'remission_ci_high', 'evaluable')}"
               + _itt(r) + _provisional(r))
            for _, r in df.iterrows()]


def _provisional(r: pd.Series) -> str:
    """'; 454 of 521 provisional (follow-up window still open)': a recent period's rates read courses early."""
    provisional, evaluable = r.get("provisional"), r.get("evaluable")
    # hidden, not zero (a table without the column says nothing of it): the rates may be read early
    if "provisional" in r.index and not _known(provisional) and _known(evaluable) and evaluable > 0:
        return f"; provisional courses {HIDDEN}"
    if not (_known(provisional) and provisional > 0 and _known(evaluable)):
        return ""
    return f"; {fmt.count(provisional)} of {fmt.count(evaluable)} provisional (follow-up window still open)"


def _itt(r: pd.Series) -> str:
    """'; counting the 214 without follow-up as not responding: 46% and 22%' (intention to treat, when shown)."""
    missed, response, remission = r.get("missed_follow_up"), r.get("itt_response_rate"), r.get("itt_remission_rate")
    if not (_known(missed) and missed > 0 and _known(response) and _known(remission)):
        return ""
    return (f"; counting the {fmt.count(missed)} without follow-up as not responding: {fmt.pct(response)} and "
            f"{fmt.pct(remission)}")


def rates_by_group(df, opts):
    df = _frame(df)
    instrument = opts.get("instrument", "PHQ9")
    breakdown = opts.get("breakdown", "indication")
    if df.empty:
        return []
    df = df[(df["instrument"] == instrument) & (df["evaluable"].fillna(1) > 0)]
    df = labels.named_groups(df, breakdown)
    lines = [_t(f"{r['_name']}: {labels.instrument(instrument)} response {_rate(r, 'response_rate', 'response_ci_low', 'response_ci_high', 'evaluable')}")
             for _, r in df.head(MAX_LINES).iterrows()]
    return _more(lines, len(df), "groups")


def completion_by_group(df, opts):
    df = _frame(df)
    if df.empty:
        return []
    df = labels.named_groups(df[df["induction_ended"].fillna(1) > 0], opts.get("breakdown", "indication"))
    lines = [_t(f"{r['_name']}: completed induction {_rate(r, 'induction_completion_rate', 'induction_completion_ci_low', 'induction_completion_ci_high', 'induction_ended')}")
             for _, r in df.head(MAX_LINES).iterrows()]
    return _more(lines, len(df), "groups")


def evaluability(df, opts):
    df = _frame(df)
    df = _instrument_sort(df[df["courses"].fillna(1) > 0]) if not df.empty else df
    lines = []
    for _, r in df.iterrows():
        name = labels.instrument(r["instrument"])
        if _known(r["evaluable"]) and _known(r["courses"]):
            lines.append(f"{name}: {fmt.count(r['evaluable'])} of {fmt.count(r['courses'])} courses evaluable")
        elif _known(r["courses"]):
            lines.append(f"{name}: {fmt.count(r['courses'])} courses, evaluable courses {HIDDEN}")
        else:
            lines.append(f"{name}: {_count(r['evaluable'], 'evaluable courses')}")
    return lines


def trajectory(df, opts):
    df = _frame(df)
    name = labels.instrument(opts.get("instrument", "PHQ9"))
    # the baseline's mean goes with its n where the outcome table hides the courses with a baseline: say so,
    # or "mean at session 2" reads as where the courses started
    baseline_hidden = not df.empty and bool(df.loc[df["session_number"] == 0, "mean_score"].isna().any())
    df = df[df["mean_score"].notna()].sort_values("session_number") if not df.empty else df
    if df.empty:
        return []
    first, lines = df.iloc[0], ([f"{name} baseline (session 0): {HIDDEN}"] if baseline_hidden else [])
    lines.append(_t(f"{name} mean at session {int(first['session_number'])}: {fmt.number(first['mean_score'])} "
                    f"(95% CI {fmt.number(first['ci_low'])}–{fmt.number(first['ci_high'])}, n={fmt.count(first['courses'])})"))
    for _, r in df.iloc[1:].iterrows():
        if r["session_number"] in (2, 6, 8) or _ is df.index[-1]:
            lines.append(_t(f"after session {int(r['session_number'])}: {fmt.number(r['mean_score'])} "
                            f"(95% CI {fmt.number(r['ci_low'])}–{fmt.number(r['ci_high'])}, n={fmt.count(r['courses'])})"))
    return lines[:MAX_LINES]


def early_signal(df, opts):
    df = _frame(df)
    df = _instrument_sort(df[df["courses"].fillna(1) > 0]) if not df.empty else df
    lines = []
    for _, r in df.iterrows():
        if not _known(r["mean_change"]):
            lines.append(f"{labels.instrument(r['instrument'])}: {HIDDEN}")
            continue
        ci = f" (95% CI {fmt.number(r['ci_low'])} to {fmt.number(r['ci_high'])})" if _known(r["ci_low"]) else ""
        lines.append(_t(f"{labels.instrument(r['instrument'])}: {fmt.signed(r['mean_change'], 1)} points{ci}, "
                        f"{fmt.pct(r['mean_change_fraction'])} of baseline, n={fmt.count(r['courses'])}"))
    return lines


def induction_funnel(df, opts):
    df = _frame(df)
    if df.empty:
        return []
    lines = []
    for family, part in df.sort_values("session_number").groupby("modality_family", sort=True):
        shown = part[part["share_of_courses"].notna()]
        if shown.empty:
            lines.append(f"{labels.modality(family)}: {HIDDEN}")
            continue
        last = shown.iloc[-1]  # the furthest session with its share shown
        waiting = last.get("still_in_induction")
        lines.append(_t(f"{labels.modality(family)}: {fmt.pct(last['share_of_courses'])} reached induction session "
                        f"{int(last['session_number'])} ({fmt.count(last['courses_reaching'])} of {fmt.count(last['courses'])})"
                        + (f"; {fmt.count(waiting)} still in induction" if pd.notna(waiting) and waiting else "")))
    return lines


def clinic_funnel(data, opts):
    clinics = _frame(data, "clinics")
    if clinics.empty:
        return []
    r = clinics.iloc[0]
    lines = [f"Network: {_share(r['network_rate'], r['network_events'], r['network_n'], digits=1)}"]
    shown = clinics[clinics["rate"].notna() & (clinics["n"].fillna(0) > 0)]
    hidden = len(clinics) - len(shown)
    if not _known(r["network_rate"]):  # no limits to be outside of: the hidden flags said "0 outside" (or crashed)
        return lines + [f"{plural(len(shown), 'clinic')} shown, not compared: the network rate is not shown"
                        + (f"; {hidden} {'has its rate' if hidden == 1 else 'have their rates'} not shown" if hidden else "")]
    outside = shown[shown["outside_998"].fillna(False).astype(bool)] if not shown.empty else shown
    only_95 = (shown[shown["outside_95"].fillna(False).astype(bool) & ~shown["outside_998"].fillna(False).astype(bool)]
               if not shown.empty and "outside_95" in shown else shown.iloc[0:0])
    lines.append(f"{plural(len(shown), 'clinic')} shown, {len(outside)} outside the 99.8% limits"
                 + (f", {len(only_95)} outside 95% only" if len(only_95) else "")
                 + (f"; {hidden} with {'its rate' if hidden == 1 else 'their rates'} not shown (small counts)"
                    if hidden else ""))
    # the clinics a board member would ask about, by name: outside 99.8% first, then outside 95% (may be chance)
    named = [(c, "") for _, c in outside.head(4).iterrows()]
    named += [(c, ", outside 95% only: may be chance") for _, c in only_95.head(max(0, 4 - len(outside))).iterrows()]
    for c, why in named:
        lines.append(_t(f"{c['clinic_name']}: {fmt.pct(c['rate'], 1)} ({fmt.count(c['events'])} of {fmt.count(c['n'])})"
                        f"{why}"))
    return lines


def item9(df, opts):
    df = _frame(df)
    if df.empty:
        return []
    r = df.iloc[0]
    changes = [f"{what} {fmt.count(r[what])}" for what in ("resolved", "emerged", "persisted") if _known(r[what])]
    hidden = [what for what in ("resolved", "emerged", "persisted") if not _known(r[what])]
    if not _known(r["courses_with_both"]):
        both = f"With both: {HIDDEN}"
    else:
        both = (f"With both (n={fmt.count(r['courses_with_both'])}): " + ", ".join(changes)
                + (("; " if changes else "") + " / ".join(hidden) + " " + HIDDEN if hidden else ""))
    return [
        f"Flagged at baseline: {_share(r['baseline_flag_rate'], r['flagged_at_baseline'], r['courses_with_baseline_item9'])}",
        f"Flagged at follow-up: {_share(r['follow_up_flag_rate'], r['flagged_at_follow_up'], r['courses_with_follow_up_item9'])}",
        both,
    ]


# ------------------------------------------------------------------------------------------ safety


def side_effects(data, opts):
    overall = _frame(data, "overall")
    if overall.empty:
        return []
    lines = []
    anyrow = overall[overall["effect"] == "any"]
    if not anyrow.empty:
        lines.append(_t("Any side effect: " + _rate(anyrow.iloc[0], "rate", "ci_low", "ci_high", "treated_sessions")))
    rest = overall[overall["effect"] != "any"].sort_values("rate", ascending=False, na_position="last")
    for _, r in rest.head(4).iterrows():
        lines.append(_t(f"{labels.effect(r['effect'])}: {_rate(r, 'rate', 'ci_low', 'ci_high', 'treated_sessions')}"))
    return lines


def _by_group(df: pd.DataFrame, rate="rate", low="ci_low", high="ci_high", n="treated_sessions", name="group_value",
              noun="groups") -> list[str]:
    lines = [_t(f"{r[name]}: {_rate(r, rate, low, high, n)}") for _, r in df.head(MAX_LINES).iterrows()]
    return _more(lines, len(df), noun)


def side_effects_by_dose(df, opts):
    from dashboard.charts.safety import DOSE_ORDER

    df = _frame(df)
    effect = opts.get("effect", "any")
    if df.empty:
        return []
    df = df[(df["effect"] == effect) & df["group_value"].notna()]
    df = df.assign(_o=df["group_value"].map({v: i for i, v in enumerate(DOSE_ORDER)}).fillna(99)).sort_values("_o")
    return [f"{labels.effect(effect)} by dose band:"] + _by_group(df, noun="dose bands")


def side_effects_by_session(df, opts):
    df = _frame(df)
    effect = opts.get("effect", "any")
    if df.empty:
        return []
    df = df[df["effect"] == effect].copy()
    df["_s"] = pd.to_numeric(df["group_value"], errors="coerce")
    df = df[df["_s"].isin([1, 2, 6, 8, 12])].sort_values("_s")
    return [_t(f"Session {int(r['_s'])}: {_rate(r, 'rate', 'ci_low', 'ci_high', 'treated_sessions')}") for _, r in df.iterrows()]


def interventions(df, opts):
    df = _frame(df)
    if df.empty:
        return []
    df = df.sort_values("rate", ascending=False, na_position="last")
    return [f"{labels.label(labels.INTERVENTIONS, r['intervention'])}: "
            + (f"{fmt.pct(r['rate'], 1)} ({fmt.count(r['sessions'])} sessions)" if _known(r["rate"]) and _known(r["sessions"])
               else HIDDEN) for _, r in df.head(MAX_LINES).iterrows()]


def bp_by_dose(df, opts):
    from dashboard.charts.safety import DOSE_ORDER

    df = _frame(df)
    if df.empty:
        return []
    df = df[df["group_value"].notna()]
    df = df.assign(_o=df["group_value"].map({v: i for i, v in enumerate(DOSE_ORDER)}).fillna(99)).sort_values("_o")
    return ["BP elevation by dose band:"] + _by_group(df, n="sessions_with_vitals", noun="dose bands")


def peak_rise(data, opts):
    s = _frame(data, "summary")
    if s.empty:
        return []
    r = s.iloc[0]
    return [
        (f"Median peak systolic rise {fmt.number(r['peak_rise_median'], 0)} mmHg (IQR {fmt.number(r['peak_rise_p25'], 0)}–"
         f"{fmt.number(r['peak_rise_p75'], 0)}){_n(r['sessions_with_vitals'])}" if _known(r["peak_rise_median"])
         else f"Median peak systolic rise {HIDDEN}"),
        _t("BP elevation (≥ 180 / ≥ 110 mmHg): " + _rate(r, "rate", "ci_low", "ci_high", "sessions_with_vitals")),
    ]


def vitals(df, opts):
    df = _frame(df)
    vital = opts.get("vital", "systolic")
    col = f"{vital}_median"
    if df.empty or col not in df or df[col].notna().sum() == 0:
        return []
    name, unit = labels.VITALS.get(vital, (vital, "")) if isinstance(labels.VITALS.get(vital), tuple) else (labels.VITALS.get(vital, vital), "")
    d = df[df[col].notna()]
    start = d[d["minute"] >= 0].head(1)
    peak = d.loc[[d[col].idxmax()]]
    lines = []
    for label, row in (("at the start", start), ("highest", peak)):
        if not row.empty:
            r = row.iloc[0]
            lines.append(_t(f"{name} median {label}: {fmt.number(r[col], 0)} {unit} at minute {int(r['minute'])} "
                            f"(IQR {fmt.number(r[f'{vital}_p25'], 0)}–{fmt.number(r[f'{vital}_p75'], 0)})").replace("  ", " "))
    return lines


def rems(df, opts):
    from dashboard.charts.safety import REMS_CHECKS

    df = _frame(df)
    if df.empty:
        return []
    r = df.iloc[0]
    lines = [_t("Complete REMS monitoring: " + _rate(r, "complete_rate", "complete_ci_low", "complete_ci_high", "esketamine_sessions"))]
    for column, name in REMS_CHECKS[:-1]:
        lines.append(f"{name}: " + (f"{fmt.count(r[column])} of {fmt.count(r['esketamine_sessions'])} sessions"
                                    if _known(r[column]) and _known(r["esketamine_sessions"]) else HIDDEN))
    return lines


def rems_by_clinic(df, opts):
    df = _frame(df)
    if df.empty:
        return []
    df = df.sort_values("clinic_name", key=lambda s: s.astype(str).str.lower())
    return _by_group(df, "complete_rate", "complete_ci_low", "complete_ci_high", "esketamine_sessions", "clinic_name", "clinics")


# ---------------------------------------------------------------------------------------- boosters


def interval_histogram(data, opts):
    s = _frame(data, "summary")
    if s.empty:
        return []
    r = s.iloc[0]
    if not _known(r["median_days"]):
        return [f"Median booster interval {HIDDEN}"]
    return [f"Median booster interval {fmt.days(r['median_days'])} (IQR {fmt.number(r['p25_days'], 0)}–"
            f"{fmt.number(r['p75_days'], 0)} days){_n(r['intervals'])}"]


def km(df, opts):
    df = _frame(df)
    if df.empty or df["booster_probability"].notna().sum() == 0:
        return []
    d = df[df["booster_probability"].notna()].sort_values("days")
    lines = [f"Courses that completed induction: n={fmt.count(d['at_risk'].max())}"]
    seen = set()
    for day in (30, 60, 90, 180):
        after = d[d["days"] >= day]  # the first day shown from the milestone on: its exact value
        if not after.empty and int(after["days"].iloc[0]) not in seen:
            r = after.iloc[0]
            seen.add(int(r["days"]))
            lines.append(f"By day {int(r['days'])}: {fmt.pct(r['booster_probability'])} had a first booster")
    if len(d) < len(df):
        lines.append(f"Curve shown to day {int(d['days'].max())}: later days would reveal small counts")
    return lines


def per_patient_year(data, opts):
    network, clinics = _frame(data, "network"), _frame(data, "clinics")
    lines = []
    if not network.empty:
        r = network.iloc[0]
        lines.append(f"Network: {fmt.number(r['boosters_per_patient_year'], 2)} boosters per patient-year "
                     f"({plural(r['boosters'], 'booster')})" if _known(r["boosters_per_patient_year"]) and _known(r["boosters"])
                     else f"Network: boosters per patient-year {HIDDEN}")
    shown = clinics[clinics["boosters_per_patient_year"].notna()] if not clinics.empty else clinics
    if not shown.empty:
        lo, hi = shown.loc[shown["boosters_per_patient_year"].idxmin()], shown.loc[shown["boosters_per_patient_year"].idxmax()]
        # With their intervals, lowest and highest are not read as a ranking. (A warehouse built
        # before the interval existed has no ci columns: the rates alone.)
        rate = [fmt.with_interval(r["boosters_per_patient_year"], r.get("ci_low"), r.get("ci_high"), 2) for r in (lo, hi)]
        lines.append(f"Lowest: {lo['clinic_name']} {rate[0]}; highest: {hi['clinic_name']} {rate[1]}")
    return lines


def intervals_by_clinic(df, opts):
    df = _frame(df)
    if df.empty:
        return []
    df = df.sort_values("clinic_name", key=lambda s: s.astype(str).str.lower())
    lines = [f"{r['clinic_name']}: median {fmt.days(r['median_days'])} (IQR {fmt.number(r['p25_days'], 0)}–"
             f"{fmt.number(r['p75_days'], 0)}){_n(r['intervals'])}" if _known(r["median_days"])
             else f"{r['clinic_name']}: {HIDDEN}" for _, r in df.head(MAX_LINES).iterrows()]
    return _more(lines, len(df), "clinics")


# ---------------------------------------------------------------------------------------- capacity


def _band_counts(df: pd.DataFrame) -> str:
    u = df["utilization"].dropna()
    return (f"{plural(len(u), 'clinic')}: {int((u < 0.7).sum())} below, {int(((u >= 0.7) & (u <= 0.8)).sum())} within, "
            f"{int((u > 0.8).sum())} above the 70–80% band")


def by_clinic(df, opts):
    df = _frame(df)
    if df.empty or df["utilization"].notna().sum() == 0:
        return []
    d = df[df["utilization"].notna()]
    lo, hi = d.loc[d["utilization"].idxmin()], d.loc[d["utilization"].idxmax()]
    return [_band_counts(d), f"Lowest: {lo['clinic_name']} {fmt.pct(lo['utilization'])}",
            f"Highest: {hi['clinic_name']} {fmt.pct(hi['utilization'])}"]


def by_week(df, opts):
    df = _frame(df)
    if df.empty or df["utilization"].notna().sum() == 0:
        return []
    d = df[df["utilization"].notna()]
    # whole weeks only when there are any: Q3's "highest week" was 29 Jun - 5 Jul, 3 of its days in the quarter
    # (81%, above the band), while no whole week was (operations audit)
    whole = d[d["days_in_period"] == 7] if "days_in_period" in d else d
    partial = len(whole) < len(d) and not whole.empty
    d = whole if not whole.empty else d
    lo, hi = d.loc[d["utilization"].idxmin()], d.loc[d["utilization"].idxmax()]
    which = "whole week" if partial else "week"

    def days(r) -> str:
        n = r.get("days_in_period")
        held = f" ({int(n)} of 7 days in the period)" if _known(n) and int(n) < 7 else ""
        closed = r.get("closed_holidays")  # the closed day still counts as available: the week reads lower
        return held + (f" (closed on {closed})" if isinstance(closed, str) and closed else "")
    return [f"Lowest {which}: {lo['clinic_name']}, week of {pd.Timestamp(lo['week_start']):%-d %b %Y}: "
            f"{fmt.pct(lo['utilization'])}{days(lo)}",
            f"Highest {which}: {hi['clinic_name']}, week of {pd.Timestamp(hi['week_start']):%-d %b %Y}: "
            f"{fmt.pct(hi['utilization'])}{days(hi)}"]


def weekday_hour(df, opts):
    df = _frame(df)
    if df.empty:
        return []
    clinic = opts.get("clinic_id") or df.sort_values("clinic_name")["clinic_id"].iloc[0]
    d = df[(df["clinic_id"] == clinic) & df["utilization"].notna()]
    if d.empty:
        return []
    hi = d.loc[d["utilization"].idxmax()]
    lo = d.loc[d["utilization"].idxmin()]
    return [f"{hi['clinic_name']}: busiest {hi['weekday_name']} {int(hi['hour']):02d}:00 ({fmt.pct(hi['utilization'])})",
            f"Quietest: {lo['weekday_name']} {int(lo['hour']):02d}:00 ({fmt.pct(lo['utilization'])})"]


def _chairs_text(chairs) -> str:
    return "" if chairs is None or pd.isna(chairs) else f"{int(chairs)} {'chair' if int(chairs) == 1 else 'chairs'}, "


def peak_chairs(df, opts):
    df = _frame(df)
    if df.empty or "chairs" not in df:
        return []
    d = df[df["peak_concurrent_chairs"].notna()]
    full = d[d["peak_concurrent_chairs"] >= d["chairs"]]
    # "; " between names: a clinic's name may hold a comma ("Interventional Psychiatry, Tulsa"); past four
    # names, how many more (the list read as complete when it stopped at four of eight)
    names = "; ".join(str(n) for n in full["clinic_name"].head(4))
    if len(full) > 4:
        names += f"; and {len(full) - 4} more"
    out = [f"{len(full)} of {len(d)} {'clinic' if len(d) == 1 else 'clinics'} used every chair at once"
           + (f": {names}" if names else "")]
    if "full_time_share" in d:  # for how long: nearly every clinic fills its chairs on nearly every day
        longest = d[d["full_time_share"].notna() & (d["open_days"] > 0)].sort_values(
            ["full_time_share", "clinic_name"], ascending=[False, True]).head(3)
        if not longest.empty:
            # with its chairs and utilization: at the same utilization a clinic of 3 chairs has all of them in use
            # far longer than one of 8 (an audit read the smallest, least used clinic as the one short of chairs)
            out.append("Longest with every chair in use: " + "; ".join(
                f"{r['clinic_name']} {fmt.share(r['full_time_share'])} of open hours "
                f"({_chairs_text(r.get('chairs'))}utilization {fmt.pct(r.get('utilization'))})"
                for _, r in longest.iterrows())
                + ". A clinic with fewer chairs fills all of them more often at the same utilization.")
    return out


def lost(df, opts):
    df = _frame(df)
    if df.empty or df["lost_share"].notna().sum() == 0:
        return []
    d = df[df["lost_share"].notna()].sort_values("lost_share", ascending=False)
    def missed(r):
        parts = [plural(r["no_show_sessions"], "no-show") if _known(r["no_show_sessions"]) else None,
                 plural(r["cancelled_sessions"], "cancellation") if _known(r["cancelled_sessions"]) else None]
        if all(parts):
            return f" ({parts[0]}, {parts[1]})"
        return f" ({parts[0] or parts[1]}; the rest {HIDDEN})" if any(parts) else ""
    return [f"{r['clinic_name']}: {fmt.pct(r['lost_share'], 1)} of chair-hours lost{missed(r)}" for _, r in d.head(4).iterrows()]


def quarantine(df, opts):
    df = _frame(df)
    if df.empty:
        return ["No quarantined rows"]
    d = df.sort_values("rows", ascending=False, na_position="last")
    return [f"{r['kind']}: {r['reason']} ({plural(r['rows'], 'row') if _known(r['rows']) else 'rows ' + HIDDEN})"
            for _, r in d.head(3).iterrows()]


WRITERS: dict[str, Callable] = {
    "overview.courses_by_month": courses_by_month,
    "outcomes.rates_by_instrument": rates_by_instrument,
    "outcomes.rates_by_group": rates_by_group,
    "outcomes.evaluability": evaluability,
    "outcomes.trajectory": trajectory,
    "outcomes.early_signal": early_signal,
    "outcomes.induction_funnel": induction_funnel,
    "outcomes.completion_by_group": completion_by_group,
    "outcomes.clinic_funnel": clinic_funnel,
    "outcomes.remission_funnel": clinic_funnel,
    "outcomes.completion_funnel": clinic_funnel,
    "outcomes.item9": item9,
    "safety.side_effects": side_effects,
    "safety.side_effects_by_dose": side_effects_by_dose,
    "safety.side_effects_by_session": side_effects_by_session,
    "safety.interventions": interventions,
    "safety.bp_by_dose": bp_by_dose,
    "safety.bp_funnel": clinic_funnel,
    "safety.severe_funnel": clinic_funnel,
    "safety.peak_rise": peak_rise,
    "safety.vitals": vitals,
    "safety.rems": rems,
    "safety.rems_by_clinic": rems_by_clinic,
    "boosters.interval_histogram": interval_histogram,
    "boosters.km": km,
    "boosters.per_patient_year": per_patient_year,
    "boosters.intervals_by_clinic": intervals_by_clinic,
    "capacity.by_clinic": by_clinic,
    "capacity.by_week": by_week,
    "capacity.weekday_hour": weekday_hour,
    "capacity.peak_chairs": peak_chairs,
    "capacity.lost": lost,
    "quality.quarantine_reasons": quarantine,
}


def sentences(chart_id: str, data, opts: dict | None = None) -> list[str]:
    """The chart's key figures in words (an empty list when it has nothing to say)."""
    writer = WRITERS.get(chart_id)
    if writer is None:
        return []
    try:
        return [s for s in writer(data, dict(opts or {})) if s]
    except (KeyError, ValueError, TypeError, IndexError):  # a chart whose data lacks a column: say nothing
        return []

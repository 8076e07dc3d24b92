"""What each catalog chart's data holds, for small-cell suppression (dashboard.suppression).

For every chart: which columns count people or events, which figures are rates or other figures
computed from those counts, and which cells add up to which total (in the same row, across the rows
of a group, in another part of the chart's data, or published elsewhere). `catalog.ChartSpec` carries
these as `spec.suppression`. Capacity figures (chairs, chair-hours, open days, utilization) are not
counts of people; the counts of sessions next to them are, and what is computed from them in the same
row (occupied and lost chair-hours, peak chairs) is hidden with them.
"""

from __future__ import annotations

from dashboard.suppression import (
    NONE, Cap, Chain, Derived, GroupSum, Needs, Rate, RowSum, RowsOf, Same, Steps, Suppression, TableRule, TotalRef,
)

# ---------------------------------------------------------------------------------------- outcomes

_OUTCOME_COUNTS = ("courses", "courses_with_baseline", "not_assessed", "no_baseline", "follow_up_open",
                   "no_follow_up", "baseline_below_minimum", "evaluable", "provisional", "settled", "responders",
                   "remitters", "missed_follow_up", "itt_courses")
_OUTCOME_RATES = (
    Rate(("response_rate", "response_ci_low", "response_ci_high"), "responders", "evaluable"),
    Rate(("remission_rate", "remission_ci_low", "remission_ci_high"), "remitters", "evaluable"),
    Rate(("itt_response_rate", "itt_response_ci_low", "itt_response_ci_high"), "responders", "itt_courses"),
    Rate(("itt_remission_rate", "itt_remission_ci_low", "itt_remission_ci_high"), "remitters", "itt_courses"),
)
_OUTCOME_ROWS = (
    RowSum("courses", ("not_assessed", "no_baseline", "courses_with_baseline")),
    RowSum("courses_with_baseline", ("follow_up_open", "no_follow_up", "baseline_below_minimum", "evaluable")),
    # not a remainder left unknown: in the data's last weeks every evaluable course is provisional, so a
    # reader knows the rest is 0 and that evaluable = provisional (a board-pack test found it)
    RowSum("evaluable", ("provisional", "settled")),
    # intention to treat: the evaluable and the missed follow-ups (qualifying baseline, window closed), and
    # the missed ones are part of no_follow_up (the rest: a baseline under the minimum)
    RowSum("itt_courses", ("evaluable", "missed_follow_up")),
    RowSum("no_follow_up", ("missed_follow_up",), rest=True),
)
# The intention-to-treat figures go whenever either of their parts is hidden: shown beside a hidden evaluable,
# with no_follow_up 0 (so missed_follow_up is 0 by its bound, not by any sum), itt_courses gave evaluable, the
# courses with a baseline, and a hidden no_baseline of 1 away (the board-pack disclosure test)
_OUTCOME_ITT = (Derived(("itt_courses", "itt_response_rate", "itt_response_ci_low", "itt_response_ci_high",
                         "itt_remission_rate", "itt_remission_ci_low", "itt_remission_ci_high"),
                        ("evaluable", "missed_follow_up")),)
# the rates' denominator: when a complement must go and another cell will do, it stays (MADRS, Q1 2026: one
# course without a baseline took courses with a baseline, then evaluable (56) beside no follow-up (58))
_OUTCOME_KEEP = ("evaluable",)
OUTCOME_RATES = Suppression.table(counts=_OUTCOME_COUNTS, rates=_OUTCOME_RATES, row_sums=_OUTCOME_ROWS,
                                  same=(Same("courses"),), derived=_OUTCOME_ITT, keep=_OUTCOME_KEEP)
# by a breakdown: the groups of one instrument add up to the instrument's figures (Outcomes, Overview)
OUTCOME_RATES_BY_GROUP = Suppression.table(
    counts=_OUTCOME_COUNTS, rates=_OUTCOME_RATES, row_sums=_OUTCOME_ROWS, derived=_OUTCOME_ITT, keep=_OUTCOME_KEEP,
    same=(Same("courses", ("group_value",)),),
    group_sums=tuple(GroupSum(c, ("instrument",)) for c in _OUTCOME_COUNTS),
)

# courses by month (Overview) or by group (induction completion by indication, modality or medication): the groups
# add up to the period's courses, which the Overview's cards state
COURSES_BY_GROUP = Suppression.table(
    counts=("courses", "completed_induction", "still_in_induction", "induction_ended"),
    rates=(Rate(("induction_completion_rate", "induction_completion_ci_low", "induction_completion_ci_high"),
                "completed_induction", "induction_ended"),),
    # courses = still in induction + induction ended (completed or stopped)
    row_sums=(RowSum("courses", ("still_in_induction", "induction_ended")),
              RowSum("induction_ended", ("completed_induction",), rest=True)),
    group_sums=(GroupSum("courses"), GroupSum("completed_induction"), GroupSum("still_in_induction"),
                GroupSum("induction_ended")),
)

# The trajectory's n at the baseline (session 0) is the outcome table's courses with a baseline, which that
# table hides when the courses without one are few (courses 144 - with a baseline 140 = 4 not assessed or
# without a baseline: an audit found it in 49 of 60 one-clinic board packs). So the trajectory's data carries
# the outcome table ("rates", never drawn), solved first exactly as the outcome charts solve it, and the
# baseline row hides what that table hides, with what its own rules then need.
TRAJECTORY = Suppression.parts(**{
    "": TableRule(
        counts=("courses", "courses_with_baseline"),
        derived=(Derived(("mean_score", "sd_score", "ci_low", "ci_high"), ("courses",)),
                 Derived(("mean_change", "sd_change", "change_ci_low", "change_ci_high"), ("courses_with_baseline",))),
        row_sums=(RowSum("courses", ("courses_with_baseline",), rest=True),),  # the rest: scored without a baseline
        rows_of=RowsOf("rates", ("instrument",), columns=(("courses", "courses_with_baseline"),
                                                          ("courses_with_baseline", "courses_with_baseline")),
                       when=(("session_number", 0),)),
    ),
    "rates": OUTCOME_RATES.tables[""],
})

EARLY_SIGNAL = Suppression.table(
    counts=("courses",),
    derived=(Derived(("mean_change", "sd_change", "median_change", "mean_change_fraction", "ci_low", "ci_high"),
                     ("courses",)),),
)

INDUCTION_FUNNEL = Suppression.table(
    counts=("courses_reaching", "courses", "still_in_induction"),
    rates=(Rate(("share_of_courses",), "courses_reaching", "courses"),),
    same=(Same("courses", ("modality_family",)), Same("still_in_induction", ("modality_family",))),
    # courses reaching session k minus those reaching k+1: the courses that stopped at k
    chains=(Chain("courses_reaching", ("modality_family",), "session_number"),),
    # the families' courses (and those still in induction) add up to the period's (Overview, Outcomes)
    group_sums=(GroupSum("courses", exclude=(("session_number", tuple(range(2, 100))),)),
                GroupSum("still_in_induction", exclude=(("session_number", tuple(range(2, 100))),))),
)

# A funnel plot compares the selected clinics with the network: every clinic the viewer may see, selected or
# not (queries.clinic_comparison). The network totals hold the clinics left out too: with one clinic left out,
# network minus the clinics shown is that clinic's count (an audit read DEN's 6 BP elevations off a CSV of NYC
# and OKC). So the query returns every clinic's row as well ("network", never drawn), the rule is solved on
# those first, and a selection hides at least what that table hides: whatever the clinics chosen, and however
# many selections a reader compares, the figures shown are a subset of one safe table. The selection's own
# sums carry the clinics left out as a remainder, protected like any count.
_FUNNEL_RULE = dict(
    counts=("events", "n", "network_events", "network_n"),
    rates=(Rate(("rate", "outside_95", "outside_998"), "events", "n"),
           Rate(("network_rate",), "network_events", "network_n")),
    # the limits at a clinic's n are binomial quantiles of the network rate, and where the clinic sits
    # against them says something of it: hidden with the network's figures too (scanning k / network_n
    # against shown limits gave a hidden network count back)
    derived=(Derived(("lower_95", "upper_95", "lower_998", "upper_998", "outside_95", "outside_998"),
                     ("n", "network_events", "network_n")),),
    same=(Same("network_events"), Same("network_n")),
    group_sums=(GroupSum("events", total="network_events", rest=True),
                GroupSum("n", total="network_n", rest=True)),
)
CLINIC_FUNNEL = Suppression.parts(
    clinics=TableRule(**_FUNNEL_RULE, rows_of=RowsOf("network", ("clinic_id",))),
    # the limits: quantiles of the network rate on a grid of n: gone when the network rate is hidden, and
    # stopped at the largest clinic shown
    limits=TableRule(cap=Cap("n", "clinics", "n"), needs=(Needs("clinics", "network_rate"),)),
    network=TableRule(**_FUNNEL_RULE),
)

ITEM9 = Suppression.table(
    counts=("courses_with_baseline_item9", "flagged_at_baseline", "courses_with_follow_up_item9",
            "flagged_at_follow_up", "courses_with_both", "resolved", "emerged", "persisted"),
    rates=(Rate(("baseline_flag_rate",), "flagged_at_baseline", "courses_with_baseline_item9"),
           Rate(("follow_up_flag_rate",), "flagged_at_follow_up", "courses_with_follow_up_item9")),
    row_sums=(RowSum("courses_with_both", ("resolved", "emerged", "persisted"), rest=True),
              RowSum("courses_with_baseline_item9", ("courses_with_both",), rest=True),
              RowSum("courses_with_follow_up_item9", ("courses_with_both",), rest=True),
              RowSum("flagged_at_baseline", ("resolved", "persisted"), rest=True),
              RowSum("flagged_at_follow_up", ("emerged", "persisted"), rest=True)),
    # a clinician reads the changes first: a complement is taken from the totals before them
    keep=("emerged", "persisted", "resolved"),
)

# ------------------------------------------------------------------------------------------ safety

_SE_RATE = Rate(("rate", "ci_low", "ci_high"), "sessions", "treated_sessions")
_SE_OVERALL = TableRule(counts=("sessions", "treated_sessions"), rates=(_SE_RATE,), same=(Same("treated_sessions"),))
SIDE_EFFECTS_BY_SEVERITY = Suppression.parts(
    by_severity=TableRule(
        counts=("sessions", "treated_sessions"), rates=(_SE_RATE,), same=(Same("treated_sessions"),),
        # one row per session and effect: an effect's severities add up to the effect
        group_sums=(GroupSum("sessions", ("effect",), total_ref=TotalRef("overall", "sessions", ("effect",)),
                             exclude=(("effect", ("any",)),)),),
    ),
    overall=_SE_OVERALL,
)
# by dose band or session number: the groups of one effect add up to the effect (Safety); treated
# sessions are one figure per group, repeated for every effect: the "any" rows list every group
SIDE_EFFECTS_BY_GROUP = Suppression.table(
    counts=("sessions", "treated_sessions"), rates=(_SE_RATE,),
    same=(Same("treated_sessions", ("group_value",)),),
    group_sums=(GroupSum("sessions", ("effect",)), GroupSum("treated_sessions", only=(("effect", ("any",)),))),
)
INTERVENTIONS = Suppression.table(counts=("sessions", "treated_sessions"),
                                  rates=(Rate(("rate",), "sessions", "treated_sessions"),),
                                  same=(Same("treated_sessions"),))

_BP_COUNTS = ("treated_sessions", "sessions_with_vitals", "elevated_sessions")
_BP_RULE = dict(
    counts=_BP_COUNTS,
    rates=(Rate(("rate", "ci_low", "ci_high"), "elevated_sessions", "sessions_with_vitals"),),
    derived=(Derived(("peak_rise_p25", "peak_rise_median", "peak_rise_p75", "peak_rise_mean"), ("sessions_with_vitals",)),),
    row_sums=(RowSum("treated_sessions", ("sessions_with_vitals",), rest=True),),
)
BP_BY_GROUP = Suppression.table(**_BP_RULE, group_sums=tuple(GroupSum(c) for c in _BP_COUNTS))
PEAK_RISE = Suppression.parts(
    histogram=TableRule(counts=("sessions",),
                        group_sums=(GroupSum("sessions", total_ref=TotalRef("summary", "sessions_with_vitals")),)),
    summary=TableRule(**_BP_RULE),
)

_VITALS = ("systolic", "diastolic", "heart_rate", "spo2", "respiratory_rate")
VITALS = Suppression.table(
    counts=("readings",),
    derived=(Derived(tuple(f"{v}_{s}" for v in _VITALS for s in ("p25", "median", "p75")), ("readings",)),),
)

_REMS_CHECKS = ("monitored_2h", "bp_before_dosing", "bp_minute_40", "bp_at_end", "complete")
_REMS_RULE = dict(
    counts=("esketamine_sessions", *_REMS_CHECKS),
    rates=(Rate(("complete_rate", "complete_ci_low", "complete_ci_high"), "complete", "esketamine_sessions"),),
    # the chart draws "not met" = sessions - met for every check
    row_sums=tuple(RowSum("esketamine_sessions", (c,), rest=True) for c in _REMS_CHECKS),
)
REMS = Suppression.table(**_REMS_RULE)
REMS_BY_CLINIC = Suppression.table(**_REMS_RULE,
                                   group_sums=tuple(GroupSum(c) for c in ("esketamine_sessions", *_REMS_CHECKS)))

# ---------------------------------------------------------------------------------------- boosters

_INTERVAL_SUMMARY = TableRule(counts=("intervals",),
                              derived=(Derived(("median_days", "p25_days", "p75_days", "mean_days"), ("intervals",)),))
BOOSTER_HISTOGRAM = Suppression.parts(
    histogram=TableRule(counts=("intervals",),
                        group_sums=(GroupSum("intervals", total_ref=TotalRef("summary", "intervals")),)),
    summary=_INTERVAL_SUMMARY,
)
BOOSTER_INTERVALS_BY_CLINIC = Suppression.table(
    counts=("intervals",),
    derived=(Derived(("median_days", "p25_days", "p75_days", "mean_days"), ("intervals",)),),
    group_sums=(GroupSum("intervals"),),
)
BOOSTER_KM = Suppression.table(
    counts=("at_risk", "events", "censored"),
    steps=Steps("days", "at_risk", "events", "censored",
                ("survival", "booster_probability", "survival_ci_low", "survival_ci_high")),
)
BOOSTERS_PER_PATIENT_YEAR = Suppression.parts(
    clinics=TableRule(counts=("boosters",),
                      derived=(Derived(("boosters_per_patient_year", "ci_low", "ci_high"), ("boosters",)),),
                      group_sums=(GroupSum("boosters", total_ref=TotalRef("network", "boosters")),)),
    network=TableRule(counts=("boosters",),
                      derived=(Derived(("boosters_per_patient_year", "ci_low", "ci_high"), ("boosters",)),)),
)

# ---------------------------------------------------------------------------------------- capacity

UTILIZATION = Suppression.table(
    counts=("treated_sessions", "no_show_sessions", "cancelled_sessions"),
    derived=(Derived(("occupied_chair_hours", "utilization", "peak_concurrent_chairs", "full_days", "full_day_share",
                      "full_hours", "full_time_share"), ("treated_sessions",)),
             Derived(("lost_chair_hours", "lost_share"), ("no_show_sessions", "cancelled_sessions")),
             Derived(("no_show_chair_hours", "no_show_share"), ("no_show_sessions",)),
             Derived(("cancelled_chair_hours", "cancelled_share"), ("cancelled_sessions",))),
    group_sums=(GroupSum("treated_sessions"), GroupSum("no_show_sessions"), GroupSum("cancelled_sessions")),
)
# per clinic and week: the same figures, and a clinic's weeks add up to its period (capacity.by_clinic).
# Lost chair-hours are the week's missed sessions times the clinic's chair time: shown beside a small
# count of missed sessions, they would give it away.
UTILIZATION_BY_WEEK = Suppression.table(
    counts=("treated_sessions", "no_show_sessions", "cancelled_sessions"),
    derived=(Derived(("occupied_chair_hours", "utilization", "peak_concurrent_chairs"), ("treated_sessions",)),
             Derived(("lost_chair_hours",), ("no_show_sessions", "cancelled_sessions"))),
    group_sums=(GroupSum("treated_sessions", ("clinic_id",)), GroupSum("no_show_sessions", ("clinic_id",)),
                GroupSum("cancelled_sessions", ("clinic_id",))),
)

# ---------------------------------------------------------------------------------------- planning

# The plan's observed weeks (new courses, treated sessions of one clinic) are counts: a quiet week has 2
# new patients. The weeks add up to the clinic's figures of the same days elsewhere (Overview, Capacity),
# so one hidden week is never left alone to be worked out. Forecasts and projections are model output
# (expected values of many weeks' history), not counts of anyone.
PLAN_HISTORY = Suppression.parts(
    history=TableRule(counts=("new_courses", "sessions"),
                      group_sums=(GroupSum("new_courses"), GroupSum("sessions"))),
)

# ------------------------------------------------------------------------------------ data quality

QUARANTINE_REASONS = Suppression.table(counts=("rows",))

RULES: dict[str, Suppression] = {
    "overview.courses_by_month": COURSES_BY_GROUP,
    "outcomes.rates_by_instrument": OUTCOME_RATES,
    "outcomes.rates_by_group": OUTCOME_RATES_BY_GROUP,
    "outcomes.evaluability": OUTCOME_RATES,
    "outcomes.trajectory": TRAJECTORY,
    "outcomes.early_signal": EARLY_SIGNAL,
    "outcomes.induction_funnel": INDUCTION_FUNNEL,
    "outcomes.completion_by_group": COURSES_BY_GROUP,
    "outcomes.clinic_funnel": CLINIC_FUNNEL,
    "outcomes.remission_funnel": CLINIC_FUNNEL,
    "outcomes.completion_funnel": CLINIC_FUNNEL,
    "outcomes.item9": ITEM9,
    "safety.side_effects": SIDE_EFFECTS_BY_SEVERITY,
    "safety.side_effects_by_dose": SIDE_EFFECTS_BY_GROUP,
    "safety.side_effects_by_session": SIDE_EFFECTS_BY_GROUP,
    "safety.interventions": INTERVENTIONS,
    "safety.bp_by_dose": BP_BY_GROUP,
    "safety.bp_funnel": CLINIC_FUNNEL,
    "safety.severe_funnel": CLINIC_FUNNEL,
    "safety.peak_rise": PEAK_RISE,
    "safety.vitals": VITALS,
    "safety.rems": REMS,
    "safety.rems_by_clinic": REMS_BY_CLINIC,
    "boosters.interval_histogram": BOOSTER_HISTOGRAM,
    "boosters.km": BOOSTER_KM,
    "boosters.per_patient_year": BOOSTERS_PER_PATIENT_YEAR,
    "boosters.intervals_by_clinic": BOOSTER_INTERVALS_BY_CLINIC,
    "capacity.by_clinic": UTILIZATION,
    "capacity.by_week": UTILIZATION_BY_WEEK,
    "capacity.weekday_hour": NONE,  # chair-minutes per weekday and hour: no count of people
    "capacity.peak_chairs": UTILIZATION,
    "capacity.lost": UTILIZATION,
    "quality.quarantine_reasons": QUARANTINE_REASONS,
    "planning.new_patients": PLAN_HISTORY,
    "planning.sessions": PLAN_HISTORY,
}

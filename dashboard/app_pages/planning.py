"""Planning: chairs, opening hours and days for one clinic over the weeks ahead; what-if scenarios,
saved, loaded, deleted and compared side by side (issue 7, docs/planning.md).

Layout only: plans and saved scenarios come from dashboard.plan_queries (scoped, cached by warehouse
version and scenario), charts from the catalog. The scenario on screen lives in the session (canonical:
`pl_applied`, the scenario as JSON) and in the URL (`plan_*`, only what differs from no change); the
form's widgets are filled from it whenever it changes (clinic, link, loaded scenario), and a plan is
only computed when the form is submitted, never while inputs are edited.
"""

import datetime as dt
import json

import streamlit as st

from dashboard import auth, capacity_inputs, queries
from dashboard import format as fmt
from dashboard import plan_queries as pq
from dashboard import ui
from dashboard.charts import planning as pc
from pipelines.errors import UsageError
from pipelines.plan.holidays import HOLIDAY_NAMES
from pipelines.plan.protocol import MODALITIES, WEEKDAYS
from pipelines.plan.report import (alternatives_text, amount, busy_days_text, holiday_weeks_text, holidays_text,
                                   peak_overflow_text, peak_text, target_verdict)
from pipelines.plan.scenario import Scenario
from pipelines.users.audit import AuditError

K_INIT, K_CLINIC_VALUE, K_APPLIED = "pl_init", "pl_clinic_value", "pl_applied"
K_SYNCED, K_URL_MESSAGES, K_NOTICE = "pl_synced", "pl_url_messages", "pl_notice"
K_CLINIC, K_COMPARE, K_PICK = "pl_clinic", "pl_compare", "pl_pick"
# the holidays the last plan's clinic closed on by its sessions; and "fill the holidays box with them" (the form
# is filled before the plan, which reads them)
K_CLOSED_OBSERVED, K_CLOSED_FILL = "pl_closed_observed", "pl_closed_fill"
ON_SCREEN, SAVED = "screen", "saved:"  # compare options: the scenario on screen, "saved:<name>"
MODALITY_LABELS = {"iv_ketamine": "IV ketamine", "im_ketamine": "IM ketamine", "esketamine_nasal": "Esketamine"}
COMPARED_LABELS = {
    "booked_utilization": "Booked utilization", "utilization": "Utilization", "sessions": "Sessions",
    "mean_wait_days": "Mean wait for a first infusion", "overflow_chair_hours": "Peak-hour overflow",
    "new_courses": "New patients",
}
DEFAULT_CAPACITY = {"chairs": 4, "opens_at": "08:00", "closes_at": "17:00", "open_days": WEEKDAYS[:5]}
LIMITS = {key: (lowest, highest) for key, (lowest, highest, _) in pq.FORM_LIMITS.items()}  # the widgets' bounds
ss = st.session_state


# ------------------------------------------------------------------------------------ helpers


def _time(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours) % 24, int(minutes))


def _applied() -> Scenario:
    try:
        return Scenario.from_json(ss[K_APPLIED])
    except (KeyError, UsageError):
        return pq.baseline()


def _set_applied(s: Scenario) -> None:
    ss[K_APPLIED] = s.to_json()


def _fill_form(s: Scenario, cap: dict) -> None:
    """Write the scenario into the form's widgets (before they are drawn)."""
    ss["pl_chairs"] = s.chairs if s.chairs is not None else cap["chairs"]
    ss["pl_opens"] = _time(s.opens_at or cap["opens_at"])
    ss["pl_closes"] = _time(s.closes_at or cap["closes_at"])
    ss["pl_days"] = list(s.open_days if s.open_days is not None else cap["open_days"])
    ss["pl_closed"] = list(s.closed_on or ())
    ss[K_CLOSED_FILL] = s.closed_on is None  # the observed ones, once the plan has read them
    ss["pl_new"] = float(s.new_patients_per_week) if s.new_patients_per_week is not None else None
    ss["pl_demand"] = float(s.demand_multiplier)
    ss["pl_noshow"] = float(s.no_show_rate) * 100 if s.no_show_rate is not None else None
    minutes = s.chair_minutes
    for m in MODALITIES:
        value = minutes.get(m) if isinstance(minutes, dict) else minutes
        ss[f"pl_min_{m}"] = float(value) if value is not None else None
    ss["pl_target"] = int(round(s.target_utilization * 100))
    ss["pl_weeks"] = int(s.horizon_weeks)


FORM_KEYS = ("pl_chairs", "pl_opens", "pl_closes", "pl_days", "pl_closed", "pl_new", "pl_demand", "pl_noshow",
             *(f"pl_min_{m}" for m in MODALITIES), "pl_target", "pl_weeks")


def _same_changes(a: Scenario, b: Scenario) -> bool:
    skip = {"format", "name", "note", "clinic_id"}
    return {k: v for k, v in a.to_json().items() if k not in skip} == {k: v for k, v in b.to_json().items()
                                                                        if k not in skip}


def _no_show(previous: Scenario) -> float | None:
    value = ss.get("pl_noshow")
    if value is None:
        return None
    if previous.no_show_rate is not None and value == previous.no_show_rate * 100:  # untouched: keep it exact
        return previous.no_show_rate
    return float(value) / 100


def _scenario_from_form(cap: dict, has_capacity: bool, previous: Scenario) -> Scenario:
    """The scenario the form describes; a value equal to the clinic's current one is left blank (kept)."""
    chairs = int(ss["pl_chairs"])
    opens, closes = ss["pl_opens"].strftime("%H:%M"), ss["pl_closes"].strftime("%H:%M")
    days = tuple(d for d in WEEKDAYS if d in set(ss["pl_days"] or ()))
    if not days:
        raise UsageError("a clinic needs at least one open day")
    closed = tuple(h for h in HOLIDAY_NAMES if h in set(ss.get("pl_closed") or ()))
    # the holidays the clinic's sessions show it closed on (the last plan's): kept blank (observed) when unchanged
    observed_closed = tuple(ss.get(K_CLOSED_OBSERVED) or ())
    minutes = {m: float(ss[f"pl_min_{m}"]) for m in MODALITIES if ss.get(f"pl_min_{m}") is not None}
    fields = dict(
        horizon_weeks=int(ss["pl_weeks"]),
        chairs=None if has_capacity and chairs == cap["chairs"] else chairs,
        opens_at=None if has_capacity and (opens, closes) == (cap["opens_at"], cap["closes_at"]) else opens,
        closes_at=None if has_capacity and (opens, closes) == (cap["opens_at"], cap["closes_at"]) else closes,
        open_days=None if has_capacity and days == tuple(cap["open_days"]) else days,
        closed_on=None if closed == observed_closed and previous.closed_on is None else closed,
        new_patients_per_week=float(ss["pl_new"]) if ss.get("pl_new") is not None else None,
        demand_multiplier=float(ss["pl_demand"]),
        no_show_rate=_no_show(previous),
        chair_minutes=minutes or None,
        target_utilization=int(ss["pl_target"]) / 100,
        as_of=previous.as_of,
    )
    candidate = Scenario(name="check", **fields)
    if pq.changes_nothing(candidate):
        name, note = pq.BASELINE_NAME, ""
    elif _same_changes(candidate, previous):
        name, note = previous.name, previous.note
    elif previous.name in (pq.BASELINE_NAME, pq.WHAT_IF) or previous.name.endswith("(edited)"):
        name, note = (previous.name if previous.name.endswith("(edited)") else pq.WHAT_IF), ""
    else:
        name, note = f"{previous.name[:55]} (edited)", ""
    return candidate.replace(name=name, note=note)


# ---------------------------------------------------------------------------------- callbacks


def _on_clinic(keep: Scenario) -> None:
    ss[K_CLINIC_VALUE] = ss[K_CLINIC]
    _set_applied(pq.baseline(keep.horizon_weeks, keep.target_utilization))
    ss[K_COMPARE] = []
    ss[K_NOTICE] = None


def _on_plan(cap: dict, has_capacity: bool) -> None:
    try:
        scenario = _scenario_from_form(cap, has_capacity, _applied())
    except UsageError as exc:
        ss[K_NOTICE] = ("warning", f"Not planned: {exc}. The figures below are still those of the previous scenario.")
        return
    _set_applied(scenario)
    ss[K_NOTICE] = None


def _on_reset() -> None:
    keep = _applied()
    _set_applied(pq.baseline(keep.horizon_weeks, keep.target_utilization))
    ss[K_NOTICE] = None


def _on_save(scope, clinic: str) -> None:
    name = (ss.get("pl_save_name") or "").strip()
    scenario = _applied().replace(note=(ss.get("pl_save_note") or "").strip()[:200]) if name else None
    try:
        if scenario is None:
            raise pq.PlanUnavailable("Give the scenario a name to save it.")
        _, replaced = pq.save(scope, clinic, scenario.replace(name=name))
    except (pq.PlanUnavailable, UsageError) as exc:
        ss[K_NOTICE] = ("warning", f"Not saved: {exc}")
        return
    _set_applied(scenario.replace(name=name))
    ss[K_PICK] = name
    ss[K_NOTICE] = ("success", f"{'Replaced' if replaced else 'Saved'} “{name}”.")
    _log_change("scenario_saved", name, clinic, kind="replaced" if replaced else "new")


def _on_load(saved: dict[str, Scenario]) -> None:
    chosen = saved.get(ss.get(K_PICK))
    if chosen is None:
        return
    problem = pq.form_problem_of(chosen)  # saved by the plan command, with a value this form cannot show
    if problem:
        ss[K_NOTICE] = ("warning", f"Not loaded: “{chosen.name}” asks for a value this page cannot show "
                                   f"({problem}). It can still be compared below, or planned with "
                                   "`python -m pipelines plan`.")
        return
    _set_applied(chosen.replace(clinic_id=None))
    ss[K_NOTICE] = ("success", f"Loaded “{chosen.name}”.")


def _on_delete(scope, clinic: str) -> None:
    name = ss.get(K_PICK)
    try:
        removed = bool(name) and pq.delete(scope, clinic, name)
    except pq.PlanUnavailable as exc:
        ss[K_NOTICE] = ("warning", f"Not deleted: {exc}")
        return
    ss[K_COMPARE] = [c for c in ss.get(K_COMPARE, []) if c != SAVED + str(name)]
    ss[K_NOTICE] = ("success", f"Deleted “{name}”.") if removed else ("warning", f"“{name}” was already gone.")
    if removed:
        _log_change("scenario_deleted", name, clinic)


def _log_change(event: str, name: str, clinic: str, **details) -> None:
    """Saved scenarios are shared with everyone who plans the clinic: who changed one goes to the
    access log. The change itself is made first (a scenario is no patient data); when the log cannot
    be written, the notice says so."""
    try:
        auth.record_change(event, what=name, clinics=[clinic], **details)
    except AuditError as exc:
        _, text = ss[K_NOTICE]
        ss[K_NOTICE] = ("warning", f"{text} The access log could not record it: {exc}.")


# ------------------------------------------------------------------------------------- header

s = ui.state()
st.title("Planning")
if not s.ready:
    st.info("**No data has been loaded yet.** Load an extract batch with `python -m pipelines load DIR` (or "
            "`make run` for the bundled sample); a clinic can be planned from its history on the next refresh.")
    st.stop()
st.markdown("<span style='color:#5B6675'>Chairs, opening hours and days for the weeks ahead: projected "
            "utilization, peak hours, waits for a first infusion, and the fewest chairs for a target. Change the "
            "scenario, plan it, save it, compare it.</span>", unsafe_allow_html=True)
clinics = pq.plannable_clinics(s.scope)
if not clinics:
    st.info("**No clinic to plan.** Your access does not include any clinic of this warehouse.")
    ui.footer()
    st.stop()
if s.options.data_end is None:
    st.info("**No treatment sessions are loaded yet.** A plan starts from a clinic's history of new courses and "
            "sessions; load a batch with sessions and plan on the next refresh.")
    ui.footer()
    st.stop()

# the clinic and scenario on screen: from the link once per session, then from the session
if not ss.get(K_INIT):
    params = {key: st.query_params.get_all(key) for key in (pq.URL_CLINIC, *pq.URL_FIELDS)}
    url_clinic, url_scenario, messages = pq.scenario_from_url(params, clinics)
    if params[pq.URL_CLINIC] and url_clinic is None and not pq.changes_nothing(url_scenario):
        messages.append("The scenario in the link was for that clinic, so it is not applied either.")
        url_scenario = pq.baseline(url_scenario.horizon_weeks, url_scenario.target_utilization)
    ss[K_CLINIC_VALUE] = url_clinic or pq.default_clinic(s.filters, clinics)
    _set_applied(url_scenario)
    ss[K_URL_MESSAGES] = messages
    ss[K_INIT] = True
if ss.get(K_CLINIC_VALUE) not in clinics:
    ss[K_CLINIC_VALUE] = pq.default_clinic(s.filters, clinics)
    _set_applied(pq.baseline())
if ss.get(K_CLINIC) not in clinics:
    ss[K_CLINIC] = ss[K_CLINIC_VALUE]

st.caption(f"A plan reads all of the clinic's history up to {fmt.date(s.options.data_end)} and projects the weeks "
           "after it; the sidebar's period, modality and indication filters do not apply on this page.")
for message in ss.get(K_URL_MESSAGES, []):
    st.warning(ui.md_escape(message), icon=":material/link_off:")

scenario = _applied()
top = st.columns([2, 3])
clinic = top[0].selectbox("Clinic", list(clinics), format_func=lambda c: clinics.get(c, c), key=K_CLINIC,
                          on_change=_on_clinic, args=(scenario,))
capacity = pq.current_capacity(s.scope, clinic)
has_capacity = capacity is not None
cap = capacity or DEFAULT_CAPACITY
if has_capacity:
    top[1].markdown(
        f"<div style='padding-top:2.1rem;color:#5B6675'>Now: <b>{cap['chairs']} chairs</b>, "
        f"{cap['opens_at']}–{cap['closes_at']}, {capacity_inputs.days_text(cap['open_days'])} "
        f"(since {fmt.date(cap['valid_from'])})</div>", unsafe_allow_html=True)
# the plan starts from the row valid on the data's last day: a quarantined row matters if it reaches that day
warning = capacity_inputs.warning_text(queries.capacity_quarantine(s.scope, [clinic]), subject="the plan starts from",
                                       start=s.options.data_end, until=s.options.data_end)
if warning:  # the plan starts from the capacity row in use: a quarantined newer row is not in it
    st.warning(ui.md_escape(warning), icon=":material/event_seat:")

marker = json.dumps([clinic, ss[K_APPLIED], cap["chairs"]], sort_keys=True, default=str)
if ss.get(K_SYNCED) != marker or any(k not in ss for k in FORM_KEYS):
    _fill_form(scenario, cap)
    ss[K_SYNCED] = marker

form_box = st.container()
notice_box = st.container()
results = st.container()

# ------------------------------------------------------------------------------------ the plan

with results:
    plan, problem = None, None
    try:
        with st.spinner(f"Planning {clinics[clinic]}: forecast, protocol and schedule (a few seconds)…"):
            plan = pq.plan(s.scope, clinic, scenario)
    except pq.PlanUnavailable as exc:
        problem = str(exc)

# URL: the clinic and what the scenario changes
wanted = pq.scenario_to_url(clinic, scenario)
for key in (pq.URL_CLINIC, *pq.URL_FIELDS):
    if key in wanted:
        if st.query_params.get(key) != wanted[key]:
            st.query_params[key] = wanted[key]
    elif key in st.query_params:
        del st.query_params[key]

# ------------------------------------------------------------------------------------ the form

observed = plan.observed if plan is not None else {}
ss[K_CLOSED_OBSERVED] = [h for h in HOLIDAY_NAMES if (observed.get("holidays_seen") or {}).get(h, {}).get("closed")]
if ss.pop(K_CLOSED_FILL, False):
    ss["pl_closed"] = list(ss[K_CLOSED_OBSERVED])
with form_box, st.form("pl_form"):
    st.markdown("**Scenario** · capacity starts from what the clinic has now; a blank figure keeps the observed "
                "one (shown in grey)")
    row = st.columns([1, 1, 1, 3])
    row[0].number_input("Chairs", min_value=int(LIMITS["chairs"][0]), max_value=int(LIMITS["chairs"][1]), step=1,
                        key="pl_chairs")
    row[1].time_input("Opens", step=dt.timedelta(minutes=30), key="pl_opens")
    row[2].time_input("Closes", step=dt.timedelta(minutes=30), key="pl_closes")
    row[3].multiselect("Open days", list(WEEKDAYS), key="pl_days", placeholder="Choose open days")
    seen_days = observed.get("holidays_seen") or {}
    st.multiselect(
        "Closed on public holidays", list(HOLIDAY_NAMES), key="pl_closed", placeholder="open on every public holiday",
        help="US federal holidays the clinic closes on: no chair time those days, and the week's sessions are "
             "booked on its other open days. Filled with the holidays the clinic's sessions show it closed on "
             "the last time each fell on an open day"
             + (" (" + ", ".join(f"{name} {'closed' if v['closed'] else 'open'} {fmt.date(dt.date.fromisoformat(v['day']))}"
                                 for name, v in seen_days.items()) + ")." if seen_days else "."))
    row = st.columns(4)
    recent = observed.get("new_courses_last_13_weeks_per_week")
    row[0].number_input(
        "New patients per week", min_value=float(LIMITS["new_patients_per_week"][0]),
        max_value=float(LIMITS["new_patients_per_week"][1]), step=1.0, format="%.1f", key="pl_new",
        placeholder="forecast",
        help="New courses a week instead of the forecast. Blank: the forecast"
             + (f" (the last 13 weeks had {recent:.1f} a week)." if recent is not None else "."))
    row[1].number_input("Demand multiplier", min_value=float(LIMITS["demand_multiplier"][0]),
                        max_value=float(LIMITS["demand_multiplier"][1]), step=0.05, format="%.2f",
                        key="pl_demand", help="Scales the forecast (or the figure to the left): 1.2 = 20% more.")
    no_show = observed.get("no_show_rate")
    row[2].number_input(
        "No-show rate (%)", min_value=round(LIMITS["no_show_rate"][0] * 100, 6),
        max_value=round(LIMITS["no_show_rate"][1] * 100, 6), step=0.5, format="%.1f", key="pl_noshow",
        placeholder=f"observed {no_show * 100:.1f}" if no_show is not None else "observed",
        help="Share of booked sessions that are no-shows (their chair time is lost). Blank: observed.")
    row[3].slider("Target utilization (%)", min_value=round(LIMITS["target_utilization"][0] * 100),
                  max_value=round(LIMITS["target_utilization"][1] * 100), step=1, key="pl_target",
                  help="The fewest chairs keep every week's booked utilization at or below this.")
    row = st.columns(4)
    minutes_seen = observed.get("chair_minutes") or {}
    for column, m in zip(row[:3], MODALITIES, strict=True):
        seen = minutes_seen.get(m)
        column.number_input(
            f"Chair minutes, {MODALITY_LABELS[m]}", min_value=float(LIMITS["chair_minutes"][0]),
            max_value=float(LIMITS["chair_minutes"][1]), step=5.0, format="%.0f",
            key=f"pl_min_{m}", placeholder=f"observed {seen:.0f}" if seen is not None else "observed",
            help="Check-in to discharge, per session. Blank: the clinic's observed median.")
    row[3].number_input("Weeks ahead", min_value=int(LIMITS["horizon_weeks"][0]),
                        max_value=int(LIMITS["horizon_weeks"][1]), step=1, key="pl_weeks")
    buttons = st.columns([1, 1, 4])
    buttons[0].form_submit_button("Plan this scenario", type="primary", on_click=_on_plan,
                                  args=(cap, has_capacity), width="stretch")
    buttons[1].form_submit_button("Back to no change", on_click=_on_reset, width="stretch")

with notice_box:
    notice = ss.get(K_NOTICE)
    if notice:
        (st.success if notice[0] == "success" else st.warning)(ui.md_escape(notice[1]))

# --------------------------------------------------------------------------------- the results

with results:
    changes = pc.scenario_text(scenario, capacity)
    st.markdown(f"**Scenario “{ui.md_escape(scenario.name)}”** · {ui.md_escape(changes)} · "
                f"{scenario.horizon_weeks} weeks · target {fmt.pct(scenario.target_utilization)}"
                + (f" · as of {ui.md_escape(scenario.as_of)}" if scenario.as_of else ""))
    if plan is None:
        hint = (" Give the **new patients per week** above and plan again: the plan can start from that figure."
                if problem and "new patients" in problem else "")
        if problem and problem.startswith("Cannot plan as of"):  # a saved scenario's as_of; the form keeps it
            hint = " **Back to no change** plans from the latest data."
        st.info(ui.md_escape(problem or "No plan.") + hint, icon=":material/info:")
    else:
        summary, weeks_of_history = plan.summary, plan.observed.get("history_weeks", 0)
        if weeks_of_history < 26:
            st.warning(
                f"Only {weeks_of_history} complete weeks of history to forecast from (after the first 4, which an "
                f"extract's start distorts): the forecast is a level ({ui.md_escape(plan.forecast_method)}), with no "
                "trend or season. Give the new patients per week if you know better.", icon=":material/history:")
        # Ops read "next quarter" as 1 Jul - 30 Sep; the plan reports whole weeks (Monday to Sunday) from the
        # first Monday after the data's last day, so say which days those are
        last_day = plan.as_of - dt.timedelta(days=1)
        st.caption(f"Weeks reported: {fmt.period(plan.start, plan.start + dt.timedelta(weeks=plan.horizon_weeks, days=-1))}, "
                   f"whole weeks from the first Monday after the data's last day ({fmt.date(last_day)}).")
        holidays = holidays_text(plan)
        if holidays:
            st.caption(ui.md_escape(holidays) + ".")
        for note in plan.notes:
            if "weeks of history" not in note:
                st.info(ui.md_escape(note[:1].upper() + note[1:]), icon=":material/info:")
        cards = st.columns(5)
        rec, rec_upper = summary["recommended_chairs"], summary["recommended_chairs_upper"]
        ui.headline(cards[0], f"Fewest chairs for {fmt.pct(summary['target_utilization'])}",
                    str(rec) if rec is not None else "none ≤ 60",
                    caption=f"scenario has {plan.resolved.chairs}; high demand: "
                            f"{rec_upper if rec_upper is not None else 'none ≤ 60'}",
                    help="The fewest chairs with every week's booked utilization at or below the target and the "
                         "induction rules kept, same hours, days and demand. Weeks around a closed public holiday "
                         "are shown apart, not held to the target.")
        ui.headline(cards[1], "Peak week, booked", peak_text(summary),
                    caption=f"target {fmt.pct(summary['target_utilization'])}: {target_verdict(summary)}",
                    help="The busiest week's booked utilization (treated and no-show chair time / available), "
                         "weeks around a closed public holiday apart.")
        ui.headline(cards[2], "Utilization", fmt.pct(summary["utilization"]),
                    caption=f"booked {fmt.pct(summary['booked_utilization'])} · over {plan.horizon_weeks} weeks",
                    help="Treated chair time / available chair-hours over the plan's weeks (70-80% is the "
                         "benchmark band).")
        # patients still waiting when the simulation ends count up to its end only: the waits are lower bounds
        at_least = "≥ " if summary["waits_censored"] else ""
        ui.headline(cards[3], "Wait for a first infusion", f"{at_least}{fmt.number(summary['mean_wait_days'])} days",
                    caption=f"90th percentile {at_least}{fmt.number(summary['p90_wait_days'])} · longest "
                            f"{at_least}{fmt.number(summary['max_wait_days'], 0)}"
                            + (" · some still waiting when the simulation ends" if at_least else ""))
        peak = summary["peak_overflow"]
        ui.headline(cards[4], "Peak-hour overflow", amount(summary["overflow_chair_hours"]),
                    caption="chair-hours moved from a full hour; "
                            + (peak_overflow_text(peak) if peak else "every hour has room"),
                    help="Chair time served in another hour of the same day than it wanted, because every chair "
                         "was taken then (or the clinic was closed), over the plan's weeks. Time that waits for a "
                         "later day is not counted here: see the wait for a first infusion.")
        # The plan books average days; real days vary, and busy ones fill before the average says they would
        # (operations audit: the plan said every hour had room where all chairs had been in use 19% of the time).
        real_days = pq.recent_use(s.scope, clinic, last_day)
        if real_days is not None:
            st.caption(f"Observed {fmt.period(real_days['start'], real_days['end'])}: utilization "
                       f"{fmt.pct(real_days['utilization'])}, every chair in use {fmt.share(real_days['full_time_share'])} "
                       "of open hours. The plan books average days; on busy days chairs fill sooner than it shows, "
                       "so read its overflow and waits as the least to expect.")
        busy = busy_days_text(summary)
        if busy:
            st.caption(ui.md_escape(busy) + ".")
        # beside the fewest chairs: what the chairs the clinic has would need instead (operations plans hours too)
        other = alternatives_text(summary, plan.resolved, dash="–")
        if other:
            st.info(ui.md_escape(other) + ".", icon=":material/schedule:")
        around = holiday_weeks_text(summary)
        if around:
            st.info(ui.md_escape(around) + ".", icon=":material/event_busy:")
        if summary["induction_rules_met"]:
            st.success("Induction rules kept: 6 ketamine infusions within 3 weeks and esketamine twice a week for 4 "
                       "weeks, never on consecutive days, with no induction session waiting past its day.",
                       icon=":material/check_circle:")
        else:
            st.warning("Induction rules not kept: " + ui.md_escape("; ".join(summary["induction_problems"])) + ".",
                       icon=":material/warning:")

        # Seven charts in three sections, only the open one drawn (ui.sections): the cards above answer the
        # question; the charts show where the answer comes from.
        opts = {"clinic_id": clinic, "scenario": scenario}
        chairs_tab, hours_tab, demand_tab = ui.sections(
            "planning_tab", ["Utilization and chairs", "Busy hours", "Demand and waits"])
        if chairs_tab.open:
            with chairs_tab:
                ui.chart("planning.utilization_by_week", **opts)
                ui.chart("planning.chairs", **opts)
        if hours_tab.open:
            with hours_tab:
                ui.chart("planning.weekday_hour", **opts)
                ui.chart("planning.overflow", **opts)
        if demand_tab.open:
            with demand_tab:
                ui.chart("planning.waits", **opts)
                ui.chart("planning.new_patients", **opts)
                ui.chart("planning.sessions", **opts)

        with st.expander("What the plan starts from (observed)"):
            mix = observed.get("modality_mix") or {}
            completion = observed.get("induction_completion") or {}
            check = observed.get("protocol_check_last_13_weeks")
            st.markdown("\n".join([
                f"- History: {observed.get('history_weeks')} complete weeks; new courses in the last 13 weeks: "
                f"{fmt.number(recent)} a week; forecast: {ui.md_escape(plan.forecast_method)}",
                "- Modality mix of new courses: " + ", ".join(f"{MODALITY_LABELS.get(m, m)} {fmt.pct(v)}"
                                                               for m, v in mix.items()),
                "- Induction completed: " + ", ".join(f"{f} {fmt.pct(v)}" for f, v in completion.items()),
                "- Chair minutes per session (median, check-in to discharge): "
                + ", ".join(f"{MODALITY_LABELS.get(m, m)} {v:.0f}" for m, v in minutes_seen.items()),
                f"- No-shows {fmt.pct(observed.get('no_show_rate'), 1)}, cancellations "
                f"{fmt.pct(observed.get('cancellation_rate'), 1)} of booked sessions",
                f"- Courses under way: {fmt.count(observed.get('courses_in_induction'))} in induction, "
                f"{fmt.count(observed.get('courses_past_induction'))} past it",
                f"- Check against the last 13 weeks: sessions that happened / the model's projection = "
                f"{fmt.number(check, 2)} (1.00 = exact)",
            ]))

# ------------------------------------------------------------------------------ saved scenarios

st.subheader("Saved scenarios")
saved_all = pq.saved_scenarios(s.scope, clinic)
saved = {x.name: x for x in saved_all.scenarios}
if saved_all.unreadable:
    st.caption(f"{saved_all.unreadable} file(s) in the scenarios folder are not valid scenarios and are not listed.")
left, right = st.columns(2)
with left, st.form("pl_save_form"):
    if "pl_save_name" not in ss or ss.get("pl_save_for") != ss[K_APPLIED]:
        ss["pl_save_name"] = "" if scenario.name in (pq.BASELINE_NAME, pq.WHAT_IF) else scenario.name
        ss["pl_save_note"] = scenario.note
        ss["pl_save_for"] = ss[K_APPLIED]
    st.text_input("Name", key="pl_save_name", max_chars=pq.MAX_NAME_CHARS, placeholder="e.g. Nine chairs from September")
    st.text_input("Note", key="pl_save_note", max_chars=200, placeholder="optional")
    st.form_submit_button("Save the scenario on screen", on_click=_on_save, args=(s.scope, clinic),
                          help="Saves what the plan above shows (plan a change first). A name already saved for "
                               "this clinic is replaced.")
with right:
    if saved:
        if ss.get(K_PICK) not in saved:
            ss[K_PICK] = next(iter(saved))
        st.selectbox("Saved scenario", list(saved), key=K_PICK)
        actions = st.columns(2)
        actions[0].button("Load", on_click=_on_load, args=(saved,), width="stretch", key="pl_load")
        with actions[1].popover("Delete", width="stretch"):
            st.markdown(f"Delete “{ui.md_escape(ss[K_PICK])}” for everyone?")
            st.button("Yes, delete", on_click=_on_delete, args=(s.scope, clinic), type="primary", key="pl_delete")
    else:
        st.caption("No saved scenario for this clinic yet: plan a change, name it and save it.")
if saved:
    st.dataframe(
        [{"Name": x.name, "Changes": pc.scenario_text(x, capacity), "Weeks": x.horizon_weeks,
          "Target": fmt.pct(x.target_utilization), "Note": x.note} for x in saved.values()],
        hide_index=True, width="stretch")

# ------------------------------------------------------------------------------------ compare

st.subheader("Compare scenarios")
options = [ON_SCREEN, *(SAVED + name for name in saved)]
ss[K_COMPARE] = [c for c in ss.get(K_COMPARE, []) if c in options]
st.multiselect("Scenarios side by side (2 to 4)", options, key=K_COMPARE, max_selections=pq.MAX_COMPARED,
               format_func=lambda c: f"On screen: {scenario.name}" if c == ON_SCREEN else c.removeprefix(SAVED),
               placeholder="Choose 2 to 4 scenarios")
chosen = ss[K_COMPARE]
if len(chosen) < 2:
    st.caption("Choose two to four: the scenario on screen and saved ones. Each is planned from the same forecast "
               "and observed protocol.")
else:
    compared = [scenario if c == ON_SCREEN else saved[c.removeprefix(SAVED)].replace(clinic_id=None) for c in chosen]
    try:
        with st.spinner(f"Planning {len(compared)} scenarios…"):
            plans = pq.plans(s.scope, clinic, compared)
    except pq.PlanUnavailable as exc:
        st.info(ui.md_escape(str(exc)), icon=":material/info:")
    else:
        table = pc.comparison_table(plans)
        st.dataframe(table, width="stretch", height=35 * (len(table) + 1) + 3,
                     column_config={"measure": st.column_config.TextColumn("Measure", width=300)})
        column = st.selectbox("Weekly figure", list(pc.COMPARED), format_func=COMPARED_LABELS.get,
                              key="pl_compare_column")
        ui.chart("planning.scenario_comparison", clinic_id=clinic, scenarios=tuple(compared), column=column)

ui.footer()

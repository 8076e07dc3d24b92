"""Planning data for the dashboard: plans, scenario comparisons and saved scenarios, scoped and cached.

The planning page (dashboard/app_pages/planning.py) and the planning charts of the catalog get their
data here, never from DuckDB or the plan library directly:

- every function takes the viewer's `Scope` first and refuses a clinic outside it *before* anything is
  read (`PlanUnavailable`), so no widget, link or export can plan, list, save or delete another
  clinic's scenarios;
- plans come from the plan library (`pipelines.plan.engine.plan_scenarios`) on a cursor of the query
  layer's read-only connection to the version this rerun reads (`queries.pinned_version()`,
  `queries.cursor()`), cached with st.cache_data by (version file, clinic, scenarios as canonical
  JSON): a new load is planned again on the next rerun, an unrelated rerun reuses the plan;
- saved scenarios are the library's JSON files (`$CLINIC_ANALYTICS_SCENARIOS` or ./scenarios/); a viewer
  sees, saves and deletes only those of clinics in scope;
- the scenario's URL form (`plan_*` parameters, kept by the sidebar) is read and written here too (pure).

The forecast of a clinic uses the network's pooled weekly new courses and blends small clinics' figures
with the network's (docs/planning.md); only the planned clinic's figures are ever returned.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import queries
from dashboard.filters import Filters
from dashboard.scope import Scope
from pipelines.errors import PipelineError, UsageError
from pipelines.plan.protocol import MODALITIES, WEEKDAYS
from pipelines.plan.scenario import (
    MAX_CHAIRS,
    MAX_HORIZON_WEEKS,
    UNCHANGED,
    Scenario,
    delete_scenario,
    load_scenario,
    parse_chair_minutes,
    parse_days,
    parse_holidays,
    parse_window,
    save_scenario,
    scenarios_dir,
    slug,
)

BASELINE_NAME = UNCHANGED  # the scenario that changes nothing, named as the plan command names it
MAX_COMPARED = 4


class PlanUnavailable(Exception):
    """No plan (or scenario action) for this request, with one sentence for the page."""


def baseline(horizon_weeks: int = 13, target_utilization: float = 0.8) -> Scenario:
    return Scenario(name=BASELINE_NAME, horizon_weeks=horizon_weeks, target_utilization=target_utilization)


def changes_nothing(s: Scenario) -> bool:
    """True when the scenario keeps every observed value (horizon and target aside)."""
    return (s.chairs is None and s.opens_at is None and s.open_days is None and s.new_patients_per_week is None
            and s.demand_multiplier == 1.0 and s.no_show_rate is None and s.chair_minutes is None
            and s.closed_on is None)


# ------------------------------------------------------------------------------------------ clinics


def plannable_clinics(scope: Scope) -> dict[str, str]:
    """Clinic id -> current name, for the clinics the scope allows (ordered by name)."""
    if not queries.warehouse_ready():
        return {}
    return dict(queries.filter_options(scope).clinics)


def default_clinic(filters: Filters, clinics: dict[str, str]) -> str | None:
    """The clinic the page opens with when the link names none: the first of the sidebar's clinics
    that can be planned, else the first plannable clinic by name."""
    chosen = [c for c in filters.clinics if c in clinics]
    return (chosen or list(clinics) or [None])[0]


def _check(scope: Scope, clinic_id: str | None) -> str:
    if not clinic_id or not isinstance(clinic_id, str):
        raise PlanUnavailable("Choose a clinic to plan.")
    if not scope.allows(clinic_id):
        raise PlanUnavailable("This clinic is not one you can plan: your access does not include it.")
    return clinic_id


def current_capacity(scope: Scope, clinic_id: str) -> dict | None:
    """The clinics row a plan starts from (the one valid on the day after the data's last day, as in
    the plan library): chairs, opens_at / closes_at ("HH:MM"), open_days, valid_from. None when the
    clinic is outside the scope or has no such row."""
    if not scope.allows(clinic_id) or not queries.warehouse_ready():
        return None
    rows = queries.query(
        "select chairs, opens_at, closes_at, open_days, valid_from from marts.clinic_capacity "
        "where clinic_id = ? and valid_from <= coalesce("
        "(select end_date from metrics.data_period(clinics := ?::VARCHAR[])) + 1, DATE '9999-12-31') "
        "order by valid_from desc limit 1",
        (clinic_id, None),
    )
    if rows.empty:
        return None
    row = rows.iloc[0]
    return {
        "chairs": int(row["chairs"]),
        "opens_at": row["opens_at"].strftime("%H:%M"),
        "closes_at": row["closes_at"].strftime("%H:%M"),
        "open_days": tuple(d for d in WEEKDAYS if d in set(row["open_days"])),
        "valid_from": pd.Timestamp(row["valid_from"]).date(),
    }


def recent_use(scope: Scope, clinic_id: str, last_day: dt.date, weeks: int = 13) -> dict | None:
    """How full the clinic's chairs were over its last `weeks` whole weeks of data (Monday to Sunday, ending on
    or before `last_day`): metrics.utilization's utilization and full time. The plan works on average days;
    this is what its real days looked like. None outside the scope or without an open day."""
    if not scope.allows(clinic_id):
        return None
    end = last_day - dt.timedelta(days=(last_day.weekday() + 1) % 7)  # the last Sunday on or before it
    start = end - dt.timedelta(weeks=weeks, days=-1)
    # not before the clinic's first session: open days before it would count as empty chairs
    first = queries.query("select start_date from metrics.data_period(clinics := ?::VARCHAR[])", ((clinic_id,),))
    if not first.empty and pd.notna(first["start_date"].iloc[0]):
        start = max(start, pd.Timestamp(first["start_date"].iloc[0]).date())
    if start > end:
        return None
    rows = queries.utilization(scope, Filters((clinic_id,), start, end))
    if rows.empty or not rows["open_days"].iloc[0]:
        return None
    row = rows.iloc[0]
    if pd.isna(row["full_time_share"]):
        return None
    return {"start": start, "end": end, "utilization": float(row["utilization"]),
            "full_time_share": float(row["full_time_share"])}


# -------------------------------------------------------------------------------------------- plans


def _key(s: Scenario) -> str:
    """The cache key of a scenario: what it changes (its name and note change no figure)."""
    return json.dumps(s.replace(name="scenario", note="", clinic_id=None).to_json(), sort_keys=True)


@st.cache_data(ttl=queries.RESULT_TTL_SECONDS, show_spinner=False, max_entries=8)
def _network(version_path: str, as_of: dt.date):
    """The inputs every clinic's plan shares (the network's weekly new courses and pooled figures), read
    once per version and as_of rather than once per clinic planned."""
    from pipelines.plan.inputs import read_network

    with queries.cursor(version_path) as cur:
        return read_network(cur, as_of)


@st.cache_data(ttl=queries.RESULT_TTL_SECONDS, show_spinner=False, max_entries=64)
def _plans(version_path: str, clinic_id: str, scenarios: tuple[str, ...]) -> tuple[list | None, str | None]:
    """(plans, None) or (None, why not): failures are cached too, so a clinic that cannot be planned
    is not read again on every rerun."""
    from pipelines.plan.engine import plan_scenarios

    wanted = [Scenario.from_json(json.loads(s)) for s in scenarios]
    try:
        with queries.cursor(version_path) as cur:
            return plan_scenarios(clinic_id, wanted, con=cur,
                                  network=lambda as_of: _network(version_path, as_of)), None
    except PipelineError as exc:
        return None, _sentence(str(exc), clinic_id)


def _sentence(message: str, clinic_id: str) -> str:
    if message.startswith("unknown clinic"):  # the library lists every clinic: not for a scoped viewer
        return f"The warehouse has no clinic {clinic_id}."
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def plans(scope: Scope, clinic_id: str, scenarios: list[Scenario]) -> list:
    """Plans (pipelines.plan.engine.Projection) of several scenarios of one clinic, from one read of
    the warehouse and one forecast. Raises PlanUnavailable with the reason (outside the scope, nothing
    loaded, no history to forecast from and no new-patient figure given, ...)."""
    clinic_id = _check(scope, clinic_id)
    if not scenarios:
        return []
    version = queries.pinned_version()
    if version is None:
        raise PlanUnavailable("No data has been loaded yet, so there is nothing to plan from.")
    result, problem = _plans(version, clinic_id, tuple(_key(s) for s in scenarios))
    if problem is not None:
        raise PlanUnavailable(problem)
    for p, s in zip(result, scenarios, strict=True):  # a fresh copy from the cache: name it as asked
        p.scenario = s.replace(clinic_id=clinic_id)
    return result


def plan(scope: Scope, clinic_id: str, scenario: Scenario | None = None):
    """The plan of one scenario (default: change nothing) of one clinic in scope."""
    return plans(scope, clinic_id, [scenario or baseline()])[0]


def warm_default_plan(scope: Scope, filters: Filters, version: str) -> None:
    """Plan what the Planning page opens with (the default clinic, no change) into the cache of `plans`,
    so that a first visit of the page finds it there (dashboard.prefetch calls this in the background).
    The scope is checked before anything is read, as in `plans`."""
    clinic = default_clinic(filters, plannable_clinics(scope))
    if clinic is not None and scope.allows(clinic):
        _plans(version, clinic, (_key(baseline()),))


# -------------------------------------------------------------------------------- saved scenarios


@dataclass
class SavedScenarios:
    scenarios: list[Scenario] = field(default_factory=list)
    unreadable: int = 0  # files in the folder that are not valid scenarios (told to all-clinic viewers only)


def saved_scenarios(scope: Scope, clinic_id: str | None = None) -> SavedScenarios:
    """The saved scenarios the viewer may see (of clinics in scope; of `clinic_id` and those saved
    without a clinic when given), by name."""
    folder = scenarios_dir()
    out = SavedScenarios()
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            s = load_scenario(path)
        except UsageError:
            out.unreadable += 1 if scope.all_clinics else 0
            continue
        if s.clinic_id is not None and not scope.allows(s.clinic_id):
            continue
        if clinic_id is not None and s.clinic_id not in (None, clinic_id):
            continue
        out.scenarios.append(s)
    out.scenarios.sort(key=lambda s: s.name.lower())
    return out


def _existing(name: str) -> tuple[Path, Scenario | None, bool]:
    """(path, the scenario saved under that name or None, whether a file is there)."""
    path = scenarios_dir() / f"{slug(name)}.json"
    if not path.exists():
        return path, None, False
    try:
        return path, load_scenario(path), True
    except UsageError:
        return path, None, True


def save(scope: Scope, clinic_id: str, scenario: Scenario) -> tuple[Path, bool]:
    """Save the scenario for the clinic; (file, whether it replaced one of the same name). A name
    taken by a scenario of another clinic, or by a file that is not a scenario, is refused."""
    clinic_id = _check(scope, clinic_id)
    name = scenario.name.strip()
    if not name or name.lower() == BASELINE_NAME:
        raise PlanUnavailable(f"Give the scenario a name (not “{BASELINE_NAME}”, which means no change).")
    if len(name) > 64:
        raise PlanUnavailable("A scenario name can be at most 64 characters.")
    _, existing, taken = _existing(name)
    if taken and (existing is None or existing.clinic_id not in (None, clinic_id)):
        raise PlanUnavailable(f"Another saved scenario already uses the name “{name}” (or a name written the "
                              "same way in a file name); choose another name.")
    try:
        path = save_scenario(scenario.replace(name=name, clinic_id=clinic_id))
    except PipelineError as exc:  # the scenarios folder is a file, or cannot be written
        raise PlanUnavailable(_sentence(str(exc), clinic_id)) from None
    return path, existing is not None


def delete(scope: Scope, clinic_id: str, name: str) -> bool:
    """Delete a saved scenario of the clinic (True when a file was removed)."""
    clinic_id = _check(scope, clinic_id)
    _, existing, taken = _existing(name)
    if not taken:
        return False
    if existing is None or existing.clinic_id != clinic_id:
        raise PlanUnavailable(f"“{name}” is not a saved scenario of this clinic.")
    return delete_scenario(name)


# ------------------------------------------------------------------------------ chart catalog data


def _chart_clinic(scope: Scope, filters: Filters, clinic_id: str | None) -> str:
    if clinic_id:
        return _check(scope, clinic_id)
    chosen = scope.restrict(filters.clinics) if filters.clinics else None
    if chosen == []:
        raise PlanUnavailable("None of the chosen clinics is one you can plan.")
    clinics = plannable_clinics(scope)
    for candidate in (chosen or []) + list(clinics):
        if candidate in clinics:
            return candidate
    raise PlanUnavailable("There is no clinic to plan.")


def chart_plan(scope: Scope, filters: Filters, clinic_id: str | None = None,
               scenario: Scenario | None = None) -> dict:
    """Data of the planning charts: {"plan": Projection, "clinic_name": str}. The clinic: the one given,
    else the first chosen in the filters, else the first in scope; the scenario: the one given, else no
    change."""
    clinic = _chart_clinic(scope, filters, clinic_id)
    return {"plan": plan(scope, clinic, scenario), "clinic_name": plannable_clinics(scope).get(clinic, clinic)}


_TABLES = {  # the plan's figures behind each chart, as frames (what a CSV download holds)
    "weeks": lambda p: p.weeks_frame(),
    "history": lambda p: p.history_frame(),
    "weekday_hours": lambda p: p.weekday_hour_frame(),
    "chairs": lambda p: p.chairs_frame(),
}


def chart_plan_with(*tables: str):
    """A catalog query: chart_plan's data plus the named tables of the plan (frames) beside it."""
    unknown = set(tables) - set(_TABLES)
    if unknown:
        raise ValueError(f"unknown plan tables {sorted(unknown)}")

    def data(scope: Scope, filters: Filters, clinic_id: str | None = None, scenario: Scenario | None = None) -> dict:
        out = chart_plan(scope, filters, clinic_id, scenario)
        out.update({name: _TABLES[name](out["plan"]) for name in tables})
        return out

    data.__name__ = f"chart_plan_with_{'_'.join(tables)}"
    data.__doc__ = f"chart_plan's data and the plan's {', '.join(tables)} (frames)."
    return data


def chart_comparison(scope: Scope, filters: Filters, clinic_id: str | None = None,
                     scenarios: tuple[Scenario, ...] | list[Scenario] | None = None) -> dict:
    """Data of the scenario comparison: {"plans": [Projection, ...], "clinic_name": str}. Without
    scenarios: no change and the clinic's first saved scenarios (four in all)."""
    clinic = _chart_clinic(scope, filters, clinic_id)
    if scenarios is None:
        scenarios = [baseline()] + saved_scenarios(scope, clinic).scenarios[: MAX_COMPARED - 1]
    from pipelines.plan.compare import compare_scenarios, weekly_comparison

    chosen = plans(scope, clinic, list(scenarios)[:MAX_COMPARED])
    return {"plans": chosen, "clinic_name": plannable_clinics(scope).get(clinic, clinic),
            "measures": compare_scenarios(chosen).reset_index() if chosen else pd.DataFrame(),
            "weeks": pd.concat([weekly_comparison(chosen, c).rename(columns={"value": c}).set_index(
                ["scenario", "week_start"]) for c in ("booked_utilization", "utilization", "sessions",
                                                      "mean_wait_days", "overflow_chair_hours", "new_courses")],
                axis=1).reset_index() if chosen else pd.DataFrame()}


# ---------------------------------------------------------------------- the scenario in the URL (pure)

URL_CLINIC = "plan_clinic"
URL_FIELDS = {  # URL key -> scenario field
    "plan_name": "name", "plan_weeks": "horizon_weeks", "plan_chairs": "chairs", "plan_hours": "opens_at",
    "plan_days": "open_days", "plan_new": "new_patients_per_week", "plan_demand": "demand_multiplier",
    "plan_noshow": "no_show_rate", "plan_minutes": "chair_minutes", "plan_target": "target_utilization",
    "plan_closed": "closed_on",
}
MAX_URL_VALUE = 200  # every public holiday named takes about 150 characters

# What the Planning page's form can hold (its widgets take their bounds from here): field -> (lowest, highest,
# the bounds in words). The library takes wider values (a target of 30 %, demand x 50); the page's widgets
# cannot show them (a slider below its minimum fails the page), so a link or a saved scenario asking for one is
# not applied there.
FORM_LIMITS: dict[str, tuple[float, float, str]] = {
    "horizon_weeks": (1, MAX_HORIZON_WEEKS, f"the weeks ahead on this page are 1 to {MAX_HORIZON_WEEKS}"),
    "chairs": (1, MAX_CHAIRS, f"chairs on this page are 1 to {MAX_CHAIRS}"),
    "new_patients_per_week": (0.0, 10_000.0, "new patients per week on this page are 0 to 10,000"),
    "demand_multiplier": (0.0, 10.0, "the demand multiplier on this page is 0 to 10"),
    "no_show_rate": (0.0, 0.89, "the no-show rate on this page is 0 to 89% (0 to 0.89)"),
    "chair_minutes": (5.0, 720.0, "chair minutes on this page are 5 to 720"),
    "target_utilization": (0.5, 1.0, "the target utilization on this page is 50% to 100% (0.5 to 1)"),
}
MAX_NAME_CHARS = 64  # the Name box of the save form


def form_problem(fields: dict) -> str | None:
    """Why the Planning page's form cannot hold these scenario fields (None: it can)."""
    name = fields.get("name")
    if isinstance(name, str) and len(name.strip()) > MAX_NAME_CHARS:
        return f"a scenario's name on this page is at most {MAX_NAME_CHARS} characters"
    for key, (lowest, highest, words) in FORM_LIMITS.items():
        value = fields.get(key)
        if value is None:
            continue
        values = value.values() if isinstance(value, dict) else [value]
        # a hair of tolerance: 0.89 x 100 is not always 89.0 in binary
        if any(not lowest - 1e-9 <= float(v) <= highest + 1e-9 for v in values):
            return words
    return None


def form_problem_of(s: Scenario) -> str | None:
    """Why the Planning page's form cannot hold this scenario's figures (a saved one: the plan command saves
    wider values). A long name is shown as it is."""
    return form_problem({key: getattr(s, key) for key in FORM_LIMITS})


def _number_text(value: float) -> str:
    """The shortest text that reads back as the same float ("40", "0.08", "1.2")."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


WHAT_IF = "what-if"  # the name of a scenario changed on the page (or in a link) and not saved


def _default_name(s: Scenario) -> str:
    """The name a link without plan_name means: "current" for no change, else "what-if" (a link asking
    for 1.5 x demand was headed Scenario "current", which reads as no change)."""
    return BASELINE_NAME if changes_nothing(s) else WHAT_IF


def scenario_to_url(clinic_id: str | None, s: Scenario) -> dict[str, str]:
    """The URL parameters of a clinic and scenario: only what differs from no change."""
    out: dict[str, str] = {URL_CLINIC: clinic_id} if clinic_id else {}
    if s.name != _default_name(s):
        out["plan_name"] = s.name
    if s.horizon_weeks != 13:
        out["plan_weeks"] = str(s.horizon_weeks)
    if s.chairs is not None:
        out["plan_chairs"] = str(s.chairs)
    if s.opens_at is not None:
        out["plan_hours"] = f"{s.opens_at}-{s.closes_at}"
    if s.open_days is not None:
        out["plan_days"] = ",".join(s.open_days)
    if s.new_patients_per_week is not None:
        out["plan_new"] = _number_text(float(s.new_patients_per_week))
    if s.demand_multiplier != 1.0:
        out["plan_demand"] = _number_text(float(s.demand_multiplier))
    if s.no_show_rate is not None:
        out["plan_noshow"] = _number_text(float(s.no_show_rate))
    if s.chair_minutes is not None:
        cm = s.chair_minutes
        out["plan_minutes"] = (_number_text(float(cm)) if not isinstance(cm, dict)
                               else ",".join(f"{m}={_number_text(float(cm[m]))}" for m in MODALITIES if m in cm))
    if s.target_utilization != 0.8:
        out["plan_target"] = _number_text(float(s.target_utilization))
    if s.closed_on is not None:
        out["plan_closed"] = ",".join(s.closed_on) if s.closed_on else "none"
    return out


def _parse(key: str, raw: str) -> dict:
    """One URL value -> scenario fields (raises UsageError or ValueError when it cannot be used)."""
    if key == "plan_name":
        return {"name": raw.strip()}
    if key == "plan_weeks":
        return {"horizon_weeks": int(raw)}
    if key == "plan_chairs":
        return {"chairs": int(raw)}
    if key == "plan_hours":
        opens, closes = parse_window(raw)
        return {"opens_at": opens, "closes_at": closes}
    if key == "plan_days":
        return {"open_days": parse_days(raw)}
    if key == "plan_minutes":
        return {"chair_minutes": parse_chair_minutes(raw)}
    if key == "plan_closed":
        return {"closed_on": parse_holidays(raw)}
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return {URL_FIELDS[key]: value}


def _shown(raw: str) -> str:
    """A link's value as the page quotes it: its first 40 characters, written as Python would (escapes for
    control characters), cut at 60 so that a value of escapes does not fill the message."""
    text = repr(raw[:40])
    return text if len(text) <= 60 else text[:57] + "..."


def scenario_from_url(params: dict[str, list[str]], clinics: dict[str, str]
                      ) -> tuple[str | None, Scenario, list[str]]:
    """(clinic or None, scenario, messages) from URL parameters: a value that cannot be used, or that the
    Planning page's form cannot hold (FORM_LIMITS), is ignored with a message (never an error); a clinic not
    in `clinics` (the viewer's) too."""
    messages: list[str] = []
    clinic = None
    raw_clinic = (params.get(URL_CLINIC) or [None])[-1]
    if raw_clinic is not None:
        if raw_clinic in clinics:
            clinic = raw_clinic
        else:
            messages.append(f"Ignored {URL_CLINIC}={_shown(raw_clinic)} from the link: not a clinic you can plan.")
    fields: dict = {}
    for key in URL_FIELDS:
        values = params.get(key) or []
        if not values:
            continue
        raw = str(values[-1])
        try:
            if len(raw) > MAX_URL_VALUE:
                raise ValueError("too long")
            parsed = _parse(key, raw)
            Scenario(**{"name": "check", **parsed})  # the library's own checks, one field at a time
            problem = form_problem(parsed)  # and what the page's form can show
            if problem:
                raise UsageError(problem)
        except (UsageError, ValueError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, UsageError) else "not a value the planner can use"
            messages.append(f"Ignored {key}={_shown(raw)} from the link: {reason}.")
            continue
        fields.update(parsed)
    named = "name" in fields
    try:
        scenario = Scenario(**{"name": BASELINE_NAME, **fields})
    except UsageError as exc:  # fields fine alone but not together
        messages.append(f"Ignored the scenario in the link: {exc}.")
        return clinic, baseline(), messages
    return clinic, scenario if named else scenario.replace(name=_default_name(scenario)), messages

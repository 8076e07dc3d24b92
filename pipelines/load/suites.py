"""The row rules of every extract, as Great Expectations suites: the one place each rule is defined.

Each builder below returns a GX expectation with a description in words (what the quarantine and the
load report quote) and a rule id in `meta`. The loader evaluates these suites with GX and never
re-states a rule elsewhere; the few checks GX cannot express (keys, references across files,
duplicates) are SQL in `pipelines.load.integrity`.

Columns the suites see (built by `pipelines.load.typing`):
- `<col>`: the value read as its contract type (timestamps in the clinic's local time);
- `<col>__given`: TRUE when the extract had a value there, NULL when it was empty (only for
  columns whose reading can fail, so "missing" and "unreadable" are told apart);
- `<col>_utc`: the instant of a timestamp, for the "not in the future" rule;
- a few derived values named after what they measure (`treatment_minutes`, `dose_mg_per_kg`,
  `score_is_whole`).
Suite parameters (`$PARAMETER`) carry what depends on the moment of the load.
"""

from __future__ import annotations

import functools
import os
import zoneinfo
from dataclasses import dataclass

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.expectations.row_conditions import Column, Condition  # noqa: E402

from pipelines.contract import EXTRACTS, ColType  # noqa: E402

TREATED = ["completed", "stopped_early"]
KETAMINE = ["iv_ketamine", "im_ketamine"]
MODALITIES = ["iv_ketamine", "im_ketamine", "esketamine_nasal"]
STATUSES = ["completed", "stopped_early", "cancelled", "no_show"]
INDICATIONS = [
    "mdd", "bipolar_depression", "postpartum_depression", "suicidal_ideation", "gad", "ocd", "ptsd",
    "fibromyalgia", "chronic_pain", "substance_use", "other",
]
# instrument -> (min, max, whole numbers only)
INSTRUMENTS = {
    "PHQ9": (0, 27, True), "GAD7": (0, 21, True), "MADRS": (0, 60, True), "PCL5": (0, 80, True),
    "PAIN_NRS": (0, 10, False),
}
EFFECTS = [
    "dissociation", "nausea", "vomiting", "dizziness", "headache", "anxiety", "hypertension",
    "tachycardia", "blurred_vision", "sedation", "other",
]
SEVERITIES = ["mild", "moderate", "severe"]
INTERVENTIONS = [
    "none", "ondansetron", "antihypertensive", "benzodiazepine", "infusion_paused",
    "infusion_stopped", "other",
]
ESKETAMINE_DOSES_MG = [28.0, 56.0, 84.0]
SEXES = ["F", "M", "X", "U"]

LATEST_ALLOWED_UTC = "latest_allowed_utc"  # suite parameter: load time + 1 day, as a UTC instant
CURRENT_YEAR = "current_year"  # suite parameter: the load's calendar year

_READABLE_AS = {
    ColType.INT: "a whole number",
    ColType.FLOAT: "a number",
    ColType.TIMESTAMP: "a timestamp (ISO 8601 or MM/DD/YYYY HH:MM)",
    ColType.DATE: "a date (YYYY-MM-DD or MM/DD/YYYY)",
    ColType.TIME: "a time of day (HH:MM)",
    ColType.BOOL: "true/false, yes/no, y/n or 1/0",
    ColType.DAYS: "a comma list of weekdays Mon..Sun",
}


@functools.cache
def time_zones() -> tuple[str, ...]:
    """Real IANA zones ("America/Chicago"), not abbreviations or POSIX-style names. Of the Etc/
    zones only the two spellings of UTC: Etc/GMT+5 is five hours *behind* UTC, a sign trap."""
    regions = (z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return tuple(sorted(regions) + ["Etc/UTC", "UTC"])


@dataclass(frozen=True)
class When:
    """A row condition with the words that say it (for reasons a person reads)."""

    condition: Condition
    words: str

    def __and__(self, other: "When") -> "When":
        return When(self.condition & other.condition, f"{self.words} {other.words}")


TREATED_SESSION = When(Column("status").is_in(TREATED), "for completed and stopped_early sessions")
KETAMINE_SESSION = When(Column("modality").is_in(KETAMINE), "for ketamine")
ESKETAMINE_SESSION = When(Column("modality") == "esketamine_nasal", "for esketamine")


def _meta(kind: str, column: str, rule: str) -> dict:
    return {"rule_id": f"{kind}.{column}.{rule}", "column": column, "rule": rule}


def _cond(when: When | None) -> dict:
    return {"row_condition": when.condition} if when else {}


def _suffix(when: When | None) -> str:
    return f" {when.words}" if when else ""


def required(kind: str, column: str, when: When | None = None) -> gxe.Expectation:
    """The column must have a value (optionally only on rows that `when` selects)."""
    target = f"{column}__given" if EXTRACTS[kind].columns[column].parsed else column
    return gxe.ExpectColumnValuesToNotBeNull(
        column=target, description=f"{column} is required{_suffix(when)}",
        meta=_meta(kind, column, "required"), **_cond(when),
    )


def readable(kind: str, column: str) -> gxe.Expectation:
    """A value that was given must read as the column's contract type."""
    ctype = EXTRACTS[kind].columns[column]
    return gxe.ExpectColumnValuesToNotBeNull(
        column=column, row_condition=Column(f"{column}__given").is_not_null(),
        description=f"{column} must be {_READABLE_AS[ctype]}",
        meta=_meta(kind, column, "readable"),
    )


def between(kind: str, column: str, low=None, high=None, *, strict_low: bool = False,
            when: When | None = None, words: str | None = None, rule: str = "range") -> gxe.Expectation:
    if words is None:
        if low is not None and high is not None:
            words = f"{column} must be between {low} and {high}"
        elif low is not None:
            words = f"{column} must be {'above' if strict_low else 'at least'} {low}"
        else:
            words = f"{column} must be at most {high}"
    return gxe.ExpectColumnValuesToBeBetween(
        column=column, min_value=low, max_value=high, strict_min=strict_low,
        description=words + _suffix(when), meta=_meta(kind, column, rule), **_cond(when),
    )


def one_of(kind: str, column: str, values: list, when: When | None = None, rule: str = "allowed_values",
           words: str | None = None) -> gxe.Expectation:
    shown = ", ".join(str(v) for v in values) if len(values) <= 12 else "a real IANA time zone name"
    return gxe.ExpectColumnValuesToBeInSet(
        column=column, value_set=list(values),
        description=(words or f"{column} must be one of {shown}") + _suffix(when),
        meta=_meta(kind, column, rule), **_cond(when),
    )


def must_be_empty(kind: str, column: str, when: When) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeNull(
        column=column, description=f"{column} must be empty{_suffix(when)}",
        meta=_meta(kind, column, "only_when"), row_condition=when.condition,
    )


def not_before(kind: str, later: str, earlier: str, *, strictly: bool = False) -> gxe.Expectation:
    """`later` must not come before `earlier` (checked only when both are given). Timestamps compare
    as instants (`<col>_utc`): on the night clocks fall back, 01:10 standard time comes after 01:50
    daylight time. Without a known clinic there is no instant yet; the row is an orphan then, and its
    retry checks the order once the clinic is known."""
    relation = "after" if strictly else "at or after"
    moments = set(EXTRACTS[kind].timestamp_columns)
    a, b = (f"{c}_utc" if c in moments else c for c in (later, earlier))
    return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=a, column_B=b, or_equal=not strictly, ignore_row_if="either_value_is_missing",
        description=f"{later} must be {relation} {earlier}", meta=_meta(kind, later, f"after_{earlier}"),
    )


def not_in_future(kind: str, column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(
        column=f"{column}_utc", max_value={"$PARAMETER": LATEST_ALLOWED_UTC},
        description=f"{column} must not be more than one day after the load",
        meta=_meta(kind, column, "not_in_future"),
    )


def _readable_all(kind: str) -> list[gxe.Expectation]:
    return [readable(kind, c) for c, t in EXTRACTS[kind].columns.items() if t.parsed]


def _future_all(kind: str) -> list[gxe.Expectation]:
    return [not_in_future(kind, c) for c in EXTRACTS[kind].timestamp_columns]


def _clinics() -> list[gxe.Expectation]:
    k = "clinics"
    return [
        *(required(k, c) for c in ["clinic_id", "clinic_name", "timezone", "chairs", "opens_at",
                                   "closes_at", "open_days"]),
        *_readable_all(k),
        one_of(k, "timezone", list(time_zones()), words="timezone must be a real IANA zone such as America/Chicago"),
        between(k, "chairs", 1, 60),
        not_before(k, "closes_at", "opens_at", strictly=True),
    ]


def _patients() -> list[gxe.Expectation]:
    k = "patients"
    return [
        *(required(k, c) for c in ["patient_ref", "clinic_id", "primary_indication"]),
        *_readable_all(k),
        between(k, "birth_year", 1900, {"$PARAMETER": CURRENT_YEAR},
                words="birth_year must be between 1900 and the current year"),
        one_of(k, "sex", SEXES),
        one_of(k, "primary_indication", INDICATIONS),
    ]


def _sessions() -> list[gxe.Expectation]:
    k = "sessions"
    treated_ketamine = TREATED_SESSION & KETAMINE_SESSION
    treated_ketamine = When(treated_ketamine.condition, "for completed and stopped_early ketamine sessions")
    return [
        *(required(k, c) for c in ["session_id", "patient_ref", "clinic_id", "modality", "status",
                                   "scheduled_start"]),
        *(required(k, c, TREATED_SESSION) for c in ["chair_id", "checkin_at", "treatment_start",
                                                    "treatment_end", "discharge_at", "dose_mg"]),
        required(k, "weight_kg", treated_ketamine),
        *_readable_all(k),
        one_of(k, "modality", MODALITIES),
        one_of(k, "status", STATUSES),
        not_before(k, "treatment_start", "checkin_at"),
        not_before(k, "treatment_end", "treatment_start"),
        not_before(k, "discharge_at", "treatment_end"),
        between(k, "treatment_minutes", high=360, rule="max_duration",
                words="treatment_end must be at most 6 hours after treatment_start"),
        between(k, "dose_mg", low=0, strict_low=True),
        between(k, "dose_mg_per_kg", high=3.0, when=KETAMINE_SESSION, rule="max_mg_per_kg",
                words="dose_mg / weight_kg must be at most 3.0 mg/kg"),
        one_of(k, "dose_mg", ESKETAMINE_DOSES_MG, when=ESKETAMINE_SESSION, rule="esketamine_dose",
               words="dose_mg must be 28, 56 or 84"),
        between(k, "weight_kg", 30, 300),
        *_future_all(k),
    ]


def _vitals() -> list[gxe.Expectation]:
    k = "vitals"
    return [
        *(required(k, c) for c in ["session_id", "measured_at", "systolic_bp", "diastolic_bp"]),
        *_readable_all(k),
        between(k, "systolic_bp", 50, 300),
        between(k, "diastolic_bp", 20, 200),
        not_before(k, "systolic_bp", "diastolic_bp", strictly=True),
        between(k, "heart_rate", 20, 250),
        between(k, "spo2", 50, 100),
        between(k, "respiratory_rate", 4, 60),
        *_future_all(k),
    ]


def _assessments() -> list[gxe.Expectation]:
    k = "assessments"
    score_ranges = [
        between(k, "score", low, high, when=When(Column("instrument") == name, f"for {name}"),
                rule=f"range_{name.lower()}")
        for name, (low, high, _) in INSTRUMENTS.items()
    ]
    whole = [name for name, (_, _, whole) in INSTRUMENTS.items() if whole]
    return [
        *(required(k, c) for c in ["assessment_id", "patient_ref", "assessed_at", "instrument", "score"]),
        *_readable_all(k),
        one_of(k, "instrument", list(INSTRUMENTS)),
        *score_ranges,
        one_of(k, "score_is_whole", [True], when=When(Column("instrument").is_in(whole), "for " + ", ".join(whole)),
               rule="whole_score", words="score must be a whole number"),
        between(k, "item9", 0, 3),
        must_be_empty(k, "item9", When(Column("instrument") != "PHQ9", "unless the instrument is PHQ9")),
        *_future_all(k),
    ]


def _side_effects() -> list[gxe.Expectation]:
    k = "side_effects"
    return [
        *(required(k, c) for c in ["session_id", "effect", "severity"]),
        *_readable_all(k),
        one_of(k, "effect", EFFECTS),
        one_of(k, "severity", SEVERITIES),
        one_of(k, "intervention", INTERVENTIONS),
        between(k, "onset_min", -30, 600),
    ]


_BUILDERS = {
    "clinics": _clinics, "patients": _patients, "sessions": _sessions, "vitals": _vitals,
    "assessments": _assessments, "side_effects": _side_effects,
}


@functools.cache
def suite(kind: str) -> gx.ExpectationSuite:
    """The expectation suite of one extract (built once per process)."""
    return gx.ExpectationSuite(name=f"{kind}_rows", expectations=_BUILDERS[kind]())


def always_required(kind: str) -> list[str]:
    """Columns every row needs, so every file of the kind needs them in its header."""
    return [
        e.meta["column"] for e in suite(kind).expectations
        if e.meta.get("rule") == "required" and e.row_condition is None
    ]

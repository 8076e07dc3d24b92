"""How codes read on screen: instruments, modalities, indications, effects, severities."""

from __future__ import annotations

INSTRUMENTS = {
    "PHQ9": "PHQ-9",
    "GAD7": "GAD-7",
    "MADRS": "MADRS",
    "PCL5": "PCL-5",
    "PAIN_NRS": "Pain NRS",
}
INSTRUMENT_ORDER = list(INSTRUMENTS)

MODALITIES = {
    "iv_ketamine": "IV ketamine",
    "im_ketamine": "IM ketamine",
    "esketamine_nasal": "Esketamine nasal spray",
}

FAMILIES = {"ketamine": "Ketamine (IV/IM)", "esketamine": "Esketamine"}

INDICATIONS = {
    "mdd": "Major depression",
    "bipolar_depression": "Bipolar depression",
    "postpartum_depression": "Postpartum depression",
    "suicidal_ideation": "Suicidal ideation",
    "ptsd": "PTSD",
    "gad": "Generalised anxiety",
    "ocd": "OCD",
    "chronic_pain": "Chronic pain",
    "fibromyalgia": "Fibromyalgia",
    "substance_use": "Substance use",
    "other": "Other",
}

SEVERITIES = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}
SEVERITY_ORDER = list(SEVERITIES)

INTERVENTIONS = {
    # Not "None needed": the extract says no intervention was given, not that none was needed, and a
    # session counts here when any one of its side effects went without one (it may have had ondansetron too).
    "none": "No intervention given (for a side effect)",
    "ondansetron": "Ondansetron (antiemetic)",
    "antihypertensive": "Antihypertensive",
    "benzodiazepine": "Benzodiazepine",
    "infusion_stopped": "Infusion stopped",
    "infusion_paused": "Infusion paused",
    "other": "Other",
}

VITALS = {
    "systolic": ("Systolic BP", "mmHg"),
    "diastolic": ("Diastolic BP", "mmHg"),
    "heart_rate": ("Heart rate", "beats/min"),
    "spo2": ("SpO₂", "%"),
    "respiratory_rate": ("Respiratory rate", "breaths/min"),
}

NOT_EVALUABLE = {
    "not_assessed": "Not assessed",
    "no_baseline": "No baseline",
    "follow_up_open": "Follow-up window still open",
    "no_follow_up": "No follow-up",
    "baseline_below_minimum": "Baseline below minimum",
}

MEDICATION_FLAGS = {
    "maoi": "MAOI",
    "lamotrigine": "Lamotrigine",
    "benzodiazepine": "Benzodiazepine",
    "opioid": "Opioid",
}


def medication_group(breakdown: str, code: object) -> str:
    """A medication breakdown's group ('yes', 'no', 'not_recorded' from metrics.medication_group)."""
    drug = MEDICATION_FLAGS[breakdown]
    drug = drug if drug.isupper() else drug.lower()  # "MAOI" stays, "Lamotrigine" reads "lamotrigine"
    text = str(code).lower()
    if text in ("yes", "true"):
        return f"On {drug}"
    if text in ("no", "false"):
        return f"Not on {drug}"
    return f"{drug[0].upper()}{drug[1:]} not recorded"


def label(mapping: dict[str, str], code: object) -> str:
    """The display label of a code; unknown codes read as words ("blurred_vision" -> "Blurred vision")."""
    if code is None:
        return "Unknown"
    text = str(code)
    if text in mapping:
        return mapping[text]
    return text.replace("_", " ").capitalize()


def instrument(code: object) -> str:
    return label(INSTRUMENTS, code)


def modality(code: object) -> str:
    return label({**MODALITIES, **FAMILIES}, code)


def indication(code: object) -> str:
    return label(INDICATIONS, code)


def course_group(breakdown: str, code: object) -> str:
    """A course breakdown's group for a reader (metrics.course_or_medication_group): "Bipolar depression", "IV
    ketamine", "On benzodiazepine"; a clinic or a month as given."""
    if breakdown == "indication":
        return indication(code)
    if breakdown in ("modality", "modality_family"):
        return modality(code)
    if breakdown in MEDICATION_FLAGS:
        return medication_group(breakdown, code)
    return str(code)


def named_groups(data, breakdown: str):
    """A table of course groups (group_value, or clinic_name for clinics) with each group's name in `_name`, in
    alphabetical order: the by-group charts and their key figures list groups by name, never ranked, so the
    intervals and not the positions carry the comparison."""
    if data.empty:  # nothing to name (an empty column is not text to sort)
        return data.assign(_name="")
    column = "clinic_name" if "clinic_name" in data else "group_value"
    named = data.assign(_name=[course_group(breakdown, value) for value in data[column]])
    return named.sort_values("_name", key=lambda names: names.str.lower())


def effect(code: object) -> str:
    if code == "any":
        return "Any side effect"
    return label({}, code)

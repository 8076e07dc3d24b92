"""The sessions behind the serious safety counts, made readable for a medical director's case review.

`queries.safety_cases` gives the rows (row-level viewers only, of the kind asked for); this pure function turns
the columns into words. No figure is computed here: a row is in the list when the mart says it had a severe
side effect or a reading with systolic >= 180 or diastolic >= 110.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard import labels

KINDS = {"both": "Both", "severe": "Severe side effect", "bp": "BP ≥ 180 or ≥ 110"}
COLUMNS = ["Session", "Clinic", "Date", "Modality", "Session number", "Phase", "Dose", "Severe side effects",
           "Interventions", "BP elevated", "Peak BP", "Rise"]


def _missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    return bool(pd.isna(value))


def _effects(values) -> str:
    items = [] if _missing(values) else list(values)
    return ", ".join(labels.label({}, v).lower() for v in items)


def _interventions(values, side_effects) -> str:
    """What its side effects received: blank without any side effect, "none given" when none was."""
    if _missing(side_effects) or not side_effects:
        return ""
    given = [v for v in ([] if _missing(values) else list(values)) if v != "none"]
    return ", ".join(labels.label(labels.INTERVENTIONS, v) for v in given) if given else "none given"


def _dose(mg, mg_per_kg, status) -> str:
    """"0.50 mg/kg" for a weight-based dose, "84 mg" for esketamine's fixed one; a session stopped early says so
    (its dose is what was delivered before it stopped, the dose-band charts' "stopped early" band)."""
    if not _missing(mg_per_kg):
        text = f"{float(mg_per_kg):.2f} mg/kg"
    elif not _missing(mg):
        text = f"{float(mg):g} mg"
    else:
        text = ""
    if status == "stopped_early":
        text = f"{text}, stopped early" if text else "stopped early"
    return text


def _bp(systolic, diastolic) -> str:
    """"186/112" (each the session's highest, not necessarily of one reading)."""
    if _missing(systolic) and _missing(diastolic):
        return ""
    return f"{'—' if _missing(systolic) else int(systolic)}/{'—' if _missing(diastolic) else int(diastolic)}"


def cases_table(rows: pd.DataFrame) -> pd.DataFrame:
    """queries.safety_cases' rows with readable columns, in the order given (newest first)."""
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    records = rows.to_dict("records")
    return pd.DataFrame({
        "Session": [r["session_id"] for r in records],
        "Clinic": [r["clinic_name"] for r in records],
        "Date": [pd.Timestamp(r["session_date"]).date() for r in records],
        "Modality": [labels.modality(r["modality"]) for r in records],
        "Session number": [r["session_number"] for r in records],
        "Phase": [r["phase"] for r in records],
        "Dose": [_dose(r["dose_mg"], r["dose_mg_per_kg"], r["status"]) for r in records],
        "Severe side effects": [_effects(r["severe_effects"]) for r in records],
        "Interventions": [_interventions(r["interventions"], r["side_effects"]) for r in records],
        "BP elevated": [bool(r["bp_elevated"]) for r in records],
        "Peak BP": [_bp(r["peak_systolic_bp"], r["peak_diastolic_bp"]) for r in records],
        "Rise": [r["peak_systolic_rise"] for r in records],
    }, columns=COLUMNS)

"""The sessions behind the serious safety counts, made readable for a medical director's case review.

`queries.safety_cases` gives the rows (row-level viewers only); these pure functions pick which kind of
event to list and turn the columns into words. No figure is computed here: a row is in the list when the
mart says it had a severe side effect or a reading at or above 180/110.
"""

from __future__ import annotations

import pandas as pd

from dashboard import labels

KINDS = {"both": "Both", "severe": "Severe side effect", "bp": "BP ≥ 180/110"}


def _words(values, names: dict[str, str] | None = None) -> str:
    items = [] if values is None else list(values)
    return ", ".join((names or {}).get(v, str(v).replace("_", " ")) for v in items)


def _interventions(values) -> str:
    given = [v for v in ([] if values is None else list(values)) if v != "none"]
    return _words(given, labels.INTERVENTIONS) if given else "none"


def _dose(mg, mg_per_kg) -> str:
    """"0.50 mg/kg" for a weight-based dose, "84 mg" for esketamine's fixed one, blank when not recorded."""
    if mg_per_kg is not None and not pd.isna(mg_per_kg):
        return f"{float(mg_per_kg):.2f} mg/kg"
    if mg is not None and not pd.isna(mg):
        return f"{float(mg):g} mg"
    return ""


def cases_table(rows: pd.DataFrame, kind: str = "both") -> pd.DataFrame:
    """Rows of `kind` ('both', 'severe', 'bp') with readable columns, in the order given (newest first)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if rows.empty:
        return pd.DataFrame(columns=["Session", "Clinic", "Date", "Modality", "Session number", "Phase",
                                     "Dose", "Severe side effects", "Interventions", "BP ≥ 180/110",
                                     "Peak systolic", "Rise"])
    severe = rows["severe_effects"].map(lambda v: v is not None and len(v) > 0)
    elevated = rows["bp_elevated"].fillna(False).astype(bool)
    keep = {"both": severe | elevated, "severe": severe, "bp": elevated}[kind]
    chosen = rows[keep]
    return pd.DataFrame({
        "Session": chosen["session_id"],
        "Clinic": chosen["clinic_name"],
        "Date": pd.to_datetime(chosen["session_date"]).dt.date,
        "Modality": chosen["modality"].map(lambda m: labels.MODALITIES.get(m, m)),
        "Session number": chosen["session_number"],
        "Phase": chosen["phase"],
        "Dose": [_dose(mg, per_kg) for mg, per_kg in zip(chosen["dose_mg"], chosen["dose_mg_per_kg"], strict=True)],
        "Severe side effects": chosen["severe_effects"].map(_words),
        "Interventions": chosen["interventions"].map(_interventions),
        "BP ≥ 180/110": elevated[keep],
        "Peak systolic": chosen["peak_systolic_bp"],
        "Rise": chosen["peak_systolic_rise"],
    }).reset_index(drop=True)

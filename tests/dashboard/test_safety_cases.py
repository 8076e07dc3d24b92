"""The sessions behind the serious safety counts, in words (dashboard.safety_cases)."""

import datetime as dt

import pandas as pd
import pytest

from dashboard import safety_cases as sc


def _rows() -> pd.DataFrame:
    return pd.DataFrame({
        "session_id": ["S-3", "S-2", "S-1"], "clinic_name": ["Denver", "Tulsa", "Denver"],
        "session_date": pd.to_datetime(["2026-06-30", "2026-06-29", "2026-06-01"]),
        "modality": ["iv_ketamine", "esketamine_nasal", "iv_ketamine"], "session_number": [4, 2, 1],
        "phase": ["induction", "induction", "booster"], "dose_mg": [40.0, 84.0, None],
        "dose_mg_per_kg": [0.5, None, None],
        "severe_effects": [["dissociation", "nausea"], [], ["blurred_vision"]],
        "interventions": [["none", "infusion_paused"], ["none"], ["ondansetron"]],
        "bp_elevated": [False, True, True], "peak_systolic_bp": [150, 186, 181], "peak_systolic_rise": [20, 41, 30],
    })


def test_both_kinds_read_in_words_newest_first():
    table = sc.cases_table(_rows())
    assert list(table["Session"]) == ["S-3", "S-2", "S-1"]
    first = table.iloc[0]
    assert first["Severe side effects"] == "dissociation, nausea"
    assert first["Interventions"] == "Infusion paused"  # 'none' for one effect is not an intervention
    assert first["Dose"] == "0.50 mg/kg" and first["Modality"] == "IV ketamine" and first["Date"] == dt.date(2026, 6, 30)
    second = table.iloc[1]
    assert second["Dose"] == "84 mg" and second["Interventions"] == "none" and second["Severe side effects"] == ""
    assert bool(second["BP ≥ 180/110"]) and table.iloc[2]["Dose"] == ""
    assert table.iloc[2]["Severe side effects"] == "blurred vision"


def test_one_kind_keeps_only_its_sessions():
    assert list(sc.cases_table(_rows(), "severe")["Session"]) == ["S-3", "S-1"]
    assert list(sc.cases_table(_rows(), "bp")["Session"]) == ["S-2", "S-1"]
    with pytest.raises(ValueError):
        sc.cases_table(_rows(), "mild")


def test_no_rows_is_an_empty_table_with_its_columns():
    empty = sc.cases_table(_rows().iloc[0:0])
    assert empty.empty and "Severe side effects" in empty.columns

"""The sessions behind the serious safety counts, in words (dashboard.safety_cases)."""

import datetime as dt

import numpy as np
import pandas as pd

from dashboard import safety_cases as sc


def _rows() -> pd.DataFrame:
    return pd.DataFrame({
        "session_id": ["S-3", "S-2", "S-1"], "clinic_name": ["Denver", "Tulsa", "Denver"],
        "session_date": pd.to_datetime(["2026-06-30", "2026-06-29", "2026-06-01"]),
        "modality": ["iv_ketamine", "esketamine_nasal", "iv_ketamine"], "session_number": [4, 2, 1],
        "phase": ["induction", "induction", "booster"], "status": ["completed", "completed", "stopped_early"],
        "dose_mg": [40.0, 84.0, 28.0], "dose_mg_per_kg": [0.5, None, 0.35],
        "severe_effects": [np.array(["dissociation", "nausea"]), np.array([]), np.array(["blurred_vision"])],
        "side_effects": [3, 0, 1],
        "interventions": [["none", "infusion_paused"], [], ["ondansetron"]],
        "bp_elevated": [False, True, True], "peak_systolic_bp": [150, 159, 181], "peak_diastolic_bp": [92, 113, 99],
        "peak_systolic_rise": [20, 41, 30],
    })


def test_sessions_read_in_words_newest_first():
    table = sc.cases_table(_rows())
    assert list(table.columns) == sc.COLUMNS and list(table["Session"]) == ["S-3", "S-2", "S-1"]
    first, second, third = (table.iloc[i] for i in range(3))
    assert first["Severe side effects"] == "dissociation, nausea"
    assert first["Interventions"] == "Infusion paused"  # 'none' for one effect is not an intervention
    assert first["Dose"] == "0.50 mg/kg" and first["Modality"] == "IV ketamine" and first["Date"] == dt.date(2026, 6, 30)
    # flagged on diastolic alone: the peak BP shows why (systolic only read as a data error)
    assert second["Peak BP"] == "159/113" and bool(second["BP elevated"])
    assert second["Dose"] == "84 mg" and second["Severe side effects"] == ""
    assert second["Interventions"] == ""  # no side effect: nothing to intervene for, not "none"
    assert third["Dose"] == "0.35 mg/kg, stopped early"  # what was delivered before it stopped
    assert third["Severe side effects"] == "blurred vision" and third["Interventions"] == "Ondansetron (antiemetic)"


def test_a_side_effect_without_intervention_says_none_given():
    rows = _rows().iloc[[0]].assign(interventions=[["none"]])
    assert sc.cases_table(rows).iloc[0]["Interventions"] == "none given"


def test_no_rows_is_an_empty_table_with_its_columns():
    empty = sc.cases_table(_rows().iloc[0:0])
    assert empty.empty and list(empty.columns) == sc.COLUMNS


def test_the_kinds_offered_are_the_kinds_the_query_knows():
    from dashboard import queries

    assert tuple(sc.KINDS) == queries.SAFETY_CASE_KINDS

"""Every row rule of the extract contract (../shared/contract/extracts.md, the column tables and
"What every row gets"), one parametrized case per rule edge.

All cases of one extract are rows of one file, each on its own row with its own key, loaded once per
module (with a broken-share threshold of 1.0: this file is about row rules, not the 20% rule, which
test_load_files.py covers). Each case then checks its own row:
- a valid variant is stored in raw.<kind> (and, where the case says, with the value the contract
  implies: local time for offsets, booleans, canonical enums);
- a broken variant is not stored but quarantined with its file name, its row number, a reason in
  words naming the broken rule (and only that rule), and its original values: contract columns
  only (the identifier column in every file is absent), patient_ref pseudonymized, never raw.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from itertools import product

import pytest

from load_fixtures import (
    COLUMNS, KEY, KEYS, NOW, NYC, P1, P2, PSEUDO, S_CAN, S_ESK, S_KET, S_NYC, assessment, base_rows,
    clinic, esketamine_session, load, patient, query_dicts, quarantine, session, side_effect,
    untreated_session, vital, write_file,
)

D = dt.datetime
BUILDERS = {
    "clinics": clinic, "patients": patient, "sessions": session, "vitals": vital,
    "assessments": assessment, "side_effects": side_effect,
}
FILES = {kind: f"{kind}_rules.csv" for kind in BUILDERS}
# A direct identifier rides along in every file; it must vanish (test_load_files.py scans bytes).
IDENTIFIER = "email"


@dataclass
class Case:
    id: str
    kind: str
    over: dict
    base: object = None
    fails: tuple[tuple[str, ...], ...] = ()  # per expected reason: words it must contain
    stored: dict = field(default_factory=dict)  # loaded cases: column -> value expected in raw.<kind>
    marks: tuple = ()

    def row(self) -> dict:
        return (self.base or BUILDERS[self.kind])(**self.over)


def ok(kind, id, *, base=None, stored=None, marks=(), **over) -> Case:
    return Case(id, kind, over, base=base, stored=stored or {}, marks=marks)


def bad(kind, id, *reasons, base=None, marks=(), **over) -> Case:
    assert reasons, "a broken case names the words of its reason"
    return Case(id, kind, over, base=base, fails=tuple(reasons), marks=marks)


def required(kind, col, base=None, **over) -> Case:
    return bad(kind, f"{col}_missing", (col, "required"), base=base, **{col: "", **over})


# Tomorrow at the load's moment: NOW + 1 day = 2026-10-16 12:00 UTC = 07:00 in Chicago (CDT, UTC-5).
EDGE_LOCAL, PAST_EDGE_LOCAL = "2026-10-16 07:00", "2026-10-16 07:01"
EDGE_UTC, PAST_EDGE_UTC = "2026-10-16T12:00:00Z", "2026-10-16T12:00:01Z"

# ------------------------------------------------------------------------------------------ clinics
K = "clinics"
CLINIC_CASES = [
    ok(K, "valid"),
    *(required(K, c) for c in ["clinic_id", "clinic_name", "timezone", "chairs", "opens_at", "closes_at",
                               "open_days"]),
    ok(K, "valid_from_absent_is_fine", valid_from="", stored={"valid_from": None}),
    ok(K, "capacity_change_row_1", clinic_id="CL-cap", valid_from="2026-01-01", chairs="4",
       stored={"valid_from": dt.date(2026, 1, 1), "chairs": 4}),
    ok(K, "capacity_change_row_2", clinic_id="CL-cap", valid_from="2026-07-01", chairs="9",
       stored={"valid_from": dt.date(2026, 7, 1), "chairs": 9}),
    ok(K, "valid_from_us_date", valid_from="03/01/2026", stored={"valid_from": dt.date(2026, 3, 1)}),
    bad(K, "valid_from_not_a_date", ("valid_from",), valid_from="2026-13-01"),
    ok(K, "timezone_new_york", timezone="America/New_York", stored={"timezone": "America/New_York"}),
    ok(K, "timezone_trimmed", timezone="  America/Denver ", stored={"timezone": "America/Denver"}),
    ok(K, "timezone_utc", timezone="UTC"),
    ok(K, "timezone_etc_utc", timezone="Etc/UTC", stored={"timezone": "Etc/UTC"}),
    # Etc/GMT+5 is five hours *behind* UTC: the inverted sign is a trap, so such zones stay refused
    bad(K, "timezone_etc_gmt_offset", ("timezone",), timezone="Etc/GMT+5"),
    bad(K, "timezone_invented", ("timezone",), timezone="Mars/Olympus_Mons"),
    bad(K, "timezone_misspelled", ("timezone",), timezone="America/Chicagoo"),
    bad(K, "timezone_offset_text", ("timezone",), timezone="-05:00"),
    ok(K, "chairs_1", chairs="1", stored={"chairs": 1}),
    ok(K, "chairs_60", chairs="60", stored={"chairs": 60}),
    bad(K, "chairs_0", ("chairs", "1", "60"), chairs="0"),
    bad(K, "chairs_61", ("chairs", "1", "60"), chairs="61"),
    bad(K, "chairs_not_whole", ("chairs",), chairs="2.5"),
    bad(K, "chairs_not_a_number", ("chairs",), chairs="eight"),
    ok(K, "opens_one_minute_before_close", opens_at="08:00", closes_at="08:01"),
    bad(K, "opens_equals_closes", ("closes_at", "opens_at"), opens_at="09:00", closes_at="09:00"),
    bad(K, "opens_after_closes", ("closes_at", "opens_at"), opens_at="18:00", closes_at="08:00"),
    bad(K, "opens_at_not_a_time", ("opens_at",), opens_at="25:00"),
    bad(K, "closes_at_not_a_time", ("closes_at",), closes_at="six"),
    ok(K, "open_days_whole_week", open_days="Mon,Tue,Wed,Thu,Fri,Sat,Sun",
       stored={"open_days": "Mon,Tue,Wed,Thu,Fri,Sat,Sun"}),
    ok(K, "open_days_single", open_days="Sat", stored={"open_days": "Sat"}),
    ok(K, "open_days_any_case_trimmed", open_days=" mon, WED ,fri ", stored={"open_days": "Mon,Wed,Fri"}),
    bad(K, "open_days_unknown_day", ("open_days",), open_days="Mon,Funday"),
    bad(K, "open_days_not_a_list", ("open_days",), open_days="weekdays"),
]

# ----------------------------------------------------------------------------------------- patients
K = "patients"
BOOL_SPELLINGS = [("true", True), ("TRUE", True), ("True", True), ("yes", True), ("YES", True), ("y", True),
                  ("Y", True), ("1", True), ("false", False), ("False", False), ("no", False), ("No", False),
                  ("n", False), ("N", False), ("0", False), (" Yes ", True)]
BOOL_COLUMNS = ["maoi", "lamotrigine", "benzodiazepine", "opioid"]
INDICATIONS = ["mdd", "bipolar_depression", "postpartum_depression", "suicidal_ideation", "gad", "ocd", "ptsd",
               "fibromyalgia", "chronic_pain", "substance_use", "other"]
PATIENT_CASES = [
    ok(K, "valid"),
    *(required(K, c) for c in ["patient_ref", "clinic_id", "primary_indication"]),
    bad(K, "clinic_unknown", ("clinic_id", "known"), clinic_id="C-NOWHERE"),
    ok(K, "home_clinic_new_york", clinic_id=NYC),
    # HMAC-SHA256 of the trimmed UTF-8 text, with the configured key (computed here independently)
    ok(K, "patient_ref_non_ascii_hmac_of_utf8", patient_ref=" EHR-Ñandú-ü1 ",
       stored={"patient_ref": hmac.new(KEY, "EHR-Ñandú-ü1".encode("utf-8"), hashlib.sha256).hexdigest()}),

    ok(K, "birth_year_1900", birth_year="1900", stored={"birth_year": 1900}),
    ok(K, "birth_year_current_year", birth_year=str(NOW.year), stored={"birth_year": NOW.year}),
    ok(K, "birth_year_absent", birth_year="", stored={"birth_year": None}),
    bad(K, "birth_year_1899", ("birth_year", "1900"), birth_year="1899"),
    bad(K, "birth_year_next_year", ("birth_year",), birth_year=str(NOW.year + 1)),
    bad(K, "birth_year_not_a_number", ("birth_year",), birth_year="19x0"),
    *(ok(K, f"sex_{s}", sex=s, stored={"sex": s}) for s in ["F", "M", "X", "U"]),
    ok(K, "sex_any_case_trimmed", sex=" f ", stored={"sex": "F"}),
    ok(K, "sex_absent", sex="", stored={"sex": None}),
    bad(K, "sex_unknown", ("sex",), sex="female"),
    *(ok(K, f"indication_{i}", primary_indication=i, stored={"primary_indication": i}) for i in INDICATIONS),
    ok(K, "indication_any_case_trimmed", primary_indication="  Postpartum_Depression ",
       stored={"primary_indication": "postpartum_depression"}),
    bad(K, "indication_unknown", ("primary_indication",), primary_indication="depression"),
    *(ok(K, f"{col}_{spelling}", **{col: spelling}, stored={col: value})
      for col, (spelling, value) in zip(BOOL_COLUMNS * 4, BOOL_SPELLINGS)),
    ok(K, "booleans_absent", maoi="", lamotrigine="", benzodiazepine="", opioid="",
       stored={c: None for c in BOOL_COLUMNS}),
    bad(K, "maoi_not_a_boolean", ("maoi",), maoi="maybe"),
    bad(K, "opioid_2", ("opioid",), opioid="2"),
    bad(K, "lamotrigine_t", ("lamotrigine",), lamotrigine="t"),
]

# ----------------------------------------------------------------------------------------- sessions
K = "sessions"
TREATED_ONLY = ["chair_id", "checkin_at", "treatment_start", "treatment_end", "discharge_at", "dose_mg"]


def treated_times(start: str, end: str, checkin: str | None = None, discharge: str | None = None) -> dict:
    return {"checkin_at": checkin or start, "treatment_start": start, "treatment_end": end,
            "discharge_at": discharge or end}


SESSION_CASES = [
    ok(K, "valid_completed_iv"),
    ok(K, "valid_stopped_early_im", modality="im_ketamine", status="stopped_early"),
    *(required(K, c) for c in ["session_id", "patient_ref", "clinic_id", "modality", "status",
                               "scheduled_start"]),
    *(bad(K, f"{c}_missing_{status}", (c, "required"), status=status, **{c: ""})
      for status, c in product(["completed", "stopped_early"], TREATED_ONLY)),
    *(ok(K, f"untreated_{status}_{modality}_without_treatment_fields", base=untreated_session, status=status,
         modality=modality)
      for status, modality in [("cancelled", "iv_ketamine"), ("no_show", "im_ketamine"),
                               ("no_show", "esketamine_nasal")]),
    bad(K, "weight_missing_completed_iv", ("weight_kg", "required"), weight_kg=""),
    bad(K, "weight_missing_stopped_early_im", ("weight_kg", "required"), modality="im_ketamine",
        status="stopped_early", weight_kg=""),
    ok(K, "weight_not_needed_for_esketamine", base=esketamine_session, weight_kg=""),
    ok(K, "weight_not_needed_when_cancelled", base=untreated_session, weight_kg=""),
    bad(K, "patient_unknown", ("patient_ref", "known"), patient_ref="EHR-P-999999"),
    bad(K, "clinic_unknown", ("clinic_id", "known"), clinic_id="C-NOWHERE"),
    ok(K, "patient_ref_trimmed_before_hashing", patient_ref=f"  {P1} ", stored={"patient_ref": PSEUDO(P1)}),
    ok(K, "modality_status_any_case_trimmed", modality=" IV_Ketamine ", status="COMPLETED ",
       stored={"modality": "iv_ketamine", "status": "completed"}),
    bad(K, "modality_unknown", ("modality",), modality="oral_ketamine"),
    bad(K, "chair_id_blank_is_missing", ("chair_id", "required"), chair_id="   "),
    # the treated / ketamine / esketamine conditions see enumerations case-insensitively too
    bad(K, "chair_missing_status_upper_case", ("chair_id", "required"), status=" COMPLETED", chair_id=""),
    bad(K, "weight_missing_modality_upper_case", ("weight_kg", "required"), modality="IV_KETAMINE ",
        weight_kg=""),
    bad(K, "mg_per_kg_modality_mixed_case", ("3",), modality="Im_Ketamine", dose_mg="241", weight_kg="80"),
    bad(K, "esketamine_dose_modality_upper_case", ("dose_mg", "28", "56", "84"), base=esketamine_session,
        modality="ESKETAMINE_NASAL", dose_mg="30"),
    bad(K, "status_unknown", ("status",), status="done"),
    # checkin_at <= treatment_start <= treatment_end <= discharge_at, compared as timestamps
    ok(K, "all_four_times_equal", **treated_times("2026-10-05 09:15", "2026-10-05 09:15")),
    bad(K, "checkin_one_minute_after_start", ("treatment_start", "checkin_at"),
        **treated_times("2026-10-05 09:15", "2026-10-05 09:55", checkin="2026-10-05 09:16")),
    bad(K, "start_one_minute_after_end", ("treatment_end", "treatment_start"),
        **treated_times("2026-10-05 09:56", "2026-10-05 09:55", checkin="2026-10-05 09:00",
                        discharge="2026-10-05 10:30")),
    bad(K, "end_one_minute_after_discharge", ("discharge_at", "treatment_end"),
        **treated_times("2026-10-05 09:15", "2026-10-05 09:55", discharge="2026-10-05 09:54")),
    bad(K, "discharge_next_morning_before_end_by_time", ("discharge_at", "treatment_end"),
        **treated_times("2026-10-05 23:00", "2026-10-05 23:50", discharge="10/05/2026 23:40")),
    # treatment_end - treatment_start <= 6 h
    ok(K, "treatment_exactly_6h", **treated_times("2026-10-05 09:15", "2026-10-05 15:15")),
    bad(K, "treatment_6h_1min", ("treatment", "6"), **treated_times("2026-10-05 09:15", "2026-10-05 15:16")),
    ok(K, "treatment_over_midnight", **treated_times("2026-10-05 23:00", "2026-10-06 00:30")),
    # dose_mg > 0; ketamine mg/kg <= 3.0; esketamine 28/56/84; weight 30-300
    ok(K, "dose_small_positive", dose_mg="0.5", stored={"dose_mg": 0.5}),
    bad(K, "dose_zero_ketamine", ("dose_mg", "0"), dose_mg="0"),
    bad(K, "dose_negative_ketamine", ("dose_mg", "0"), dose_mg="-35"),
    bad(K, "dose_not_a_number", ("dose_mg",), dose_mg="35mg"),
    # DuckDB's own cast reads "3_5" as 35; a digit separator in an extract is a slip, not a number
    bad(K, "dose_with_underscore", ("dose_mg", "number"), dose_mg="3_5"),
    bad(K, "weight_with_underscore", ("weight_kg", "number"), weight_kg="7_0"),
    ok(K, "iv_exactly_3_mg_per_kg", dose_mg="210", weight_kg="70"),
    ok(K, "im_exactly_3_mg_per_kg", modality="im_ketamine", dose_mg="240", weight_kg="80"),
    # decimal weights: 225.3 / 75.1 is exactly 3.0, though 3.0000000000000004 in binary floating point
    ok(K, "iv_exactly_3_mg_per_kg_decimal_weight", dose_mg="225.3", weight_kg="75.1"),
    ok(K, "im_exactly_3_mg_per_kg_decimal_weight", modality="im_ketamine", dose_mg="91.2", weight_kg="30.4"),
    ok(K, "exactly_3_mg_per_kg_decimal_weight_rounding_down", dose_mg="217.2", weight_kg="72.4"),
    bad(K, "iv_above_3_mg_per_kg", ("3",), dose_mg="210.7", weight_kg="70"),
    bad(K, "im_above_3_mg_per_kg", ("3",), modality="im_ketamine", dose_mg="241", weight_kg="80"),
    *(ok(K, f"esketamine_{d}mg", base=esketamine_session, dose_mg=d, stored={"dose_mg": float(d)})
      for d in ["28", "56", "84"]),
    ok(K, "esketamine_56_point_0", base=esketamine_session, dose_mg="56.0"),
    *(bad(K, f"esketamine_{d}mg", ("dose_mg", "28", "56", "84"), base=esketamine_session, dose_mg=d)
      for d in ["30", "56.5", "112"]),
    ok(K, "esketamine_not_held_to_mg_per_kg", base=esketamine_session, dose_mg="84", weight_kg="30"),
    ok(K, "weight_30", dose_mg="30", weight_kg="30"),
    ok(K, "weight_300", dose_mg="150", weight_kg="300"),
    bad(K, "weight_29_9", ("weight_kg", "30", "300"), dose_mg="20", weight_kg="29.9"),
    bad(K, "weight_300_1", ("weight_kg", "30", "300"), dose_mg="150", weight_kg="300.1"),
    bad(K, "weight_out_of_range_esketamine", ("weight_kg", "30", "300"), base=esketamine_session,
        weight_kg="12"),
    # timestamps: formats, offsets converted to the clinic's local time
    ok(K, "iso_t_with_seconds", scheduled_start="2026-10-05T09:00:00", checkin_at="2026-10-05T09:00:00",
       treatment_start="2026-10-05T09:15:30", treatment_end="2026-10-05T09:55:00",
       discharge_at="2026-10-05T10:45:00",
       stored={"treatment_start": D(2026, 10, 5, 9, 15, 30), "treatment_start_utc": D(2026, 10, 5, 14, 15, 30)}),
    ok(K, "iso_t_without_seconds", scheduled_start="2026-10-05T09:00",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0)}),
    ok(K, "offset_z_without_seconds", scheduled_start="2026-10-05T14:00Z",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0)}),
    ok(K, "offset_plus_00_00", scheduled_start="2026-10-05T14:00:00+00:00",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0)}),
    ok(K, "iso_space_with_seconds", scheduled_start="2026-10-05 09:00:00",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0)}),
    ok(K, "us_format", scheduled_start="10/05/2026 09:00", checkin_at="10/05/2026 09:00",
       treatment_start="10/05/2026 09:15", treatment_end="10/05/2026 09:55", discharge_at="10/05/2026 10:45",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0), "discharge_at": D(2026, 10, 5, 10, 45)}),
    ok(K, "offset_utc_z_to_chicago", scheduled_start="2026-10-05T14:00:00Z",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0), "scheduled_start_utc": D(2026, 10, 5, 14, 0)}),
    ok(K, "offset_minus_5_to_chicago", scheduled_start="2026-10-05T09:00:00-05:00",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0)}),
    ok(K, "offset_minus_4_to_chicago", scheduled_start="2026-10-05T10:00:00-04:00",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0)}),
    ok(K, "offset_z_to_new_york", clinic_id=NYC, scheduled_start="2026-10-05T13:00:00Z",
       stored={"scheduled_start": D(2026, 10, 5, 9, 0), "scheduled_start_utc": D(2026, 10, 5, 13, 0)}),
    ok(K, "offset_minus_5_to_new_york", clinic_id=NYC, scheduled_start="2026-10-05 09:00-05:00",
       stored={"scheduled_start": D(2026, 10, 5, 10, 0)}),
    ok(K, "offsets_ordered_as_instants", checkin_at="2026-10-05T14:00:00Z",
       treatment_start="2026-10-05 09:15", treatment_end="2026-10-05T10:55:00-04:00",
       discharge_at="2026-10-05 10:45", stored={"treatment_end": D(2026, 10, 5, 9, 55)}),
    bad(K, "scheduled_start_not_a_timestamp", ("scheduled_start",), scheduled_start="2026-10-35 09:00"),
    bad(K, "treatment_start_not_a_timestamp", ("treatment_start",), treatment_start="soon"),
    # more than one day in the future, relative to the load
    ok(K, "scheduled_exactly_one_day_ahead_local", base=untreated_session, scheduled_start=EDGE_LOCAL),
    bad(K, "scheduled_one_day_and_a_minute_ahead_local", ("scheduled_start", "day"), base=untreated_session,
        scheduled_start=PAST_EDGE_LOCAL),
    ok(K, "scheduled_exactly_one_day_ahead_utc", base=untreated_session, scheduled_start=EDGE_UTC),
    bad(K, "scheduled_one_day_and_a_second_ahead_utc", ("scheduled_start", "day"), base=untreated_session,
        scheduled_start=PAST_EDGE_UTC),
    bad(K, "discharge_in_the_future", ("discharge_at", "day"), discharge_at="2026-10-20 10:45"),
]

# ------------------------------------------------------------------------------------------- vitals
K = "vitals"
VITAL_CASES = [
    ok(K, "valid"),
    *(required(K, c) for c in ["session_id", "measured_at", "systolic_bp", "diastolic_bp"]),
    bad(K, "session_unknown", ("session_id", "known"), session_id="S-NOWHERE"),
    ok(K, "systolic_50", systolic_bp="50", diastolic_bp="30"),
    ok(K, "systolic_300", systolic_bp="300"),
    bad(K, "systolic_49", ("systolic_bp", "50", "300"), systolic_bp="49", diastolic_bp="30"),
    bad(K, "systolic_301", ("systolic_bp", "50", "300"), systolic_bp="301"),
    ok(K, "diastolic_20", diastolic_bp="20"),
    ok(K, "diastolic_200", systolic_bp="250", diastolic_bp="200"),
    bad(K, "diastolic_19", ("diastolic_bp", "20", "200"), diastolic_bp="19"),
    bad(K, "diastolic_201", ("diastolic_bp", "20", "200"), systolic_bp="250", diastolic_bp="201"),
    ok(K, "diastolic_one_below_systolic", systolic_bp="120", diastolic_bp="119"),
    bad(K, "diastolic_equals_systolic", ("systolic_bp", "diastolic_bp"), systolic_bp="120", diastolic_bp="120"),
    bad(K, "diastolic_above_systolic", ("systolic_bp", "diastolic_bp"), systolic_bp="90", diastolic_bp="110"),
    bad(K, "systolic_blank_is_missing", ("systolic_bp", "required"), systolic_bp="   "),
    bad(K, "systolic_not_whole", ("systolic_bp",), systolic_bp="128.5"),
    bad(K, "systolic_not_a_number", ("systolic_bp",), systolic_bp="12O"),
    # An EHR's "unknown" placeholder: in Chicago it is an instant of year 10000, past what the
    # suite's pandas check can hold; it must break the future rule, not stop the load.
    bad(K, "measured_at_placeholder_9999_12_31", ("measured_at", "day"), measured_at="9999-12-31 23:59"),
    bad(K, "measured_at_year_0000", ("measured_at", "timestamp"), measured_at="0000-06-01 12:00"),
    *(ok(K, f"{col}_{v}", **{col: v}) for col, v in [
        ("heart_rate", "20"), ("heart_rate", "250"), ("spo2", "50"), ("spo2", "100"),
        ("respiratory_rate", "4"), ("respiratory_rate", "60")]),
    *(bad(K, f"{col}_{v}", (col, lo, hi), **{col: v}) for col, v, lo, hi in [
        ("heart_rate", "19", "20", "250"), ("heart_rate", "251", "20", "250"), ("spo2", "49", "50", "100"),
        ("spo2", "101", "50", "100"), ("respiratory_rate", "3", "4", "60"),
        ("respiratory_rate", "61", "4", "60")]),
    ok(K, "optional_vitals_absent", heart_rate="", spo2="", respiratory_rate="",
       stored={"heart_rate": None, "spo2": None, "respiratory_rate": None}),
    bad(K, "two_rules_at_once", ("systolic_bp", "300"), ("heart_rate", "250"), systolic_bp="301",
        heart_rate="251"),
    # timestamps are read in the time zone of the session's clinic
    ok(K, "measured_iso_t_seconds", measured_at="2026-10-04T08:00:30",
       stored={"measured_at": D(2026, 10, 4, 8, 0, 30), "measured_at_utc": D(2026, 10, 4, 13, 0, 30)}),
    ok(K, "measured_us_format", measured_at="10/04/2026 08:01", stored={"measured_at": D(2026, 10, 4, 8, 1)}),
    ok(K, "measured_z_chicago_session", measured_at="2026-10-04T15:00:00Z",
       stored={"measured_at": D(2026, 10, 4, 10, 0), "measured_at_utc": D(2026, 10, 4, 15, 0)}),
    ok(K, "measured_z_new_york_session", session_id=S_NYC, measured_at="2026-10-04T15:00:00Z",
       stored={"measured_at": D(2026, 10, 4, 11, 0), "measured_at_utc": D(2026, 10, 4, 15, 0)}),
    ok(K, "measured_naive_new_york_session", session_id=S_NYC, measured_at="2026-10-04 11:30",
       stored={"measured_at": D(2026, 10, 4, 11, 30), "measured_at_utc": D(2026, 10, 4, 15, 30)}),
    ok(K, "measured_exactly_one_day_ahead", measured_at=EDGE_LOCAL),
    bad(K, "measured_one_day_and_a_minute_ahead", ("measured_at", "day"), measured_at=PAST_EDGE_LOCAL),
    bad(K, "measured_not_a_timestamp", ("measured_at",), measured_at="2026-10-04 8 o'clock"),
]

# -------------------------------------------------------------------------------------- assessments
K = "assessments"
RANGES = {"PHQ9": ("0", "27"), "GAD7": ("0", "21"), "MADRS": ("0", "60"), "PCL5": ("0", "80"),
          "PAIN_NRS": ("0", "10")}
ABOVE = {"PHQ9": "28", "GAD7": "22", "MADRS": "61", "PCL5": "81", "PAIN_NRS": "10.5"}
ASSESSMENT_CASES = [
    ok(K, "valid"),
    *(required(K, c) for c in ["assessment_id", "patient_ref", "assessed_at", "score"]),
    required(K, "instrument", item9=""),  # item9 is for PHQ9 only: leave it out here
    bad(K, "patient_unknown", ("patient_ref", "known"), patient_ref="EHR-P-999999"),
    bad(K, "session_unknown", ("session_id", "known"), session_id="S-NOWHERE"),
    ok(K, "session_given", session_id=S_KET, stored={"session_id": S_KET}),
    *(ok(K, f"{inst}_{edge}", instrument=inst, score=value, item9="0" if inst == "PHQ9" else "")
      for inst, (low, high) in RANGES.items() for edge, value in [("min", low), ("max", high)]),
    *(bad(K, f"{inst}_above_max", ("score", RANGES[inst][1]), instrument=inst, score=ABOVE[inst],
          item9="0" if inst == "PHQ9" else "")
      for inst in RANGES),
    *(bad(K, f"{inst}_below_min", ("score", "0"), instrument=inst, score="-1", item9="")
      for inst in ["PHQ9", "PAIN_NRS"]),
    ok(K, "pain_nrs_fraction", instrument="PAIN_NRS", score="6.5", item9="", stored={"score": 6.5}),
    ok(K, "phq9_whole_written_with_decimal", score="18.0", stored={"score": 18.0}),
    *(bad(K, f"{inst}_fraction", ("score", "whole"), instrument=inst, score="12.5", item9="")
      for inst in ["PHQ9", "GAD7", "MADRS", "PCL5"]),
    bad(K, "score_not_a_number", ("score",), score="severe"),
    bad(K, "assessed_at_offset_past_year_9999", ("assessed_at", "day"), assessed_at="9999-12-31T23:00-05:00"),
    ok(K, "instrument_any_case_trimmed", instrument=" phq9 ", stored={"instrument": "PHQ9"}),
    ok(K, "instrument_pain_nrs_lower", instrument="pain_nrs", score="3", item9="",
       stored={"instrument": "PAIN_NRS"}),
    bad(K, "gad7_lower_case_above_max", ("score", "21"), instrument=" gad7", score="22", item9=""),
    bad(K, "pain_nrs_lower_case_above_max", ("score", "10"), instrument="Pain_NRS", score="11", item9=""),
    bad(K, "item9_on_lower_case_gad7", ("item9", "PHQ9"), instrument="gad7", score="5", item9="2"),
    bad(K, "instrument_unknown", ("instrument",), instrument="BDI", item9=""),
    *(ok(K, f"item9_{v}", item9=v, stored={"item9": int(v)}) for v in ["0", "1", "2", "3"]),
    ok(K, "item9_absent_phq9", item9="", stored={"item9": None}),
    bad(K, "item9_4", ("item9", "3"), item9="4"),
    bad(K, "item9_negative", ("item9", "0"), item9="-1"),
    bad(K, "item9_not_whole", ("item9",), item9="1.5"),
    *(bad(K, f"item9_on_{inst}", ("item9", "PHQ9"), instrument=inst, score="5", item9="0")
      for inst in ["GAD7", "PAIN_NRS"]),
    # no session: the patient's home clinic's zone; with session_id: the session's clinic's zone
    ok(K, "tz_home_clinic_chicago", assessed_at="2026-10-05T14:30:00Z",
       stored={"assessed_at": D(2026, 10, 5, 9, 30), "assessed_at_utc": D(2026, 10, 5, 14, 30)}),
    ok(K, "tz_home_clinic_new_york", patient_ref=P2, assessed_at="2026-10-05T14:30:00Z",
       stored={"assessed_at": D(2026, 10, 5, 10, 30)}),
    ok(K, "tz_session_clinic_new_york_over_home_chicago", session_id=S_NYC,
       assessed_at="2026-10-05T14:30:00Z",
       stored={"assessed_at": D(2026, 10, 5, 10, 30), "assessed_at_utc": D(2026, 10, 5, 14, 30)}),
    ok(K, "tz_session_clinic_chicago_over_home_new_york", patient_ref=P2, session_id=S_KET,
       assessed_at="2026-10-05T14:30:00Z", stored={"assessed_at": D(2026, 10, 5, 9, 30)}),
    ok(K, "tz_naive_session_new_york", session_id=S_NYC, assessed_at="2026-10-05 10:30",
       stored={"assessed_at": D(2026, 10, 5, 10, 30), "assessed_at_utc": D(2026, 10, 5, 14, 30)}),
    ok(K, "tz_naive_home_chicago", assessed_at="10/05/2026 09:30",
       stored={"assessed_at": D(2026, 10, 5, 9, 30), "assessed_at_utc": D(2026, 10, 5, 14, 30)}),
    ok(K, "assessed_exactly_one_day_ahead", assessed_at=EDGE_UTC),
    bad(K, "assessed_one_day_and_a_second_ahead", ("assessed_at", "day"), assessed_at=PAST_EDGE_UTC),
    bad(K, "assessed_next_week", ("assessed_at", "day"), assessed_at="2026-10-22 09:00"),
]

# ------------------------------------------------------------------------------------- side_effects
K = "side_effects"
EFFECTS = ["dissociation", "nausea", "vomiting", "dizziness", "headache", "anxiety", "hypertension",
           "tachycardia", "blurred_vision", "sedation", "other"]
INTERVENTIONS = ["none", "ondansetron", "antihypertensive", "benzodiazepine", "infusion_paused",
                 "infusion_stopped", "other"]
SE_SESSION = "S-KET-4"  # cases that set their own effect hang on this session; the others get a pool key
SIDE_EFFECT_CASES = [
    ok(K, "valid"),
    *(required(K, c) for c in ["session_id", "severity"]),
    required(K, "effect", session_id=SE_SESSION),
    bad(K, "session_unknown", ("session_id", "known"), session_id="S-NOWHERE"),
    *(ok(K, f"effect_{e}", session_id=SE_SESSION, effect=e, stored={"effect": e}) for e in EFFECTS),
    ok(K, "effect_any_case_trimmed", session_id=S_CAN, effect=" Blurred_Vision ",
       stored={"effect": "blurred_vision"}),
    bad(K, "effect_unknown", ("effect",), session_id=SE_SESSION, effect="hallucination"),
    *(ok(K, f"severity_{s}", severity=s, stored={"severity": s}) for s in ["mild", "moderate", "severe"]),
    ok(K, "severity_any_case_trimmed", severity=" SEVERE", stored={"severity": "severe"}),
    bad(K, "severity_unknown", ("severity",), severity="critical"),
    *(ok(K, f"intervention_{i}", intervention=i, stored={"intervention": i}) for i in INTERVENTIONS),
    ok(K, "intervention_any_case_trimmed", intervention="Infusion_Paused ",
       stored={"intervention": "infusion_paused"}),
    ok(K, "intervention_absent", intervention="", stored={"intervention": None}),
    bad(K, "intervention_unknown", ("intervention",), intervention="surgery"),
    ok(K, "onset_minus_30", onset_min="-30", stored={"onset_min": -30}),
    ok(K, "onset_600", onset_min="600", stored={"onset_min": 600}),
    ok(K, "onset_absent", onset_min="", stored={"onset_min": None}),
    bad(K, "onset_minus_31", ("onset_min", "-30", "600"), onset_min="-31"),
    bad(K, "onset_601", ("onset_min", "-30", "600"), onset_min="601"),
    bad(K, "onset_not_whole", ("onset_min",), onset_min="12.5"),
]

ALL_CASES = CLINIC_CASES + PATIENT_CASES + SESSION_CASES + VITAL_CASES + ASSESSMENT_CASES + SIDE_EFFECT_CASES


# ------------------------------------------------------------------------------------------ loading
def _norm(kind: str, col: str, value: str | None):
    """How a key value compares once read (trimmed; enumerations case-insensitive)."""
    value = (value or "").strip()
    return value.lower() if (kind, col) == ("side_effects", "effect") else value


def _case_rows() -> dict[str, list[tuple[Case, dict]]]:
    """Each kind's cases as rows with their own key (the case id, or a free pool key)."""
    pool = iter([(s, e) for s in [S_KET, S_ESK, S_NYC, "S-KET-2", "S-KET-3"] for e in EFFECTS])
    out: dict[str, list[tuple[Case, dict]]] = {k: [] for k in BUILDERS}
    for i, case in enumerate(ALL_CASES):
        row = case.row()
        over = case.over
        if case.kind == "clinics" and "clinic_id" not in over:
            row["clinic_id"] = f"CL-{case.id}"
        elif case.kind == "patients" and "patient_ref" not in over:
            row["patient_ref"] = f"PR-{case.id}"
        elif case.kind == "sessions" and "session_id" not in over:
            row["session_id"] = f"SE-{case.id}"
        elif case.kind == "assessments" and "assessment_id" not in over:
            row["assessment_id"] = f"AS-{case.id}"
        elif case.kind == "vitals" and "measured_at" not in over:
            row["measured_at"] = (D(2026, 10, 5, 6, 0) + dt.timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M")
        elif case.kind == "side_effects" and "effect" not in over:
            pool_session, row["effect"] = next(pool)
            row["session_id"] = row["session_id"] if "session_id" in over else pool_session
        row[IDENTIFIER] = f"case-{i}@example.org"
        out[case.kind].append((case, row))
    for kind, rows in out.items():  # the fixture itself must not create key conflicts
        keys = [tuple(_norm(kind, c, r[c]) for c in KEYS[kind]) for _, r in rows]
        keys = [k for k in keys if all(k[: len(KEYS[kind])])] if kind != "clinics" else keys
        assert len(keys) == len(set(keys)), f"{kind}: two cases share a key"
    return out


@dataclass
class Loaded:
    db: object
    report: object
    where: dict  # (kind, case id) -> (file, row number, row as written)
    stored: dict  # (file, row number) -> stored raw.<kind> row
    quarantined: dict  # (file, row number) -> audit.quarantine row


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Loaded:
    folder = tmp_path_factory.mktemp("rules")
    batch, db = folder / "batch", folder / "wh" / "clinic_analytics.duckdb"
    parents = base_rows()
    where = {}
    for kind, case_rows in _case_rows().items():
        head = parents.get(kind, [])
        rows = head + [r for _, r in case_rows]
        for n, (case, row) in enumerate(case_rows, start=len(head) + 1):
            where[(kind, case.id)] = (FILES[kind], n, row)
        write_file(batch / FILES[kind], rows, COLUMNS[kind] + [IDENTIFIER])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLINIC_ANALYTICS_PSEUDONYM_KEY", "k" * 32)
        report = load(batch, db, max_broken_share=1.0)
    stored = {}
    for kind in BUILDERS:
        for r in query_dicts(db, f"SELECT * FROM raw.{kind}"):
            stored[(r["_file"], r["_row"])] = r
    quarantined = {(q["file"], q["row_number"]): q for q in quarantine(db)}
    return Loaded(db, report, where, stored, quarantined)


def _params(cases):
    return [pytest.param(c, id=f"{c.kind}-{c.id}", marks=c.marks) for c in cases]


def test_case_ids_are_unique():
    ids = [(c.kind, c.id) for c in ALL_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", _params(ALL_CASES))
def test_row_rule(loaded: Loaded, case: Case):
    file, row_number, row = loaded.where[(case.kind, case.id)]
    spot = (file, row_number)
    quarantined = loaded.quarantined.get(spot)
    if not case.fails:
        assert quarantined is None, f"a valid row was quarantined: {quarantined['reasons']}"
        assert spot in loaded.stored, "a valid row was neither stored nor quarantined"
        stored = loaded.stored[spot]
        for col, expected in case.stored.items():
            assert stored[col] == expected, f"{col}: stored {stored[col]!r}, expected {expected!r}"
        return
    assert spot not in loaded.stored, "a row that breaks a rule was stored"
    assert quarantined is not None, "a row that breaks a rule was dropped instead of quarantined"
    assert quarantined["file"] == file and quarantined["kind"] == case.kind
    assert quarantined["row_number"] == row_number
    reasons = quarantined["reasons"]
    for words in case.fails:
        assert any(all(w.lower() in r.lower() for w in words) for r in reasons), (
            f"no reason names the rule {words}: {reasons}")
    assert len(reasons) == len(case.fails), f"expected {len(case.fails)} reason(s), got {reasons}"
    # Original values: contract columns only, as given (trimmed), patient_ref pseudonymized.
    original = quarantined["original"]
    assert original is not None, "the quarantine kept no original values"
    assert IDENTIFIER not in original and set(original) <= set(COLUMNS[case.kind])
    for col in COLUMNS[case.kind]:
        given = (row.get(col) or "").strip() or None
        if col == "patient_ref" and given is not None:
            assert original[col] == PSEUDO(given) and original[col] != given
        else:
            assert original.get(col) == given, f"{col}: original {original.get(col)!r}, given {given!r}"
    assert row[IDENTIFIER] not in repr(quarantined)


def test_every_row_of_the_rules_batch_is_accounted_for(loaded: Loaded):
    """rows read = loaded + quarantined + duplicates; each row is stored or quarantined, never both."""
    for f in loaded.report.files:
        assert f.status == "loaded", (f.file, f.reason)
        assert f.rows_read == f.loaded + f.quarantined + f.duplicates and f.duplicates == 0
        stored = {n for file, n in loaded.stored if file == f.file}
        quarantined = {n for file, n in loaded.quarantined if file == f.file}
        assert len(stored) == f.loaded and len(quarantined) == f.quarantined
        assert stored | quarantined == set(range(1, f.rows_read + 1)) and not stored & quarantined
        assert f.dropped_identifier_columns == [IDENTIFIER]


def test_the_suite_results_stored_for_each_file_agree_with_the_quarantine(loaded: Loaded):
    """Each load's rule results are in audit.check_results: every failing rule counts exactly the
    quarantined rows whose reasons quote it, and every quarantine reason is a failing rule's words."""
    results = query_dicts(loaded.db, "SELECT * FROM audit.check_results")
    assert {r["file"] for r in results} == set(FILES.values())
    for file in FILES.values():
        failing = [r for r in results if r["file"] == file and not r["success"]]
        reasons = [reason for (f, _), q in loaded.quarantined.items() if f == file for reason in q["reasons"]]
        for r in failing:
            quoted = sum(1 for reason in reasons if reason.startswith(r["description"]))
            assert quoted == r["unexpected_count"], (file, r["description"], quoted, r["unexpected_count"])
        for reason in reasons:
            assert any(reason.startswith(r["description"]) for r in failing), (file, reason)
        passing = [r for r in results if r["file"] == file and r["success"]]
        assert all(r["unexpected_count"] == 0 for r in passing)


def test_treatment_duration_is_measured_between_instants_across_daylight_saving_changes(tmp_path):
    """"Time windows compare timestamps": Chicago falls back on 2026-11-01 (an extra hour) and springs
    forward on 2026-03-08 (an hour less), so wall-clock differences are not durations."""
    batch = tmp_path / "batch"
    base = base_rows()
    rows = [
        # 00:30 CDT -> 06:15 CST: 5 h 45 on the wall clock, 6 h 45 in fact: broken
        session(session_id="S-FALL-BACK", scheduled_start="2026-11-01 00:30", checkin_at="2026-11-01 00:30",
                treatment_start="2026-11-01 00:30", treatment_end="2026-11-01 06:15",
                discharge_at="2026-11-01 06:30"),
        # 00:30 CST -> 07:00 CDT: 6 h 30 on the wall clock, 5 h 30 in fact: fine
        session(session_id="S-SPRING", scheduled_start="2026-03-08 00:30", checkin_at="2026-03-08 00:30",
                treatment_start="2026-03-08 00:30", treatment_end="2026-03-08 07:00",
                discharge_at="2026-03-08 07:10"),
        *(session(session_id=f"S-PAD-{i}") for i in range(3)),
    ]
    write_file(batch / "clinics.csv", base["clinics"])
    write_file(batch / "patients.csv", base["patients"])
    write_file(batch / "sessions.csv", rows)
    db = tmp_path / "wh" / "clinic_analytics.duckdb"
    load(batch, db, now=dt.datetime(2026, 11, 10, 12, 0))
    (q,) = quarantine(db, "sessions.csv")
    assert q["record_key"] == "S-FALL-BACK" and len(q["reasons"]) == 1 and "6" in q["reasons"][0], q
    stored = {r["session_id"]: r for r in query_dicts(db, "SELECT * FROM raw.sessions")}
    assert "S-SPRING" in stored
    assert stored["S-SPRING"]["treatment_end_utc"] - stored["S-SPRING"]["treatment_start_utc"] == dt.timedelta(
        hours=5, minutes=30)


def test_the_order_of_a_session_s_times_is_the_order_of_their_instants_on_the_night_clocks_fall_back(tmp_path):
    """Chicago, 1 Nov 2026: 01:00-02:00 happens twice. Given with offsets, 01:50 daylight time comes
    before 01:10 standard time, and 01:50 standard time after 01:20 standard time."""
    batch = tmp_path / "batch"
    base = base_rows()
    day = "2026-11-01T"
    rows = [
        # in order as instants (06:50Z, 07:10Z, 07:40Z, 08:30Z), not on the wall clock: loads
        session(session_id="S-IN-ORDER", scheduled_start=f"{day}01:50-05:00", checkin_at=f"{day}01:50-05:00",
                treatment_start=f"{day}01:10-06:00", treatment_end=f"{day}01:40-06:00",
                discharge_at=f"{day}02:30-06:00"),
        # ends (06:50Z) before it starts (07:20Z), though 01:50 > 01:20 on the wall clock: broken
        session(session_id="S-BACKWARDS", scheduled_start=f"{day}01:00-06:00", checkin_at=f"{day}01:00-06:00",
                treatment_start=f"{day}01:20-06:00", treatment_end=f"{day}01:50-05:00",
                discharge_at=f"{day}02:30-06:00"),
        *(session(session_id=f"S-PAD-{i}") for i in range(3)),
    ]
    write_file(batch / "clinics.csv", base["clinics"])
    write_file(batch / "patients.csv", base["patients"])
    write_file(batch / "sessions.csv", rows)
    db = tmp_path / "wh" / "clinic_analytics.duckdb"
    load(batch, db, now=dt.datetime(2026, 11, 10, 12, 0), max_broken_share=1.0)
    (q,) = quarantine(db, "sessions.csv")
    assert q["record_key"] == "S-BACKWARDS", q
    assert any("treatment_end must be at or after treatment_start" in r for r in q["reasons"]), q["reasons"]
    stored = {r["session_id"]: r for r in query_dicts(db, "SELECT * FROM raw.sessions")}
    assert stored["S-IN-ORDER"]["treatment_start"] == D(2026, 11, 1, 1, 10)

"""The capacity rows behind the capacity figures, in words (dashboard.capacity_inputs): a quarantined clinics
row said nothing anywhere, while every utilization figure after its date used the row before it."""

import datetime as dt

import pandas as pd

from dashboard import capacity_inputs as ci

WEEK = ["Mon", "Tue", "Wed", "Thu", "Fri"]


def _quarantined(**changes) -> pd.DataFrame:
    row = {"quarantine_id": 1, "load_id": 1, "file": "clinics.csv", "row_number": 8,
           "reasons": "chairs must be between 1 and 60", "clinic_id": "OKC", "valid_from_text": "2026-02-14",
           "meant_from": pd.Timestamp("2026-02-14"), "clinic_name": "Oklahoma City",
           "used_valid_from": pd.Timestamp("2025-08-01"), "used_chairs": 8, "used_opens_at": dt.time(7),
           "used_closes_at": dt.time(19), "used_open_days": WEEK}
    row.update(changes)
    return pd.DataFrame([row])


def test_a_quarantined_row_says_its_clinic_date_reason_and_the_row_used_instead():
    (sentence,) = ci.quarantine_sentences(_quarantined())
    assert sentence == ("Oklahoma City: the clinics row meant to start 14 Feb 2026 is in quarantine (clinics.csv row 8: "
                        "chairs must be between 1 and 60); the figures use the row from 1 Aug 2025 in its place: "
                        "8 chairs, 07:00–19:00, Mon–Fri. Correct it in the extract and load the file again.")


def test_a_row_without_a_readable_date_applies_to_no_day_and_one_without_a_row_in_its_place_says_so():
    (no_date,) = ci.quarantine_sentences(_quarantined(valid_from_text="14/02/2026", meant_from=None, used_chairs=None,
                                                      used_valid_from=None))
    assert "its start date “14/02/2026” cannot be read, so it applies to no day" in no_date
    assert "count as closed" not in no_date  # (it said so: nothing counts as closed)
    (uncovered,) = ci.quarantine_sentences(_quarantined(used_chairs=None, used_valid_from=None))
    assert "no other row covers its dates, so those days count as closed" in uncovered
    (from_start,) = ci.quarantine_sentences(_quarantined(valid_from_text="", used_valid_from=None))
    assert "meant to apply from the start" in from_start and "the clinic's first row in its place" in from_start
    (replaced,) = ci.quarantine_sentences(_quarantined(affects_until=pd.Timestamp("2026-05-01")))
    assert "the row from 1 Aug 2025 in its place until 1 May 2026, when the next row starts" in replaced


def test_the_pages_warning_names_the_clinics_from_when_and_why_within_the_period_only():
    two = pd.concat([_quarantined(), _quarantined(clinic_name="Denver", meant_from=pd.Timestamp("2027-01-01"),
                                                  valid_from_text="2027-01-01", reasons="opens_at must be a time")])
    assert ci.warning_text(two).startswith(
        "2 capacity rows are in quarantine (Oklahoma City from 14 Feb 2026: chairs must be between 1 and 60; "
        "Denver from 1 Jan 2027: opens_at must be a time): the figures here use the row valid before it")
    # a row meant to start after the period shown changes none of its figures
    assert ci.warning_text(two, until=dt.date(2026, 6, 30)).startswith(
        "A capacity row is in quarantine (Oklahoma City from 14 Feb 2026")
    assert ci.warning_text(two, until=dt.date(2025, 12, 31)) is None
    # nor one whose place a later row took before the period starts
    replaced = _quarantined(affects_until=pd.Timestamp("2026-05-01"))
    assert ci.warning_text(replaced, start=dt.date(2026, 4, 1), until=dt.date(2026, 6, 30)) is not None
    assert ci.warning_text(replaced, start=dt.date(2026, 5, 1), until=dt.date(2026, 6, 30)) is None
    # nor one whose date cannot be read: it applies to no day
    assert ci.warning_text(_quarantined(meant_from=None, valid_from_text="14/02/2026")) is None
    assert ci.warning_text(two.iloc[0:0]) is None
    assert "the plan starts from the row valid" in ci.warning_text(two, subject="the plan starts from")


def _rows(**changes) -> pd.DataFrame:
    row = {"clinic_id": "DEN", "clinic_name": "Denver", "valid_from": pd.Timestamp("2024-11-30"), "valid_to": None,
           "chairs": 4, "opens_at": dt.time(8), "closes_at": dt.time(18), "open_days": ["Tue", "Wed", "Thu", "Fri", "Sat"],
           "treated_sessions": 6419, "closed_day_sessions": 0, "chair_hours_outside_window": 0.0}
    row.update(changes)
    return pd.DataFrame([row])


def test_sessions_outside_a_rows_days_or_hours_are_named_and_none_say_nothing():
    assert ci.outside_sentences(_rows()) == []
    assert ci.outside_sentences(_rows(chair_hours_outside_window=0.02)) == []  # a rounding, not a finding
    (sentence,) = ci.outside_sentences(_rows(closed_day_sessions=12, chair_hours_outside_window=3.46))
    assert sentence == ("Denver, the row from 30 Nov 2024 (4 chairs, 08:00–18:00, Tue–Sat): 12 treated sessions on "
                        "days it says are closed and 3.5 chair-hours outside its hours, which utilization does not "
                        "count. Check its open days and hours.")
    (one,) = ci.outside_sentences(_rows(valid_from=None, closed_day_sessions=1))
    assert "the row from the start" in one and "1 treated session on days" in one and "chair-hours" not in one


def test_the_rows_table_reads_open_ends_hours_and_days_in_words():
    table = ci.rows_table(pd.concat([_rows(), _rows(valid_from=None, valid_to=pd.Timestamp("2024-11-30"), chairs=3,
                                                    open_days=["Mon", "Wed", "Fri"])]))
    assert table.to_dict("records") == [
        {"Clinic": "Denver", "From": "30 Nov 2024", "Until": "now", "In place of quarantined": "", "Chairs": 4,
         "Hours": "08:00–18:00", "Open days": "Tue–Sat", "Treated sessions": 6419, "On closed days": 0,
         "Chair-hours outside hours": 0.0},
        {"Clinic": "Denver", "From": "the start", "Until": "30 Nov 2024", "In place of quarantined": "", "Chairs": 3,
         "Hours": "08:00–18:00", "Open days": "Mon, Wed, Fri", "Treated sessions": 6419, "On closed days": 0,
         "Chair-hours outside hours": 0.0}]
    assert list(table.columns)[:4] == ["Clinic", "From", "Until", "In place of quarantined"]
    assert ci.days_text(["Sat", "Sun"]) == "Sat, Sun" and ci.days_text([]) == "no open day"


def test_the_rows_table_marks_the_row_that_stands_in_for_a_quarantined_one():
    """An audit read the Data quality table's 1 Aug 2025 row "until now" with nothing to say it covered the
    quarantined row meant from 14 Feb 2026."""
    rows = pd.concat([_rows(clinic_id="OKC", valid_from=pd.Timestamp("2025-08-01")),
                      _rows(clinic_id="OKC", valid_from=None, valid_to=pd.Timestamp("2025-08-01"))])
    quarantined = pd.concat([_quarantined(),  # OKC, meant 14 Feb 2026, row from 1 Aug 2025 in its place
                             _quarantined(valid_from_text="14/02/2026", meant_from=None)])  # applies to no day
    assert list(ci.rows_table(rows, quarantined)["In place of quarantined"]) == ["row from 14 Feb 2026", ""]
    assert list(ci.rows_table(rows)["In place of quarantined"]) == ["", ""]

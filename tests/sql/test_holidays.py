"""metrics.holiday_closures (sql/metrics/holidays.sql): the public holidays a clinic closed on in a period, read
from its bookings, for the Capacity page's weekly chart. (metrics.plan_holiday_days, which it reads, has its
own tests in test_plan_inputs.py.)

Thanksgiving 2025 is Thursday 27 Nov; Christmas Day and New Year's Day fall on Thursdays a week apart.
"""

from __future__ import annotations

import datetime as dt

from pipelines.plan.holidays import holidays_between

THANKSGIVING, CHRISTMAS, NEW_YEAR = "2025-11-27", "2025-12-25", "2026-01-01"


def _thursdays(wh, clinic: str, patient: str, days: list[str]) -> None:
    for day in days:
        wh.session(session_id=f"{clinic}-{day}", patient=patient, clinic=clinic, start=f"{day} 09:00")


def closures(wh, start: str | None, end: str | None, clinics=None) -> set[tuple[str, str, str, str]]:
    calendar = holidays_between(dt.date(2025, 10, 1), dt.date(2026, 2, 28))
    rows = wh.rows(
        "FROM metrics.holiday_closures(clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE, "
        "days := ?::DATE[], names := ?::VARCHAR[])",
        [clinics, start, end, [d for d, _ in calendar], [n for _, n in calendar]])
    return {(r["clinic_id"], r["day"].isoformat(), r["holiday"], r["week_start"].isoformat()) for r in rows}


def _two_clinics(wh) -> None:
    """OKC books every Thursday but Thanksgiving, Christmas Day and New Year's Day; NYC books Thanksgiving
    too. Both are open Monday to Friday."""
    wh.clinic("OKC").clinic("NYC", tz="America/New_York")
    wh.patient("P1", clinic="OKC").patient("P2", clinic="NYC")
    _thursdays(wh, "OKC", "P1", ["2025-11-20", "2025-12-04", "2025-12-11", "2025-12-18", "2026-01-08"])
    _thursdays(wh, "NYC", "P2", ["2025-11-20", THANKSGIVING, "2025-12-04"])
    wh.build()


def test_a_holiday_with_nothing_booked_between_booked_weeks_is_a_closure_named_in_its_week(wh):
    _two_clinics(wh)
    got = closures(wh, "2025-11-01", "2026-01-31")
    assert ("OKC", THANKSGIVING, "Thanksgiving", "2025-11-24") in got
    # Christmas and New Year's Day, a week apart, are each read against the weeks around both
    assert ("OKC", CHRISTMAS, "Christmas Day", "2025-12-22") in got
    assert ("OKC", NEW_YEAR, "New Year's Day", "2025-12-29") in got
    # NYC treated on Thanksgiving: open
    assert not {row for row in got if row[0] == "NYC" and row[1] == THANKSGIVING}


def test_only_the_periods_holidays_and_the_chosen_clinics(wh):
    _two_clinics(wh)
    assert {row[1] for row in closures(wh, "2025-11-01", "2025-11-30")} == {THANKSGIVING}
    assert {row[1] for row in closures(wh, "2025-12-01", "2025-12-31")} == {CHRISTMAS}
    assert closures(wh, "2025-11-01", "2026-01-31", clinics=["NYC"]) == set()
    assert {row[0] for row in closures(wh, None, None, clinics=["OKC"])} == {"OKC"}


def test_a_weekday_the_clinic_does_not_open_is_no_closure(wh):
    """Thanksgiving is a Thursday; a clinic open Friday to Tuesday did not close on it."""
    wh.clinic("OKC", days="Fri,Sat,Sun,Mon,Tue").patient("P1")
    wh.session(session_id="a", start="2025-11-21 09:00")
    wh.session(session_id="b", start="2025-12-05 09:00")
    wh.build()
    assert closures(wh, "2025-11-01", "2025-11-30") == set()


def test_a_holiday_in_the_datas_last_week_reads_against_the_week_before(wh):
    """The week after Thanksgiving is not in the data yet (the last session is the Friday after): nothing booked
    on the day while the Thursday before was booked reads as a closure, as the planner reads a recent one. A
    holiday after the data's last day is not read at all."""
    wh.clinic("OKC").patient("P1")
    _thursdays(wh, "OKC", "P1", ["2025-11-13", "2025-11-20"])
    wh.session(session_id="last", start="2025-11-28 09:00")
    wh.build()
    assert closures(wh, "2025-11-01", "2025-12-31") == {("OKC", THANKSGIVING, "Thanksgiving", "2025-11-24")}

"""Chair utilization (metrics.md, "Chair utilization"): available and occupied chair-minutes per day,
closing time, midnight, closed days, capacity changes, peak concurrency, lost capacity, weekday x hour.

Default clinic: 4 chairs, 08:00-17:00 (540 minutes), Mon-Fri. 2025-03-03 is a Monday.
"""

import pytest

MON, TUE, SAT = "2025-03-03", "2025-03-04", "2025-03-08"


def by_day(wh, clinic="OKC", start=MON, end=None):
    return {r["day"].isoformat(): r for r in wh.rows(
        "FROM metrics.utilization_by_day(clinics := ?, start_date := ?, end_date := ?)",
        [[clinic], start, end or start])}


def utilization(wh, start, end, clinics=None):
    return {r["clinic_id"]: r for r in wh.rows(
        "FROM metrics.utilization(clinics := ?, start_date := ?, end_date := ?)", [clinics, start, end])}


def test_available_minutes_are_chairs_times_the_open_window_on_open_days(wh):
    wh.clinic().patient()
    wh.session(start=f"{MON} 09:00")
    wh.build()
    week = by_day(wh, start=MON, end="2025-03-09")
    assert [week[d]["available_minutes"] for d in sorted(week)] == [4 * 540] * 5 + [0, 0]
    assert [week[d]["is_open"] for d in sorted(week)] == [True] * 5 + [False, False]
    row = utilization(wh, MON, "2025-03-09")["OKC"]
    assert row["available_chair_hours"] == 5 * 4 * 9
    assert row["occupied_chair_hours"] == 1.5  # check-in 08:45 to discharge 10:15
    assert row["utilization"] == 1.5 / 180


def test_a_session_crossing_closing_time_counts_only_its_minutes_inside_the_window(wh):
    wh.clinic().patient()
    wh.session(start=f"{MON} 16:15", checkin=f"{MON} 16:00", discharge=f"{MON} 17:40", end=f"{MON} 16:55")
    wh.session(start=f"{TUE} 08:00", checkin=f"{TUE} 07:30", discharge=f"{TUE} 09:00")  # before opening
    wh.build()
    days = by_day(wh, start=MON, end=TUE)
    assert days[MON]["occupied_minutes"] == 60  # 16:00-17:00
    assert days[TUE]["occupied_minutes"] == 60  # 08:00-09:00


def test_a_session_crossing_midnight_counts_against_each_days_window(wh):
    wh.clinic(opens="00:00", closes="23:59", days="Mon,Tue,Wed,Thu,Fri,Sat,Sun").patient()
    wh.session(start=f"{MON} 23:10", checkin=f"{MON} 23:00", end=f"{MON} 23:50", discharge=f"{TUE} 01:00")
    wh.build()
    days = by_day(wh, start=MON, end=TUE)
    assert days[MON]["occupied_minutes"] == 59  # 23:00-23:59
    assert days[TUE]["occupied_minutes"] == 60  # 00:00-01:00
    assert days[TUE]["treated_sessions"] == 0 and days[MON]["treated_sessions"] == 1
    assert days[MON]["peak_concurrent_chairs"] == 1 and days[TUE]["peak_concurrent_chairs"] == 1


def test_a_closed_day_has_no_available_and_no_occupied_minutes(wh):
    wh.clinic().patient()
    wh.session(start=f"{SAT} 10:00")  # the clinic is closed on Saturdays
    wh.build()
    sat = by_day(wh, start=SAT)[SAT]
    assert not sat["is_open"]
    assert sat["available_minutes"] == 0 and sat["occupied_minutes"] == 0
    assert sat["utilization"] is None and sat["treated_sessions"] == 1
    row = utilization(wh, SAT, SAT)["OKC"]
    assert row["available_chair_hours"] == 0 and row["utilization"] is None


def test_a_capacity_change_mid_period_applies_from_its_valid_from(wh):
    wh.clinic(chairs=4, valid_from=None)
    wh.clinic(chairs=6, opens="09:00", closes="17:00", days="Mon,Tue,Wed,Thu,Fri,Sat", valid_from="2025-03-06")
    wh.patient()
    wh.session(start=f"{MON} 09:00")
    wh.build()
    week = by_day(wh, start=MON, end="2025-03-09")
    assert [week[d]["available_minutes"] for d in sorted(week)] == [2160, 2160, 2160, 2880, 2880, 2880, 0]
    assert utilization(wh, MON, "2025-03-09")["OKC"]["available_chair_hours"] == (3 * 2160 + 3 * 2880) / 60


def test_days_before_the_first_capacity_row_are_closed(wh):
    wh.clinic(valid_from="2025-03-04").patient()
    wh.session(start=f"{TUE} 09:00")
    wh.build()
    days = by_day(wh, start=MON, end=TUE)
    assert days[MON]["available_minutes"] == 0 and days[TUE]["available_minutes"] == 2160


def test_peak_concurrent_chairs(wh):
    wh.clinic().patient("P1").patient("P2").patient("P3")
    wh.session(patient="P1", start=f"{MON} 09:00", checkin=f"{MON} 09:00", discharge=f"{MON} 10:30")
    wh.session(patient="P2", start=f"{MON} 09:45", checkin=f"{MON} 09:30", discharge=f"{MON} 11:00")
    # arrives exactly when P1 leaves and P2 is still there: 2 at once, not 3
    wh.session(patient="P3", start=f"{MON} 10:30", checkin=f"{MON} 10:30", discharge=f"{MON} 12:00")
    wh.build()
    assert by_day(wh)[MON]["peak_concurrent_chairs"] == 2
    assert utilization(wh, MON, MON)["OKC"]["peak_concurrent_chairs"] == 2


def test_lost_capacity_is_the_clinics_median_occupancy_from_scheduled_start(wh):
    wh.clinic().patient()
    wh.session(start=f"{MON} 09:00", checkin=f"{MON} 09:00", discharge=f"{MON} 10:00")   # 60 min
    wh.session(start=f"{MON} 11:00", checkin=f"{MON} 11:00", discharge=f"{MON} 12:30")   # 90 min
    wh.session(start=f"{MON} 13:00", checkin=f"{MON} 13:00", discharge=f"{MON} 15:00")   # 120 min
    wh.session(start=f"{TUE} 09:00", status="no_show")                                  # 90 lost
    wh.session(start=f"{TUE} 16:00", status="cancelled")                                # 60 lost (closes 17:00)
    wh.build()
    tue = by_day(wh, start=TUE)[TUE]
    assert tue["lost_minutes"] == 150
    assert tue["no_show_sessions"] == 1 and tue["cancelled_sessions"] == 1 and tue["occupied_minutes"] == 0
    row = utilization(wh, MON, TUE)["OKC"]
    assert row["lost_chair_hours"] == 2.5 and row["lost_share"] == 150 / (2 * 2160)
    # apart: the no-show held its chair 90 minutes, the cancellation 60 (the window closes at 17:00)
    assert row["no_show_chair_hours"] == 1.5 and row["cancelled_chair_hours"] == 1.0
    assert row["no_show_share"] == 90 / (2 * 2160) and row["cancelled_share"] == 60 / (2 * 2160)


def test_weekday_by_hour(wh):
    wh.clinic(opens="08:30", closes="10:00", chairs=2).patient()
    wh.session(start=f"{MON} 08:45", checkin=f"{MON} 08:40", discharge=f"{MON} 09:20")
    wh.build()
    cells = {(r["weekday"], r["hour"]): r for r in wh.rows(
        "FROM metrics.utilization_by_weekday_hour(start_date := ?, end_date := ?)", [MON, "2025-03-09"])}
    assert set(cells) == {(d, h) for d in range(1, 6) for h in (8, 9)}
    assert cells[(1, 8)]["available_minutes"] == 2 * 30 and cells[(1, 9)]["available_minutes"] == 2 * 60
    assert cells[(1, 8)]["occupied_minutes"] == 20 and cells[(1, 9)]["occupied_minutes"] == 20
    assert cells[(2, 9)]["occupied_minutes"] == 0
    assert cells[(1, 8)]["weekday_name"] == "Mon"


def test_weekly_utilization(wh):
    wh.clinic().patient()
    wh.session(start=f"{MON} 09:00")
    wh.session(start="2025-03-10 09:00")
    wh.build()
    weeks = {r["week_start"].isoformat(): r for r in wh.rows(
        "FROM metrics.utilization_by_week(start_date := ?, end_date := ?)", [MON, "2025-03-16"])}
    assert set(weeks) == {"2025-03-03", "2025-03-10"}
    assert weeks["2025-03-03"]["available_chair_hours"] == 180
    assert weeks["2025-03-03"]["utilization"] == pytest.approx(1.5 / 180)
    # the week's sessions (exports hide its chair-hours beside small ones) and its chairs
    assert weeks["2025-03-03"]["treated_sessions"] == 1 and weeks["2025-03-03"]["no_show_sessions"] == 0
    assert weeks["2025-03-03"]["chairs"] == weeks["2025-03-10"]["chairs"] == 4


def test_one_row_per_selected_clinic_even_without_sessions(wh):
    wh.clinic("OKC").clinic("TUL", chairs=2).patient()
    wh.session(clinic="OKC", start=f"{MON} 09:00")
    wh.build()
    rows = utilization(wh, MON, MON)
    assert set(rows) == {"OKC", "TUL"}
    assert rows["TUL"]["occupied_chair_hours"] == 0 and rows["TUL"]["available_chair_hours"] == 18
    assert rows["TUL"]["utilization"] == 0
    # with no explicit period, the period is the data's: the days with sessions of the selected clinics
    assert wh.rows("FROM metrics.utilization(clinics := ['TUL'])")[0]["available_chair_hours"] == 0


def test_network_utilization_pools_minutes_rather_than_averaging_clinic_rates(wh):
    # OKC: 4 chairs x 9 h on Monday = 36 chair-hours, one 90-minute session -> 1.5 h.
    # TUL: 1 chair x 9 h = 9 chair-hours, three 90-minute sessions -> 4.5 h.
    wh.clinic().clinic("TUL", chairs=1).patient().patient("P2", clinic="TUL")
    wh.session(start=f"{MON} 09:00")
    for hour in ("09:00", "11:00", "13:00"):
        wh.session(patient="P2", clinic="TUL", start=f"{MON} {hour}")
    wh.build()
    (row,) = wh.rows("FROM metrics.network_utilization(clinics := ?, start_date := ?, end_date := ?)",
                     [["OKC", "TUL"], MON, MON])
    assert row["clinics"] == 2
    assert row["available_chair_hours"] == 45 and row["occupied_chair_hours"] == 6
    assert row["utilization"] == pytest.approx(6 / 45)  # not (1.5/36 + 4.5/9) / 2
    assert row["treated_sessions"] == 4
    (empty,) = wh.rows("FROM metrics.network_utilization(clinics := ?, start_date := ?, end_date := ?)",
                       [["OKC"], SAT, SAT])
    assert empty["available_chair_hours"] == 0 and empty["utilization"] is None


def test_full_days_count_open_days_on_which_every_chair_was_in_use_at_once(wh):
    """Over a quarter nearly every clinic fills all its chairs once, so the peak alone says little; full days
    say how often. 2 chairs: Monday two sessions overlap (full), Tuesday one after the other (not full),
    Wednesday one session, Saturday closed (not an open day), then a capacity change to 3 chairs from
    Thursday: two at once is no longer full."""
    wh.clinic(chairs=2).clinic(chairs=3, valid_from="2025-03-06").patient("P1").patient("P2")
    wh.session(patient="P1", start=f"{MON} 09:00")
    wh.session(patient="P2", start=f"{MON} 09:30")
    wh.session(patient="P1", start=f"{TUE} 09:00", discharge=f"{TUE} 10:00")
    wh.session(patient="P2", start=f"{TUE} 10:30", checkin=f"{TUE} 10:15")
    wh.session(patient="P1", start="2025-03-05 09:00")
    wh.session(patient="P1", start="2025-03-06 09:00")
    wh.session(patient="P2", start="2025-03-06 09:30")
    wh.build()
    row = utilization(wh, MON, SAT)["OKC"]
    assert row["open_days"] == 5 and row["peak_concurrent_chairs"] == 2
    assert row["full_days"] == 1
    assert row["full_day_share"] == 1 / 5
    none = utilization(wh, "2025-03-10", "2025-03-14")["OKC"]  # open, nobody treated
    assert none["full_days"] == 0 and none["full_day_share"] == 0


def test_full_time_is_the_open_minutes_during_which_every_chair_was_in_use(wh):
    """Full days say a clinic filled its chairs at some moment; full time says for how long, which is what tells
    a clinic short of chairs from one full for a quarter of an hour. 2 chairs, 08:00-17:00 Mon-Fri:
    Monday both in use 09:15-10:15 (60 min); Tuesday both from 07:40 to 08:30, counted from opening (30 min);
    Wednesday one leaves as the other arrives (0); Saturday closed, however full (0); from Thursday 3 chairs,
    so two at once is not full (0)."""
    wh.clinic(chairs=2).clinic(chairs=3, valid_from="2025-03-06").patient("P1").patient("P2")
    wh.session(patient="P1", start=f"{MON} 09:00")  # 08:45-10:15
    wh.session(patient="P2", start=f"{MON} 09:30")  # 09:15-10:45
    wh.session(patient="P1", start=f"{TUE} 08:00", checkin=f"{TUE} 07:30", discharge=f"{TUE} 09:00")
    wh.session(patient="P2", start=f"{TUE} 08:00", checkin=f"{TUE} 07:40", discharge=f"{TUE} 08:30")
    wh.session(patient="P1", start="2025-03-05 09:00")  # leaves 10:15
    wh.session(patient="P2", start="2025-03-05 10:30", checkin="2025-03-05 10:15")
    wh.session(patient="P1", start=f"{SAT} 09:00")
    wh.session(patient="P2", start=f"{SAT} 09:30")
    wh.session(patient="P1", start="2025-03-06 09:00")
    wh.session(patient="P2", start="2025-03-06 09:30")
    wh.build()
    days = by_day(wh, start=MON, end=SAT)
    assert [days[d]["full_minutes"] for d in sorted(days)] == [60, 30, 0, 0, 0, 0]
    assert [days[d]["open_minutes"] for d in sorted(days)] == [540] * 5 + [0]
    row = utilization(wh, MON, SAT)["OKC"]
    assert row["full_hours"] == 1.5
    assert row["full_time_share"] == 90 / (5 * 540)
    none = utilization(wh, "2025-03-10", "2025-03-14")["OKC"]  # open, nobody treated
    assert none["full_hours"] == 0 and none["full_time_share"] == 0


def test_capacity_rows_say_which_sessions_fall_outside_the_days_and_hours_they_give(wh):
    """Utilization counts chair time only inside a row's open window on its open days: sessions on a day the
    row says is closed, or before opening, vanish from it. Per capacity row: its treated sessions, those on
    closed days, and the chair-hours outside the window. 2 chairs Mon-Fri 08:00-17:00, then 3 from Thursday."""
    wh.clinic(chairs=2).clinic(chairs=3, valid_from="2025-03-06").patient("P1").patient("P2")
    wh.session(patient="P1", start=f"{MON} 09:00")  # inside
    wh.session(patient="P2", start=f"{TUE} 08:00", checkin=f"{TUE} 07:30", discharge=f"{TUE} 09:00")  # 30 min early
    wh.session(patient="P1", start="2025-03-06 09:00")  # second row, inside
    wh.session(patient="P2", start=f"{SAT} 09:00")  # closed day: counted as such, not also as time outside hours
    wh.session(patient="P1", start="2025-03-07 16:30", checkin="2025-03-07 16:15", discharge="2025-03-07 17:45")
    wh.build()
    rows = {r["chairs"]: r for r in wh.rows("FROM metrics.capacity_rows(clinics := ?)", [["OKC"]])}
    first, second = rows[2], rows[3]
    assert first["valid_from"] is None and str(first["valid_to"]) == "2025-03-06"
    assert str(second["valid_from"]) == "2025-03-06" and second["valid_to"] is None
    assert (first["treated_sessions"], first["closed_day_sessions"], first["chair_hours_outside_window"]) == (2, 0, 0.5)
    # Friday 16:15-17:45 runs 45 minutes past closing
    assert (second["treated_sessions"], second["closed_day_sessions"], second["chair_hours_outside_window"]) == (3, 1, 0.75)
    assert wh.rows("FROM metrics.capacity_rows(clinics := ?)", [["NOPE"]]) == []

-- chair utilization over marts.clinic_capacity, marts.clinic_days and marts.clinic_hours; filters: clinics and the
-- period (NULL start/end = the first/last day on which any session of the selected clinics falls).

-- The calendar of the period for each selected clinic: whether it is open that day (weekday in the
-- open_days of the clinics row valid that day) and its available chair-minutes, chairs x (closes_at -
-- opens_at); a closed day has 0.
create or replace macro metrics.clinic_calendar(clinics := null, start_date := null, end_date := null) as table
with data_period as (
    select * from metrics.data_period(clinics := clinics)
),

bounds as (
    select
        coalesce(start_date::date, data_period.start_date) as first_day,
        coalesce(end_date::date, data_period.end_date) as last_day
    from data_period
),

days as (
    select unnest(generate_series(first_day, last_day, interval 1 day))::date as day
    from bounds
    where first_day <= last_day
),

selected_clinics as (
    select distinct clinic_id, clinic_name from marts.clinic_capacity
    where metrics.selected(clinic_id, clinics)
),

final as (
    select
        selected_clinics.clinic_id,
        selected_clinics.clinic_name,
        days.day,
        capacity.clinic_id is not null as is_open,
        capacity.chairs,
        capacity.opens_at,
        capacity.closes_at,
        coalesce(capacity.available_minutes_per_open_day, 0) as available_minutes,
        coalesce(capacity.open_minutes, 0) as open_minutes
    from selected_clinics
    cross join days
    left join marts.clinic_capacity as capacity
        on capacity.clinic_id = selected_clinics.clinic_id
        and days.day >= capacity.valid_from
        and days.day < capacity.valid_to
        and list_contains(capacity.open_days, strftime(days.day, '%a'))
)

select * from final;

-- Utilization by clinic and day: occupied / available chair-minutes (NULL on a closed day), peak
-- concurrent chairs, and chair-minutes lost to no-shows and cancellations.
create or replace macro metrics.utilization_by_day(clinics := null, start_date := null, end_date := null) as table
with calendar as (
    select * from metrics.clinic_calendar(clinics := clinics, start_date := start_date, end_date := end_date)
),

final as (
    select
        calendar.clinic_id,
        calendar.clinic_name,
        calendar.day,
        calendar.is_open,
        calendar.chairs,
        calendar.available_minutes,
        coalesce(clinic_days.occupied_minutes, 0) as occupied_minutes,
        metrics.rate(coalesce(clinic_days.occupied_minutes, 0), calendar.available_minutes) as utilization,
        coalesce(clinic_days.lost_minutes, 0) as lost_minutes,
        coalesce(clinic_days.no_show_lost_minutes, 0) as no_show_lost_minutes,
        coalesce(clinic_days.cancelled_lost_minutes, 0) as cancelled_lost_minutes,
        coalesce(clinic_days.treated_sessions, 0) as treated_sessions,
        coalesce(clinic_days.no_show_sessions, 0) as no_show_sessions,
        coalesce(clinic_days.cancelled_sessions, 0) as cancelled_sessions,
        coalesce(clinic_days.peak_concurrent_chairs, 0) as peak_concurrent_chairs,
        calendar.open_minutes,
        -- minutes of the open window with every chair in use (0 on a closed day: it has no window)
        coalesce(clinic_days.full_minutes, 0) as full_minutes
    from calendar
    left join marts.clinic_days as clinic_days
        on clinic_days.clinic_id = calendar.clinic_id and clinic_days.day = calendar.day
)

select * from final;

-- Utilization per clinic over the period: one row for every selected clinic.
create or replace macro metrics.utilization(clinics := null, start_date := null, end_date := null) as table
with days as (
    select * from metrics.utilization_by_day(clinics := clinics, start_date := start_date, end_date := end_date)
),

selected_clinics as (
    select distinct clinic_id, clinic_name from marts.clinic_capacity
    where metrics.selected(clinic_id, clinics)
),

totals as (
    select
        clinic_id,
        count(*) filter (where is_open) as open_days,
        sum(available_minutes) as available_minutes,
        sum(occupied_minutes) as occupied_minutes,
        sum(lost_minutes) as lost_minutes,
        sum(no_show_lost_minutes) as no_show_lost_minutes,
        sum(cancelled_lost_minutes) as cancelled_lost_minutes,
        sum(treated_sessions) as treated_sessions,
        sum(no_show_sessions) as no_show_sessions,
        sum(cancelled_sessions) as cancelled_sessions,
        max(peak_concurrent_chairs) as peak_concurrent_chairs,
        -- full days: open days on which, at some moment, every chair of that day's capacity row was in
        -- use; over a quarter almost every clinic peaks at all its chairs once, so how often says more
        count(*) filter (where is_open and chairs > 0 and peak_concurrent_chairs >= chairs) as full_days,
        -- and for how long: the open minutes during which every chair was in use
        sum(open_minutes) as open_minutes,
        sum(full_minutes) as full_minutes
    from days
    group by clinic_id
),

final as (
    select
        selected_clinics.clinic_id,
        selected_clinics.clinic_name,
        coalesce(totals.open_days, 0) as open_days,
        coalesce(totals.available_minutes, 0) / 60.0 as available_chair_hours,
        coalesce(totals.occupied_minutes, 0) / 60.0 as occupied_chair_hours,
        metrics.rate(totals.occupied_minutes, totals.available_minutes) as utilization,
        coalesce(totals.peak_concurrent_chairs, 0) as peak_concurrent_chairs,
        coalesce(totals.full_days, 0) as full_days,
        metrics.rate(totals.full_days, totals.open_days) as full_day_share,
        coalesce(totals.full_minutes, 0) / 60.0 as full_hours,
        metrics.rate(totals.full_minutes, totals.open_minutes) as full_time_share,
        coalesce(totals.treated_sessions, 0) as treated_sessions,
        coalesce(totals.no_show_sessions, 0) as no_show_sessions,
        coalesce(totals.cancelled_sessions, 0) as cancelled_sessions,
        coalesce(totals.lost_minutes, 0) / 60.0 as lost_chair_hours,
        metrics.rate(totals.lost_minutes, totals.available_minutes) as lost_share,
        coalesce(totals.no_show_lost_minutes, 0) / 60.0 as no_show_chair_hours,
        metrics.rate(totals.no_show_lost_minutes, totals.available_minutes) as no_show_share,
        coalesce(totals.cancelled_lost_minutes, 0) / 60.0 as cancelled_chair_hours,
        metrics.rate(totals.cancelled_lost_minutes, totals.available_minutes) as cancelled_share
    from selected_clinics
    left join totals using (clinic_id)
)

select * from final;

-- The selected clinics pooled: all occupied chair-minutes over all available chair-minutes (a network
-- figure, not the mean of clinic rates: a big clinic weighs by its chairs and hours).
create or replace macro metrics.network_utilization(clinics := null, start_date := null, end_date := null) as table
with per_clinic as (
    select * from metrics.utilization(clinics := clinics, start_date := start_date, end_date := end_date)
),

final as (
    select
        count(*) as clinics,
        coalesce(sum(available_chair_hours), 0) as available_chair_hours,
        coalesce(sum(occupied_chair_hours), 0) as occupied_chair_hours,
        metrics.rate(sum(occupied_chair_hours), sum(available_chair_hours)) as utilization,
        coalesce(sum(lost_chair_hours), 0) as lost_chair_hours,
        metrics.rate(sum(lost_chair_hours), sum(available_chair_hours)) as lost_share,
        coalesce(sum(treated_sessions), 0) as treated_sessions,
        coalesce(sum(no_show_sessions), 0) as no_show_sessions,
        coalesce(sum(cancelled_sessions), 0) as cancelled_sessions
    from per_clinic
)

select * from final;

-- Utilization by clinic and week (weeks start on Monday; the period's first and last weeks may be partial).
create or replace macro metrics.utilization_by_week(clinics := null, start_date := null, end_date := null) as table
with days as (
    select * from metrics.utilization_by_day(clinics := clinics, start_date := start_date, end_date := end_date)
),

final as (
    select
        clinic_id,
        date_trunc('week', day)::date as week_start,
        count(*) as days_in_period,
        count(*) filter (where is_open) as open_days,
        sum(available_minutes) / 60.0 as available_chair_hours,
        sum(occupied_minutes) / 60.0 as occupied_chair_hours,
        metrics.rate(sum(occupied_minutes), sum(available_minutes)) as utilization,
        sum(lost_minutes) / 60.0 as lost_chair_hours,
        max(peak_concurrent_chairs) as peak_concurrent_chairs,
        -- chairs on the week's last open day: a change of capacity shows as a change from one week to the
        -- next (utilization falls when chairs are added, though occupied chair-hours rise)
        arg_max(chairs, day) filter (where is_open) as chairs,
        -- the week's sessions: exports hide the chair-hours computed from them when they are few (lost
        -- chair-hours are missed sessions x the clinic's chair time, so they would give the count away)
        sum(treated_sessions) as treated_sessions,
        sum(no_show_sessions) as no_show_sessions,
        sum(cancelled_sessions) as cancelled_sessions
    from days
    group by clinic_id, date_trunc('week', day)::date
)

select * from final;

-- Utilization by clinic, weekday (1 = Monday) and hour of day: the open window's chair-minutes that
-- fall in each hour, and the occupied ones.
create or replace macro metrics.utilization_by_weekday_hour(clinics := null, start_date := null, end_date := null) as table
with open_days as (
    select * from metrics.clinic_calendar(clinics := clinics, start_date := start_date, end_date := end_date)
    where is_open
),

open_hours as (
    select
        clinic_id,
        day,
        chairs,
        day + opens_at as window_open,
        day + closes_at as window_close,
        unnest(generate_series(hour(opens_at), hour(closes_at - interval 1 microsecond))) as hour
    from open_days
),

available as (
    select
        clinic_id,
        day,
        hour,
        chairs * (epoch(least(window_close, day + make_time(hour, 0, 0) + interval 1 hour))
                  - epoch(greatest(window_open, day + make_time(hour, 0, 0)))) / 60.0 as available_minutes
    from open_hours
),

with_occupied as (
    select
        available.clinic_id,
        isodow(available.day) as weekday,
        strftime(available.day, '%a') as weekday_name,
        available.hour,
        available.available_minutes,
        coalesce(clinic_hours.occupied_minutes, 0) as occupied_minutes
    from available
    left join marts.clinic_hours as clinic_hours
        on clinic_hours.clinic_id = available.clinic_id
        and clinic_hours.day = available.day
        and clinic_hours.hour = available.hour
),

final as (
    select
        clinic_id,
        weekday,
        weekday_name,
        hour,
        count(*) as open_days,
        sum(available_minutes) as available_minutes,
        sum(occupied_minutes) as occupied_minutes,
        metrics.rate(sum(occupied_minutes), sum(available_minutes)) as utilization
    from with_occupied
    group by clinic_id, weekday, weekday_name, hour
)

select * from final;

-- The capacity rows every utilization, lost-capacity and planning figure is computed against: one row per
-- clinic and capacity period, with what the sessions say about them over the whole data. Treated sessions on
-- a day the row says is closed, and chair time outside its open window, are in no utilization figure (they
-- have no available minutes to be counted against): a clinic's hours or days in the extract may be wrong. The
-- chair time outside the window is counted on open days only: a closed day's sessions are counted apart.
create or replace macro metrics.capacity_rows(clinics := null) as table
with capacity as (
    select * from marts.clinic_capacity
    where metrics.selected(clinic_id, clinics)
),

session_days as (
    select clinic_id, session_date as day, count(*) as treated_sessions, sum(chair_minutes) as chair_minutes
    from marts.sessions
    where is_treated and metrics.selected(clinic_id, clinics)
    group by clinic_id, session_date
),

by_row as (
    select
        capacity.clinic_id,
        capacity.valid_from,
        sum(session_days.treated_sessions) as treated_sessions,
        sum(session_days.treated_sessions) filter (
            where not list_contains(capacity.open_days, strftime(session_days.day, '%a'))) as closed_day_sessions,
        -- on open days, a session's chair time (check-in to discharge) against the part inside the open window
        sum(session_days.chair_minutes - coalesce(clinic_days.occupied_minutes, 0)) filter (
            where list_contains(capacity.open_days, strftime(session_days.day, '%a'))) as outside_minutes
    from capacity
    join session_days
        on session_days.clinic_id = capacity.clinic_id
        and session_days.day >= capacity.valid_from
        and session_days.day < capacity.valid_to
    left join marts.clinic_days as clinic_days
        on clinic_days.clinic_id = session_days.clinic_id and clinic_days.day = session_days.day
    group by capacity.clinic_id, capacity.valid_from
),

final as (
    select
        capacity.clinic_id,
        capacity.clinic_name,
        -- open-ended ends read as NULL: "from the start", "until now"
        nullif(capacity.valid_from, date '0001-01-01') as valid_from,
        nullif(capacity.valid_to, date '9999-12-31') as valid_to,
        capacity.chairs,
        capacity.opens_at,
        capacity.closes_at,
        capacity.open_days,
        coalesce(by_row.treated_sessions, 0) as treated_sessions,
        coalesce(by_row.closed_day_sessions, 0) as closed_day_sessions,
        -- a session crossing midnight shifts minutes between days, not out of the row: never below 0
        greatest(coalesce(by_row.outside_minutes, 0), 0) / 60.0 as chair_hours_outside_window
    from capacity
    left join by_row using (clinic_id, valid_from)
)

select * from final;

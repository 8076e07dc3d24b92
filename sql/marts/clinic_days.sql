-- one row per clinic and local day with chair time, sessions or missed sessions: occupied and lost chair-minutes, peak concurrent chairs, minutes with every chair in use
with chair_time as (
    select * from intermediate.int_chair_time
),

-- Read twice below: left inline (not materialized), each read scans only the columns it needs,
-- which is cheaper than DuckDB storing every column of every session once.
sessions as not materialized (
    select * from staging.stg_sessions
),

occupancy as (
    select
        clinic_id,
        day,
        sum(minutes) filter (where chair_time = 'occupied') as occupied_minutes,
        sum(minutes) filter (where chair_time = 'lost') as lost_minutes,
        -- lost to each kind of miss: a no-show held the chair, a cancellation may have been rebooked
        sum(minutes) filter (where chair_time = 'lost' and status = 'no_show') as no_show_lost_minutes,
        sum(minutes) filter (where chair_time = 'lost' and status = 'cancelled') as cancelled_lost_minutes
    from chair_time
    group by clinic_id, day
),

session_counts as (
    select
        clinic_id,
        case when is_treated then treatment_start else scheduled_start end::date as day,
        count(*) filter (where is_treated) as treated_sessions,
        count(*) filter (where status = 'no_show') as no_show_sessions,
        count(*) filter (where status = 'cancelled') as cancelled_sessions
    from sessions
    group by all
),

-- Peak concurrent chairs: the most treated sessions present at once (check-in to discharge), per
-- local day; a session crossing midnight counts on both days. A session leaving as another arrives
-- does not overlap it.
presence_days as (
    select
        clinic_id,
        checkin_at,
        discharge_at,
        unnest(generate_series(checkin_at::date, discharge_at::date, interval 1 day))::date as day
    from sessions
    where is_treated and discharge_at >= checkin_at
),

presence_pieces as (
    select
        clinic_id,
        day,
        greatest(checkin_at, day::timestamp) as piece_start,
        least(discharge_at, day::timestamp + interval 1 day) as piece_end
    from presence_days
),

presence_events as (
    select clinic_id, day, piece_start as event_at, 1 as change from presence_pieces where piece_end > piece_start
    union all
    select clinic_id, day, piece_end as event_at, -1 as change from presence_pieces where piece_end > piece_start
),

-- chairs in use from each event until the next one (the day's last event closes at its own time)
concurrency as (
    select
        clinic_id,
        day,
        event_at,
        sum(change) over by_time as chairs_in_use,
        lead(event_at, 1, event_at) over by_time as next_event_at
    from presence_events
    window by_time as (
        partition by clinic_id, day order by event_at, change
        rows between unbounded preceding and current row
    )
),

-- The day's chairs (every chair) and open window (where full minutes count), when the clinic is open that day.
day_capacity as (
    select clinic_id, day, chairs, window_open as opens, window_close as closes
    from intermediate.int_open_windows
),

-- Full minutes: inside the open window, the minutes during which every chair was in use. Over a quarter
-- nearly every clinic fills its chairs at some moment of nearly every day; how long they stay full is
-- what tells a clinic short of chairs from one that fills them for a quarter of an hour.
full_pieces as (
    select
        concurrency.clinic_id,
        concurrency.day,
        date_diff('second',
                  greatest(concurrency.event_at, day_capacity.opens),
                  least(concurrency.next_event_at, day_capacity.closes)) / 60.0 as minutes
    from concurrency
    join day_capacity using (clinic_id, day)
    where day_capacity.chairs > 0
        and concurrency.chairs_in_use >= day_capacity.chairs
        and concurrency.next_event_at > day_capacity.opens
        and concurrency.event_at < day_capacity.closes
),

full_time as (
    select clinic_id, day, sum(minutes) as full_minutes
    from full_pieces
    group by clinic_id, day
),

peaks as (
    select clinic_id, day, max(chairs_in_use) as peak_concurrent_chairs
    from concurrency
    group by clinic_id, day
),

keys as (
    select clinic_id, day from occupancy
    union
    select clinic_id, day from session_counts
    union
    select clinic_id, day from peaks
),

final as (
    select
        keys.clinic_id,
        keys.day,
        coalesce(occupancy.occupied_minutes, 0) as occupied_minutes,
        coalesce(occupancy.lost_minutes, 0) as lost_minutes,
        coalesce(occupancy.no_show_lost_minutes, 0) as no_show_lost_minutes,
        coalesce(occupancy.cancelled_lost_minutes, 0) as cancelled_lost_minutes,
        coalesce(session_counts.treated_sessions, 0) as treated_sessions,
        coalesce(session_counts.no_show_sessions, 0) as no_show_sessions,
        coalesce(session_counts.cancelled_sessions, 0) as cancelled_sessions,
        coalesce(peaks.peak_concurrent_chairs, 0) as peak_concurrent_chairs,
        coalesce(full_time.full_minutes, 0) as full_minutes
    from keys
    left join occupancy using (clinic_id, day)
    left join session_counts using (clinic_id, day)
    left join peaks using (clinic_id, day)
    left join full_time using (clinic_id, day)
)

select * from final

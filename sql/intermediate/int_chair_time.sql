-- one row per session and clinic day its chair time falls in that day's open window (treated: occupied; cancelled or no-show: lost), with the session's status
-- Read four times below: left inline (not materialized), each read scans only the columns it needs,
-- which is cheaper than DuckDB storing every column of every session once.
with sessions as not materialized (
    select * from staging.stg_sessions
),

open_windows as (
    select * from intermediate.int_open_windows
),

-- Lost capacity of a cancelled or no-show session: from scheduled_start for the clinic's median
-- treated-session occupancy (check-in to discharge); the network's median if the clinic has none.
clinic_occupancy as (
    select
        clinic_id,
        median(epoch(discharge_at_utc) - epoch(checkin_at_utc)) as median_seconds
    from sessions
    where is_treated
    group by clinic_id
),

network_occupancy as (
    select median(epoch(discharge_at_utc) - epoch(checkin_at_utc)) as median_seconds
    from sessions
    where is_treated
),

spans as (
    select
        session_id,
        clinic_id,
        'occupied' as chair_time,
        status,
        checkin_at as span_start,
        discharge_at as span_end
    from sessions
    where is_treated
    union all
    select
        sessions.session_id,
        sessions.clinic_id,
        'lost' as chair_time,
        sessions.status,
        sessions.scheduled_start as span_start,
        sessions.scheduled_start + to_microseconds(
            cast(coalesce(clinic_occupancy.median_seconds, network_occupancy.median_seconds) * 1000000 as bigint)
        ) as span_end
    from sessions
    left join clinic_occupancy using (clinic_id)
    cross join network_occupancy
    where not sessions.is_treated
      and coalesce(clinic_occupancy.median_seconds, network_occupancy.median_seconds) is not null
),

-- Each span, once for every local day it touches (a span crossing midnight touches two days).
span_days as (
    select
        *,
        unnest(generate_series(span_start::date, span_end::date, interval 1 day))::date as day
    from spans
    where span_end > span_start
),

-- That day's open window, from the clinics row valid that day; a closed day has none.
windows as (
    select
        span_days.*,
        open_windows.chairs,
        open_windows.window_open,
        open_windows.window_close
    from span_days
    inner join open_windows using (clinic_id, day)
),

pieces as (
    select
        session_id,
        clinic_id,
        chair_time,
        status,
        day,
        greatest(span_start, window_open) as piece_start,
        least(span_end, window_close) as piece_end
    from windows
),

final as (
    select
        session_id,
        clinic_id,
        chair_time,
        status,
        day,
        piece_start,
        piece_end,
        (epoch(piece_end) - epoch(piece_start)) / 60.0 as minutes
    from pieces
    where piece_end > piece_start
)

select * from final

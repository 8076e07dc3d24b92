-- one row per clinic, local day and hour of day with occupied chair-minutes inside the open window
with chair_time as (
    select * from intermediate.int_chair_time
    where chair_time = 'occupied'
),

piece_hours as (
    select
        clinic_id,
        day,
        piece_start,
        piece_end,
        unnest(generate_series(date_trunc('hour', piece_start), piece_end, interval 1 hour)) as hour_start
    from chair_time
),

hour_overlaps as (
    select
        clinic_id,
        day,
        hour(hour_start) as hour,
        (epoch(least(piece_end, hour_start + interval 1 hour)) - epoch(greatest(piece_start, hour_start))) / 60.0
            as minutes
    from piece_hours
),

final as (
    select
        clinic_id,
        day,
        hour,
        sum(minutes) as occupied_minutes
    from hour_overlaps
    where minutes > 0
    group by clinic_id, day, hour
)

select * from final

-- one row per clinic and local day its clinics rows say it is open, over the days its sessions touch: that day's chairs and open window
-- The capacity row valid on a day and whether its open days include that weekday, decided once here for the
-- chair time (int_chair_time) and the full minutes (marts.clinic_days), which both count inside the window.
with sessions as (
    select * from staging.stg_sessions
),

capacity as (
    select * from intermediate.int_clinic_capacity
),

-- from the first day a session of the clinic touches to the last (a session may end after midnight, and a
-- missed one holds its chair from scheduled_start on)
bounds as (
    select
        clinic_id,
        min(least(coalesce(checkin_at, scheduled_start), scheduled_start))::date as first_day,
        max(greatest(coalesce(discharge_at, scheduled_start), scheduled_start))::date + 1 as last_day
    from sessions
    where coalesce(checkin_at, scheduled_start) is not null
    group by clinic_id
),

days as (
    select clinic_id, unnest(generate_series(first_day, last_day, interval 1 day))::date as day
    from bounds
),

final as (
    select
        days.clinic_id,
        days.day,
        capacity.chairs,
        days.day + capacity.opens_at as window_open,
        days.day + capacity.closes_at as window_close
    from days
    inner join capacity
        on capacity.clinic_id = days.clinic_id
        and days.day >= capacity.valid_from
        and days.day < capacity.valid_to
        and list_contains(capacity.open_days, strftime(days.day, '%a'))
)

select * from final

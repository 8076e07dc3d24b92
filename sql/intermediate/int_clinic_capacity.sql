-- one row per clinic and capacity period (a clinics row applies from its valid_from until the next row's)
with capacity_rows as (
    select * from staging.stg_clinics
),

periods as (
    select
        clinic_id,
        chairs,
        opens_at,
        closes_at,
        open_days,
        open_minutes_per_day,
        -- a row without valid_from applies from the beginning
        coalesce(valid_from, date '0001-01-01') as valid_from,
        lead(coalesce(valid_from, date '0001-01-01'))
            over (partition by clinic_id order by coalesce(valid_from, date '0001-01-01')) as next_valid_from
    from capacity_rows
),

final as (
    select
        clinic_id,
        valid_from,
        -- exclusive: the day the next row starts to apply
        coalesce(next_valid_from, date '9999-12-31') as valid_to,
        chairs,
        opens_at,
        closes_at,
        open_days,
        open_minutes_per_day as open_minutes,
        chairs * open_minutes_per_day as available_minutes_per_open_day
    from periods
)

select * from final

-- one row per clinic and capacity period: chairs and open window from valid_from (inclusive) to valid_to (exclusive)
with capacity as (
    select * from intermediate.int_clinic_capacity
),

clinics as (
    select * from intermediate.int_clinics
),

final as (
    select
        capacity.clinic_id,
        clinics.clinic_name,
        clinics.timezone,
        capacity.valid_from,
        capacity.valid_to,
        capacity.chairs,
        capacity.opens_at,
        capacity.closes_at,
        capacity.open_days,
        capacity.open_minutes,
        capacity.available_minutes_per_open_day
    from capacity
    left join clinics using (clinic_id)
)

select * from final

-- one row per clinic and capacity period (a clinic has a row per valid_from)
with source as (
    select * from raw.clinics
),

renamed as (
    select
        clinic_id,
        clinic_name,
        timezone,
        chairs,
        opens_at,
        closes_at,
        string_split(open_days, ',') as open_days,
        valid_from,
        datediff('minute', opens_at, closes_at) as open_minutes_per_day
    from source
),

final as (
    select * from renamed
)

select * from final

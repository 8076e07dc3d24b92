-- one row per vital-sign reading (session and measured_at)
with source as (
    select * from raw.vitals
),

renamed as (
    select
        session_id,
        measured_at,
        measured_at_utc,
        systolic_bp,
        diastolic_bp,
        heart_rate,
        spo2,
        respiratory_rate
    from source
),

final as (
    select * from renamed
)

select * from final

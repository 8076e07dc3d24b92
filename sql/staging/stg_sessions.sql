-- one row per scheduled session (treated, cancelled or no-show)
with source as (
    select * from raw.sessions
),

renamed as (
    select
        session_id,
        patient_ref as patient_key,
        clinic_id,
        chair_id,
        modality,
        case when modality = 'esketamine_nasal' then 'esketamine' else 'ketamine' end as modality_family,
        status,
        status in ('completed', 'stopped_early') as is_treated,
        scheduled_start,
        checkin_at,
        treatment_start,
        treatment_end,
        discharge_at,
        scheduled_start_utc,
        checkin_at_utc,
        treatment_start_utc,
        treatment_end_utc,
        discharge_at_utc,
        dose_mg,
        weight_kg
    from source
),

final as (
    select * from renamed
)

select * from final

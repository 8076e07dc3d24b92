-- one row per assessment (a scale score a patient filled in)
with source as (
    select * from raw.assessments
),

renamed as (
    select
        assessment_id,
        patient_ref as patient_key,
        assessed_at,
        assessed_at_utc,
        instrument,
        score,
        session_id,
        item9
    from source
),

final as (
    select * from renamed
)

select * from final

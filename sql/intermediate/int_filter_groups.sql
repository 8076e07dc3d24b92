-- one row per combination of clinic, modality and indication that treated sessions have, numbered: the filter_group key
with sessions as (
    select * from intermediate.int_treated_sessions
),

patients as (
    select patient_key, primary_indication from staging.stg_patients
),

combinations as (
    select distinct
        sessions.clinic_id,
        sessions.modality,
        sessions.modality_family,
        patients.primary_indication as indication
    from sessions
    left join patients using (patient_key)
),

final as (
    select
        cast(row_number() over (order by clinic_id, modality, indication nulls first) as integer) as filter_group,
        clinic_id,
        modality,
        modality_family,
        indication
    from combinations
)

select * from final

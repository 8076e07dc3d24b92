-- one row per vitals reading of a treated session, placed at its whole minute since treatment_start, with the session's filters
with vitals as (
    select * from staging.stg_vitals
),

treated as (
    select * from intermediate.int_treated_sessions
),

patients as (
    select patient_key, primary_indication from staging.stg_patients
),

session_filters as (
    select
        treated.session_id,
        treated.clinic_id,
        treated.session_date,
        treated.modality,
        treated.modality_family,
        patients.primary_indication as indication,
        treated.treatment_start_utc
    from treated
    left join patients using (patient_key)
),

final as (
    select
        session_filters.clinic_id,
        session_filters.session_date,
        session_filters.modality,
        session_filters.modality_family,
        session_filters.indication,
        -- the whole minute (floor) between the instants of treatment_start and the reading
        cast(floor((epoch(vitals.measured_at_utc) - epoch(session_filters.treatment_start_utc)) / 60.0) as integer)
            as minute,
        vitals.systolic_bp,
        vitals.diastolic_bp,
        vitals.heart_rate,
        vitals.spo2,
        vitals.respiratory_rate
    from vitals
    inner join session_filters using (session_id)
)

select * from final

-- one row per vitals reading of a treated session, placed at its whole minute since treatment_start
with vitals as (
    select * from staging.stg_vitals
),

sessions as (
    select
        session_id,
        clinic_id,
        session_date,
        modality,
        modality_family,
        indication,
        treatment_start
    from marts.sessions
    where is_treated
),

treated_starts as (
    select session_id, treatment_start_utc from intermediate.int_treated_sessions
),

final as (
    select
        vitals.session_id,
        sessions.clinic_id,
        sessions.session_date,
        sessions.modality,
        sessions.modality_family,
        sessions.indication,
        cast(floor((epoch(vitals.measured_at_utc) - epoch(treated_starts.treatment_start_utc)) / 60.0) as integer)
            as minute,
        vitals.systolic_bp,
        vitals.diastolic_bp,
        vitals.heart_rate,
        vitals.spo2,
        vitals.respiratory_rate
    from vitals
    inner join treated_starts using (session_id)
    inner join sessions using (session_id)
)

select * from final

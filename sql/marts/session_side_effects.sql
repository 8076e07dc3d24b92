-- one row per treated session and side effect (at most one row per effect), with the session's filters and dose band
with side_effects as (
    select * from staging.stg_side_effects
),

sessions as (
    select
        session_id,
        clinic_id,
        session_date,
        modality,
        modality_family,
        indication,
        session_number,
        phase,
        dose_band,
        dose_band_order
    from marts.sessions
    where is_treated
),

final as (
    select
        side_effects.session_id,
        sessions.clinic_id,
        sessions.session_date,
        sessions.modality,
        sessions.modality_family,
        sessions.indication,
        sessions.session_number,
        sessions.phase,
        sessions.dose_band,
        sessions.dose_band_order,
        side_effects.effect,
        side_effects.severity,
        side_effects.onset_min,
        side_effects.intervention
    from side_effects
    inner join sessions using (session_id)
)

select * from final

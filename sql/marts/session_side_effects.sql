-- one row per treated session and side effect (at most one row per effect), with the session's day, filter group, place in its course and dose band
with side_effects as (
    select * from staging.stg_side_effects
),

sessions as (
    select
        session_id,
        clinic_id,
        modality,
        indication,
        session_date,
        session_number,
        phase,
        dose_band,
        dose_band_order
    from marts.sessions
    where is_treated
),

filter_groups as (
    select * from marts.filter_groups
),

-- Clinic, modality and indication are stored as the session's filter group (see marts.filter_groups).
final as (
    select
        filter_groups.filter_group,
        sessions.session_date,
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
    inner join filter_groups
        on filter_groups.clinic_id = sessions.clinic_id
        and filter_groups.modality = sessions.modality
        and filter_groups.indication is not distinct from sessions.indication
)

select * from final

-- one row per treated session and side effect (at most one row per effect), with the session's day, filter group, place in its course and dose band
with side_effects as (
    select * from staging.stg_side_effects
),

sessions as (
    select
        session_id,
        session_date,
        session_number,
        phase,
        dose_band,
        dose_band_order
    from marts.sessions
    where is_treated
),

session_filters as (
    select session_id, filter_group from intermediate.int_session_filters
),

-- Clinic, modality and indication are stored as the session's filter group (see marts.filter_groups),
-- looked up once per session in intermediate.int_session_filters.
final as (
    select
        session_filters.filter_group,
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
    inner join session_filters using (session_id)
)

select * from final

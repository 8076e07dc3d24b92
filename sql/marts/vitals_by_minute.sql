-- one row per vitals reading of a treated session, placed at its whole minute since treatment_start, with its session's day and filter group
with vitals as (
    select * from staging.stg_vitals
),

-- Clinic, modality and indication are stored as the session's filter group (see marts.filter_groups):
-- 13 million readings with four text columns cost the rebuild several seconds more than one integer.
session_filters as (
    select * from intermediate.int_session_filters
),

final as (
    select
        session_filters.filter_group,
        session_filters.session_date,
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

-- one row per treated session with a filter group: its filter_group, day and treatment_start instant (the keys the big marts store)
with sessions as (
    select * from intermediate.int_treated_sessions
),

patients as (
    select patient_key, primary_indication from staging.stg_patients
),

filter_groups as (
    select * from intermediate.int_filter_groups
),

-- A table of its own so that marts.vitals_by_minute joins 13 million readings to one small integer key:
-- inside that model the planner joined the readings to the sessions first and then to the filter groups
-- on three text keys (about a CPU-second more).
final as (
    select
        sessions.session_id,
        filter_groups.filter_group,
        sessions.session_date,
        sessions.treatment_start_utc
    from sessions
    left join patients using (patient_key)
    inner join filter_groups
        on filter_groups.clinic_id = sessions.clinic_id
        and filter_groups.modality = sessions.modality
        and filter_groups.indication is not distinct from patients.primary_indication
)

select * from final

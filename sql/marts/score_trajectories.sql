-- one row per course, instrument and session number with a score (0 = baseline; k = the last score after session k, before session k + 1)
with sessions as (
    select * from intermediate.int_treated_sessions
),

outcomes as (
    select * from marts.course_outcomes
),

assessments as (
    select * from staging.stg_assessments
),

-- After session k: assessments in (treatment_start of k, treatment_start of k + 1], and for a
-- course's last session up to 30 days after it.
session_windows as (
    select
        course_id,
        patient_key,
        session_number,
        phase,
        treatment_start_utc as window_from_utc,
        least(
            coalesce(next_session_start_utc, treatment_start_utc + interval 30 day),
            treatment_start_utc + interval 30 day
        ) as window_until_utc
    from sessions
),

after_sessions as (
    select
        session_windows.course_id,
        assessments.instrument,
        session_windows.session_number,
        session_windows.phase,
        assessments.score
    from session_windows
    inner join assessments
        on assessments.patient_key = session_windows.patient_key
        and assessments.assessed_at_utc > session_windows.window_from_utc
        and assessments.assessed_at_utc <= session_windows.window_until_utc
    qualify row_number() over (
        partition by session_windows.course_id, assessments.instrument, session_windows.session_number
        order by assessments.assessed_at_utc desc, assessments.assessment_id desc
    ) = 1
),

baselines as (
    select course_id, instrument, 0 as session_number, 'baseline' as phase, baseline_score as score
    from outcomes
    where has_baseline
),

points as (
    select * from baselines
    union all
    select * from after_sessions
),

final as (
    select
        points.course_id,
        outcomes.clinic_id,
        outcomes.modality_family,
        outcomes.modality,
        outcomes.indication,
        outcomes.on_maoi,
        outcomes.on_lamotrigine,
        outcomes.on_benzodiazepine,
        outcomes.on_opioid,
        outcomes.course_start_date,
        outcomes.evaluable,
        points.instrument,
        points.session_number,
        points.phase,
        points.score
    from points
    inner join outcomes using (course_id, instrument)
)

select * from final

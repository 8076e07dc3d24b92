-- one row per course, instrument and session number with a score (0 = baseline; k = the last score after session k, before session k + 1); filter by joining marts.courses
with sessions as (
    select
        course_id,
        patient_key,
        session_number,
        phase,
        treatment_start_utc,
        -- after session k: up to session k + 1's start, and at most 30 days after session k
        least(
            coalesce(next_session_start_utc, treatment_start_utc + interval 30 day),
            treatment_start_utc + interval 30 day
        ) as window_until_utc
    from intermediate.int_treated_sessions
),

outcomes as (
    select * from marts.course_outcomes
),

assessments as (
    select patient_key, instrument, assessment_id, assessed_at_utc, score
    from staging.stg_assessments
),

-- After session k: the patient's assessments in (treatment_start of k, window_until of k].
after_sessions as (
    select
        sessions.course_id,
        assessments.instrument,
        sessions.session_number,
        sessions.phase,
        assessments.score,
        assessments.assessed_at_utc,
        assessments.assessment_id
    from sessions
    inner join assessments
        on assessments.patient_key = sessions.patient_key
        and assessments.assessed_at_utc > sessions.treatment_start_utc
        and assessments.assessed_at_utc <= sessions.window_until_utc
),

last_after_sessions as (
    select
        course_id,
        instrument,
        session_number,
        any_value(phase) as phase,
        arg_max(score, (assessed_at_utc, assessment_id)) as score
    from after_sessions
    group by course_id, instrument, session_number
),

baselines as (
    select course_id, instrument, 0 as session_number, 'baseline' as phase, baseline_score as score
    from outcomes
    where has_baseline
),

points as (
    select * from baselines
    union all
    select * from last_after_sessions
),

final as (
    select
        points.course_id,
        outcomes.evaluable,
        points.instrument,
        points.session_number,
        points.phase,
        points.score
    from points
    inner join outcomes using (course_id, instrument)
)

select * from final

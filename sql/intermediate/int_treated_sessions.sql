-- one row per treated session (completed or stopped_early), placed in its course: session number, induction or booster
with sessions as (
    select * from staging.stg_sessions
    where is_treated
),

clinics as (
    select clinic_id, timezone from intermediate.int_clinics
),

-- A patient's treated sessions of one modality family, in the order of their instants.
ordered as (
    select
        sessions.*,
        clinics.timezone,
        lag(sessions.treatment_start) over by_patient as previous_start,
        lag(sessions.treatment_start_utc) over by_patient as previous_start_utc,
        lag(clinics.timezone) over by_patient as previous_timezone
    from sessions
    left join clinics using (clinic_id)
    window by_patient as (
        partition by sessions.patient_key, sessions.modality_family
        order by sessions.treatment_start_utc, sessions.session_id
    )
),

-- A new course starts when a treated session comes more than 180 days after the previous one.
-- "180 days after" is read on the previous session's clinic wall clock (same clock time 180
-- calendar days later) and compared as an instant; the ICU conversion is only needed near 180 days.
course_starts as (
    select
        *,
        case
            when previous_start_utc is null then true
            when epoch(treatment_start_utc) - epoch(previous_start_utc) < 179 * 86400 then false
            when epoch(treatment_start_utc) - epoch(previous_start_utc) > 181 * 86400 then true
            else treatment_start_utc > timezone(
                'UTC', timezone(coalesce(previous_timezone, 'UTC'), previous_start + interval 180 day)
            )
        end as starts_course
    from ordered
),

courses_numbered as (
    select
        *,
        sum(starts_course::integer) over (
            partition by patient_key, modality_family
            order by treatment_start_utc, session_id
            rows between unbounded preceding and current row
        ) as course_number
    from course_starts
),

in_course as (
    select
        *,
        modality_family || ':' || patient_key || ':' || course_number as course_id,
        row_number() over by_course as session_number,
        case when modality_family = 'esketamine' then 8 else 6 end as induction_size,
        lag(treatment_start) over by_course as previous_session_start,
        lead(treatment_start_utc) over by_course as next_session_start_utc
    from courses_numbered
    window by_course as (
        partition by patient_key, modality_family, course_number
        order by treatment_start_utc, session_id
    )
),

final as (
    select
        session_id,
        course_id,
        patient_key,
        clinic_id,
        timezone,
        chair_id,
        modality,
        modality_family,
        status,
        course_number,
        session_number,
        induction_size,
        case when session_number <= induction_size then 'induction' else 'booster' end as phase,
        scheduled_start,
        checkin_at,
        treatment_start,
        treatment_end,
        discharge_at,
        treatment_start_utc,
        treatment_end_utc,
        checkin_at_utc,
        discharge_at_utc,
        next_session_start_utc,
        treatment_start::date as session_date,
        -- booster interval: calendar days between this session's date and session k - 1's
        case
            when session_number > induction_size
                then date_diff('day', previous_session_start::date, treatment_start::date)
        end as booster_interval_days,
        dose_mg,
        weight_kg
    from in_course
)

select * from final

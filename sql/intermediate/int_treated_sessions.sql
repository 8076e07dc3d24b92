-- one row per treated session (completed or stopped_early), placed in its course: session number, induction or booster
with sessions as (
    select * from staging.stg_sessions
    where is_treated
),

clinics as (
    select clinic_id, timezone from intermediate.int_clinics
),

-- A patient's treated sessions of one modality family, in the order of their instants (carrying
-- only the columns the models downstream read: the windows sort a million rows at 10M vitals).
ordered as (
    select
        sessions.session_id,
        sessions.patient_key,
        sessions.clinic_id,
        clinics.timezone,
        sessions.modality,
        sessions.modality_family,
        sessions.status,
        sessions.treatment_start,
        sessions.treatment_start_utc,
        sessions.checkin_at_utc,
        sessions.discharge_at_utc,
        sessions.dose_mg,
        sessions.weight_kg,
        row_number() over by_patient as patient_session_number,
        lag(sessions.treatment_start) over by_patient as previous_start,
        lag(sessions.treatment_start_utc) over by_patient as previous_start_utc,
        lag(clinics.timezone) over by_patient as previous_timezone,
        lead(sessions.treatment_start_utc) over by_patient as next_start_utc
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

-- The course's first session: the last course start at or before this session (same ordering, by
-- patient_session_number: one integer sorts faster than the instant and session_id it numbers).
in_course as (
    select
        *,
        max(case when starts_course then patient_session_number end) over running as course_first_number,
        arg_max(case when starts_course then session_id end, case when starts_course then patient_session_number end)
            over running as course_first_session_id,
        lead(starts_course) over by_patient as next_starts_course
    from course_starts
    window
        by_patient as (partition by patient_key, modality_family order by patient_session_number),
        running as (
            partition by patient_key, modality_family order by patient_session_number
            rows between unbounded preceding and current row
        )
),

placed as (
    select
        *,
        patient_session_number - course_first_number + 1 as session_number,
        case when modality_family = 'esketamine' then 8 else 6 end as induction_size
    from in_course
),

final as (
    select
        session_id,
        -- a course is named by the session_id of its session 1
        course_first_session_id as course_id,
        patient_key,
        clinic_id,
        timezone,
        modality,
        modality_family,
        status,
        session_number,
        induction_size,
        case when session_number <= induction_size then 'induction' else 'booster' end as phase,
        treatment_start,
        treatment_start_utc,
        checkin_at_utc,
        discharge_at_utc,
        case when coalesce(next_starts_course, true) then null else next_start_utc end as next_session_start_utc,
        treatment_start::date as session_date,
        -- booster interval: calendar days between this session's date and session k - 1's
        case
            when session_number > induction_size
                then date_diff('day', previous_start::date, treatment_start::date)
        end as booster_interval_days,
        dose_mg,
        weight_kg
    from placed
)

select * from final

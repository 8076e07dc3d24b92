-- one row per course (a patient's run of treated sessions of one modality family, no gap over 180 days)
-- Read twice below: left inline (not materialized), each read scans only the columns it needs,
-- which is cheaper than DuckDB storing every column of every treated session once.
with sessions as not materialized (
    select * from intermediate.int_treated_sessions
),

patients as (
    select * from staging.stg_patients
),

all_sessions as (
    select * from staging.stg_sessions
),

-- Each clinic's first and last day in the data (treatment_start for treated sessions, scheduled_start for
-- cancelled and no-show ones), in clinic local time, in one pass over the sessions. A patient already in
-- treatment when the extract begins has their first session in the data counted as a course start: the
-- first weeks read high (sample: Jan 2025, 538 courses against 322-451 in every later month). Courses
-- starting in a clinic's first 28 days are flagged.
clinic_start as (
    select
        clinic_id,
        min(case when is_treated then treatment_start else scheduled_start end)::date as data_start_date,
        max(case when is_treated then treatment_start else scheduled_start end)::date as clinic_end_date
    from all_sessions
    group by clinic_id
),

-- The data's end: the last day on which any session of the warehouse falls.
data_end as (
    select max(clinic_end_date) as data_end_date
    from clinic_start
),

first_sessions as (
    select
        course_id,
        patient_key,
        modality_family,
        modality,
        induction_size,
        clinic_id,
        timezone,
        treatment_start as course_start,
        treatment_start_utc as course_start_utc
    from sessions
    where session_number = 1
),

per_course as (
    select
        course_id,
        count(*) as sessions,
        count(*) filter (where phase = 'induction') as induction_sessions,
        count(*) filter (where phase = 'booster') as booster_sessions,
        -- induction_end: treatment_start of the last induction session the course has
        arg_max(treatment_start, session_number) filter (where phase = 'induction') as induction_end,
        arg_max(treatment_start_utc, session_number) filter (where phase = 'induction') as induction_end_utc,
        arg_max(timezone, session_number) filter (where phase = 'induction') as induction_end_timezone,
        min(treatment_start_utc) filter (where session_number = 2) as session_2_start_utc,
        min(treatment_start) filter (where session_number = induction_size + 1) as first_booster_start,
        max(treatment_start) as last_session_start,
        count(distinct modality) > 1 as mixed_modality
    from sessions
    group by course_id
),

joined as (
    select
        first_sessions.*,
        per_course.* exclude (course_id),
        patients.primary_indication as indication,
        patients.on_maoi,
        patients.on_lamotrigine,
        patients.on_benzodiazepine,
        patients.on_opioid,
        data_end.data_end_date,
        -- may have begun before the data: the course's first session in the data is in its clinic's first 28 days
        first_sessions.course_start::date < clinic_start.data_start_date + 28 as starts_in_first_weeks
    from first_sessions
    inner join per_course using (course_id)
    left join patients using (patient_key)
    left join clinic_start using (clinic_id)
    cross join data_end
),

final as (
    select
        course_id,
        patient_key,
        clinic_id,
        modality_family,
        modality,
        mixed_modality,
        indication,
        on_maoi,
        on_lamotrigine,
        on_benzodiazepine,
        on_opioid,
        course_start,
        course_start_utc,
        course_start::date as course_start_date,
        date_trunc('month', course_start)::date as course_month,
        induction_size,
        induction_sessions,
        induction_sessions = induction_size as completed_induction,
        -- Still in induction: not completed, and the last treated session fewer than 14 days before the
        -- data's last day (0 to 13 days). Induction runs a session every 2 to 4 days (ketamine 6 over about
        -- 3 weeks, esketamine 8 twice weekly): a gap of 14 days is a stop, shorter may be a course
        -- that simply has not reached its 6th (8th) session when the data ends. Not a dropout (yet).
        induction_sessions < induction_size
            and date_diff('day', last_session_start::date, data_end_date) < 14 as still_in_induction,
        -- Follow-up window still open: the window (course_start, induction_end + 14 days] ends after the
        -- data's last day, or induction itself has not ended (its induction_end may still move).
        (induction_sessions < induction_size
            and date_diff('day', last_session_start::date, data_end_date) < 14)
            or induction_end::date + 14 > data_end_date as follow_up_window_open,
        induction_end,
        induction_end_utc,
        induction_end::date as induction_end_date,
        sessions,
        booster_sessions,
        first_booster_start,
        last_session_start,
        session_2_start_utc,
        -- Outcome windows, as instants. "30 days" and "14 days" are calendar days on the clinic's
        -- wall clock (the same clock time 30 days earlier / 14 days later), each read in the time zone
        -- of the clinic of the session it is counted from.
        timezone('UTC', timezone(timezone, course_start - interval 30 day)) as baseline_from_utc,
        timezone(
            'UTC', timezone(induction_end_timezone, induction_end + interval 14 day)
        ) as follow_up_until_utc,
        session_2_start_utc + interval 72 hour as early_signal_until_utc,
        -- Boosters: time from the end of induction to the first booster, in calendar days, for
        -- courses that completed induction; censored at the data's end for those without one.
        data_end_date,
        starts_in_first_weeks,
        case
            when induction_sessions = induction_size
                then coalesce(
                    date_diff('day', induction_end::date, first_booster_start::date),
                    date_diff('day', induction_end::date, data_end_date)
                )
        end as days_to_first_booster_or_censor,
        case
            when induction_sessions = induction_size then first_booster_start is not null
        end as has_booster,
        -- Maintenance time at risk of boosters: the days after induction_end up to the earlier of the
        -- data's end and 180 days after the course's last session (a later session is a new course).
        case when induction_sessions = induction_size then induction_end::date end as maintenance_after_date,
        case
            when induction_sessions = induction_size
                then least(data_end_date, (last_session_start::date + 180))
        end as maintenance_until_date
    from joined
)

select * from final

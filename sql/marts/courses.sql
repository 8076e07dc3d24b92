-- one row per course: its clinic (of session 1), phases, completion (or still in induction at the data's end),
-- whether its follow-up window is still open, and booster follow-up
with courses as (
    select * from intermediate.int_courses
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
        course_start_date,
        course_month,
        induction_size,
        induction_sessions,
        completed_induction,
        still_in_induction,
        follow_up_window_open,
        induction_end,
        induction_end_date,
        sessions,
        booster_sessions,
        first_booster_start,
        last_session_start,
        data_end_date,
        starts_in_first_weeks,
        days_to_first_booster_or_censor,
        has_booster,
        maintenance_after_date,
        maintenance_until_date
    from courses
)

select * from final

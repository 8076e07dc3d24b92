-- one row per scheduled session (treated, cancelled or no-show), with its course place, dose band and safety facts
with sessions as (
    select * from staging.stg_sessions
),

treated as (
    select session_id, course_id, session_number, induction_size, phase, booster_interval_days
    from intermediate.int_treated_sessions
),

courses as (
    select course_id, clinic_id as course_clinic_id from intermediate.int_courses
),

patients as (
    select * from staging.stg_patients
),

vitals as (
    select * from intermediate.int_session_vitals
),

side_effects as (
    select
        session_id,
        count(*) as side_effects,
        count(*) filter (where intervention <> 'none') as side_effects_with_intervention,
        max(case severity when 'mild' then 1 when 'moderate' then 2 when 'severe' then 3 end) as worst_severity_rank
    from staging.stg_side_effects
    group by session_id
),

joined as (
    select
        sessions.*,
        treated.course_id,
        treated.session_number,
        treated.induction_size,
        treated.phase,
        treated.booster_interval_days,
        courses.course_clinic_id,
        patients.primary_indication as indication,
        patients.on_maoi,
        patients.on_lamotrigine,
        patients.on_benzodiazepine,
        patients.on_opioid,
        vitals.vitals_readings,
        vitals.bp_elevated,
        vitals.peak_systolic_bp,
        vitals.first_systolic_bp,
        vitals.peak_systolic_rise,
        vitals.bp_before_dosing,
        vitals.bp_around_minute_40,
        vitals.bp_at_end,
        side_effects.side_effects,
        side_effects.side_effects_with_intervention,
        side_effects.worst_severity_rank,
        case
            when sessions.modality_family = 'ketamine' and sessions.weight_kg > 0
                then round(sessions.dose_mg / sessions.weight_kg, 6)
        end as dose_mg_per_kg
    from sessions
    left join treated using (session_id)
    left join courses using (course_id)
    left join patients using (patient_key)
    left join vitals using (session_id)
    left join side_effects using (session_id)
),

shaped as (
    select
        session_id,
        patient_key,
        clinic_id,
        chair_id,
        modality,
        modality_family,
        status,
        is_treated,
        -- the date a session belongs to: treatment_start, or scheduled_start for cancelled and no-show
        case when is_treated then treatment_start else scheduled_start end::date as session_date,
        scheduled_start,
        checkin_at,
        treatment_start,
        treatment_end,
        discharge_at,
        case when is_treated then (epoch(discharge_at_utc) - epoch(checkin_at_utc)) / 60.0 end as chair_minutes,
        indication,
        on_maoi,
        on_lamotrigine,
        on_benzodiazepine,
        on_opioid,
        course_id,
        course_clinic_id,
        session_number,
        induction_size,
        phase,
        booster_interval_days,
        case when is_treated then dose_mg end as dose_mg,
        case when is_treated then weight_kg end as weight_kg,
        case when is_treated then dose_mg_per_kg end as dose_mg_per_kg,
        -- dose band: mg/kg for ketamine, the nasal dose for esketamine
        case
            when not is_treated then null
            when modality_family = 'esketamine' then cast(cast(dose_mg as integer) as varchar) || ' mg'
            when dose_mg_per_kg is null then null
            when dose_mg_per_kg < 0.5 then '<0.50 mg/kg'
            when dose_mg_per_kg < 0.75 then '0.50-0.74 mg/kg'
            when dose_mg_per_kg < 1.0 then '0.75-0.99 mg/kg'
            when dose_mg_per_kg < 1.5 then '1.00-1.49 mg/kg'
            else '>=1.50 mg/kg'
        end as dose_band,
        case
            when not is_treated then null
            when modality_family = 'esketamine' then 10 + cast(dose_mg as integer)
            when dose_mg_per_kg is null then null
            when dose_mg_per_kg < 0.5 then 1
            when dose_mg_per_kg < 0.75 then 2
            when dose_mg_per_kg < 1.0 then 3
            when dose_mg_per_kg < 1.5 then 4
            else 5
        end as dose_band_order,
        -- safety
        case when is_treated then coalesce(side_effects, 0) end as side_effects,
        case when is_treated then coalesce(side_effects, 0) > 0 end as has_side_effect,
        case when is_treated then coalesce(side_effects_with_intervention, 0) > 0 end as has_intervention,
        case when is_treated then coalesce(vitals_readings, 0) end as vitals_readings,
        case when is_treated then coalesce(vitals_readings, 0) > 0 end as has_vitals,
        case when is_treated then coalesce(bp_elevated, false) end as bp_elevated,
        first_systolic_bp,
        peak_systolic_bp,
        peak_systolic_rise,
        -- esketamine REMS monitoring (null for other sessions)
        case
            when is_treated and modality_family = 'esketamine'
                then (epoch(discharge_at_utc) - epoch(treatment_start_utc)) >= 2 * 3600
        end as rems_monitored_2h,
        case when is_treated and modality_family = 'esketamine' then coalesce(bp_before_dosing, false) end
            as rems_bp_before_dosing,
        case when is_treated and modality_family = 'esketamine' then coalesce(bp_around_minute_40, false) end
            as rems_bp_minute_40,
        case when is_treated and modality_family = 'esketamine' then coalesce(bp_at_end, false) end
            as rems_bp_at_end
    from joined
),

final as (
    select
        *,
        rems_monitored_2h and rems_bp_before_dosing and rems_bp_minute_40 and rems_bp_at_end as rems_complete
    from shaped
)

select * from final

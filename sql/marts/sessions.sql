-- one row per scheduled session (treated, cancelled or no-show), with its course place, dose band and safety facts
with treated as (
    select * from intermediate.int_treated_sessions
),

untreated as (
    select * from staging.stg_sessions
    where not is_treated
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
        count(*) filter (where severity = 'mild') as mild_side_effects,
        count(*) filter (where severity = 'moderate') as moderate_side_effects,
        count(*) filter (where severity = 'severe') as severe_side_effects,
        array_distinct(list(intervention)) as interventions,
        -- named for the medical director's review of serious events (Safety › Sessions to review)
        list(effect order by effect) filter (where severity = 'severe') as severe_effects
    from staging.stg_side_effects
    group by session_id
),

all_sessions as (
    select
        session_id, patient_key, clinic_id, modality, modality_family, status, true as is_treated,
        treatment_start as period_start, course_id, session_number, induction_size, phase,
        booster_interval_days, dose_mg, weight_kg,
        (epoch(discharge_at_utc) - epoch(checkin_at_utc)) / 60.0 as chair_minutes,
        (epoch(discharge_at_utc) - epoch(treatment_start_utc)) / 60.0 as monitored_minutes
    from treated
    union all
    select
        session_id, patient_key, clinic_id, modality, modality_family, status, false as is_treated,
        scheduled_start as period_start, null as course_id, null as session_number, null as induction_size,
        null as phase, null as booster_interval_days, null as dose_mg, null as weight_kg,
        null as chair_minutes, null as monitored_minutes
    from untreated
),

joined as (
    select
        all_sessions.*,
        patients.primary_indication as indication,
        vitals.vitals_readings,
        vitals.bp_elevated,
        vitals.peak_systolic_bp,
        vitals.peak_diastolic_bp,
        vitals.first_systolic_bp,
        vitals.peak_systolic_rise,
        vitals.bp_before_dosing,
        vitals.bp_around_minute_40,
        vitals.bp_at_end,
        side_effects.side_effects,
        side_effects.side_effects_with_intervention,
        side_effects.mild_side_effects,
        side_effects.moderate_side_effects,
        side_effects.severe_side_effects,
        side_effects.interventions,
        side_effects.severe_effects,
        case
            when all_sessions.modality_family = 'ketamine' and all_sessions.weight_kg > 0
                then round(all_sessions.dose_mg / all_sessions.weight_kg, 6)
        end as dose_mg_per_kg,
        case
            when all_sessions.modality_family = 'ketamine' and all_sessions.weight_kg > 0
                then round(all_sessions.dose_mg / all_sessions.weight_kg, 2)
        end as dose_band_mg_per_kg
    from all_sessions
    left join patients using (patient_key)
    left join vitals using (session_id)
    left join side_effects using (session_id)
),

shaped as (
    select
        session_id,
        patient_key,
        clinic_id,
        modality,
        modality_family,
        status,
        is_treated,
        -- the day a session belongs to: treatment_start, or scheduled_start for cancelled and no-show
        period_start::date as session_date,
        chair_minutes,
        indication,
        course_id,
        session_number,
        induction_size,
        phase,
        booster_interval_days,
        dose_mg,
        weight_kg,
        dose_mg_per_kg,
        -- dose band: mg/kg for ketamine (read to 2 decimals, as doses are prescribed: 60.0 mg for 120.1 kg
        -- is the standard 0.50 mg/kg, not "<0.50"; unrounded, most 0.5 mg/kg sessions fell below the band's
        -- edge by the rounding of the dose to 0.1 mg), the nasal dose for esketamine
        -- A session stopped early is a band of its own: its dose is what was delivered before it stopped
        -- (often for a side effect), so in the mg/kg bands it made "<0.50 mg/kg" a band of stopped infusions,
        -- every one with a side effect, read as if low doses caused them.
        case
            when not is_treated then null
            when status = 'stopped_early' then 'stopped early'
            when modality_family = 'esketamine' then cast(cast(dose_mg as integer) as varchar) || ' mg'
            when dose_mg_per_kg is null then null
            when dose_band_mg_per_kg < 0.5 then '<0.50 mg/kg'
            when dose_band_mg_per_kg < 0.75 then '0.50-0.74 mg/kg'
            when dose_band_mg_per_kg < 1.0 then '0.75-0.99 mg/kg'
            when dose_band_mg_per_kg < 1.5 then '1.00-1.49 mg/kg'
            else '>=1.50 mg/kg'
        end as dose_band,
        case
            when not is_treated then null
            when status = 'stopped_early' then 200
            when modality_family = 'esketamine' then 10 + cast(dose_mg as integer)
            when dose_mg_per_kg is null then null
            when dose_band_mg_per_kg < 0.5 then 1
            when dose_band_mg_per_kg < 0.75 then 2
            when dose_band_mg_per_kg < 1.0 then 3
            when dose_band_mg_per_kg < 1.5 then 4
            else 5
        end as dose_band_order,
        -- safety
        case when is_treated then coalesce(side_effects, 0) end as side_effects,
        case when is_treated then coalesce(side_effects, 0) > 0 end as has_side_effect,
        case when is_treated then coalesce(mild_side_effects, 0) > 0 end as has_mild_side_effect,
        case when is_treated then coalesce(moderate_side_effects, 0) > 0 end as has_moderate_side_effect,
        case when is_treated then coalesce(severe_side_effects, 0) > 0 end as has_severe_side_effect,
        case when is_treated then coalesce(side_effects_with_intervention, 0) > 0 end as has_intervention,
        -- the interventions its side effects received ('none' for a side effect that needed none)
        case when is_treated then coalesce(interventions, []) end as interventions,
        case when is_treated then coalesce(severe_effects, []) end as severe_effects,
        case when is_treated then coalesce(vitals_readings, 0) end as vitals_readings,
        case when is_treated then coalesce(vitals_readings, 0) > 0 end as has_vitals,
        case when is_treated then coalesce(bp_elevated, false) end as bp_elevated,
        first_systolic_bp,
        peak_systolic_bp,
        -- with the systolic peak, the reading that may have made bp_elevated (diastolic >= 110 alone does)
        peak_diastolic_bp,
        peak_systolic_rise,
        -- esketamine REMS monitoring (null for other sessions)
        case when is_treated and modality_family = 'esketamine' then monitored_minutes >= 120 end
            as rems_monitored_2h,
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

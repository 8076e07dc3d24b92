-- safety metrics over marts.sessions, marts.session_side_effects and marts.vitals_by_minute; every macro takes the same
-- filters (clinics, start_date, end_date, modalities, indications: NULL = all). A session belongs to the period of its
-- treatment_start and to its own clinic. Breakdowns: none, clinic, modality, modality_family, indication,
-- dose_band, session_number, phase, month.

-- Treated sessions (completed or stopped_early) by breakdown.
create or replace macro metrics.treated_sessions(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none'
) as table
with selected_sessions as (
    select
        metrics.session_group(
            breakdown, clinic_id, modality, modality_family, indication, dose_band, session_number, phase, session_date
        ) as group_value
    from marts.sessions
    where is_treated
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

final as (
    select group_value, count(*) as treated_sessions
    from selected_sessions
    group by group_value
)

select * from final;

-- Active patients: patients with at least one treated session in the period (at the selected clinics).
create or replace macro metrics.active_patients(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null
) as table
with selected_sessions as (
    select patient_key from marts.sessions
    where is_treated
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

final as (
    select count(distinct patient_key) as active_patients from selected_sessions
)

select * from final;

-- Side-effect rate for an effect = treated sessions with at least one row of that effect / treated
-- sessions; "any" counts sessions with a row of any effect and is always present. With breakdown
-- 'severity' the numerator counts sessions with a row of that severity (the denominator stays all
-- treated sessions); with the other breakdowns both are counted within each group. (A session has at
-- most one row per effect, so rows of an effect count sessions.) `of_severity` ('mild', 'moderate',
-- 'severe') counts only rows of that severity in any breakdown: the severe rate by clinic.
create or replace macro metrics.side_effect_rates(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none', of_severity := null
) as table
with selected_sessions as (
    select
        has_side_effect,
        has_mild_side_effect,
        has_moderate_side_effect,
        has_severe_side_effect,
        -- by severity the denominator is all treated sessions
        case when breakdown = 'severity' then 'all' else metrics.session_group(
            breakdown, clinic_id, modality, modality_family, indication, dose_band, session_number, phase, session_date
        ) end as group_value
    from marts.sessions
    where is_treated
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
      and (of_severity is null or of_severity in ('mild', 'moderate', 'severe')
           or error('unknown severity ' || of_severity))
),

denominators as (
    select group_value, count(*) as treated_sessions
    from selected_sessions
    group by group_value
),

effect_counts as (
    select
        effect,
        case when breakdown = 'severity' then severity else metrics.session_group(
            breakdown, clinic_id, modality, modality_family, indication, dose_band, session_number, phase, session_date
        ) end as group_value,
        count(*) as sessions
    from marts.session_side_effects
    inner join marts.filter_groups using (filter_group)
    where metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
      and (of_severity is null or severity = of_severity)
    group by all
),

-- "any": for every group (and, with no breakdown, even without any session); by severity, for each one
any_counts as (
    select
        'any' as effect,
        group_value,
        count(*) filter (where case of_severity
            when 'mild' then has_mild_side_effect
            when 'moderate' then has_moderate_side_effect
            when 'severe' then has_severe_side_effect
            else has_side_effect
        end) as sessions
    from selected_sessions
    where breakdown <> 'severity'
    group by group_value
    union all
    select 'any' as effect, 'all' as group_value, 0 as sessions
    where breakdown = 'none' and not exists (select 1 from selected_sessions)
    union all
    select
        'any' as effect,
        severities.severity as group_value,
        count(selected_sessions.group_value) filter (
            where (of_severity is null or severities.severity = of_severity) and case severities.severity
                when 'mild' then selected_sessions.has_mild_side_effect
                when 'moderate' then selected_sessions.has_moderate_side_effect
                else selected_sessions.has_severe_side_effect
            end
        ) as sessions
    from (values ('mild'), ('moderate'), ('severe')) as severities(severity)
    left join selected_sessions on true
    where breakdown = 'severity'
    group by severities.severity
),

counted as (
    select * from effect_counts
    union all
    select * from any_counts
),

final as (
    select
        counted.effect,
        counted.group_value,
        counted.sessions,
        coalesce(denominators.treated_sessions, 0) as treated_sessions,
        metrics.rate(counted.sessions, denominators.treated_sessions) as rate,
        metrics.wilson_low(counted.sessions, denominators.treated_sessions) as ci_low,
        metrics.wilson_high(counted.sessions, denominators.treated_sessions) as ci_high
    from counted
    left join denominators
        on denominators.group_value = case when breakdown = 'severity' then 'all' else counted.group_value end
)

select * from final;

-- Interventions given for side effects: treated sessions with at least one side effect that got the
-- intervention, over treated sessions ('none' = a side effect that needed no intervention).
create or replace macro metrics.side_effect_interventions(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null
) as table
with denominator as (
    select coalesce(sum(treated_sessions), 0) as treated_sessions
    from metrics.treated_sessions(
        clinics := clinics, start_date := start_date, end_date := end_date, modalities := modalities,
        indications := indications
    )
),

selected_sessions as (
    select interventions from marts.sessions
    where is_treated and side_effects > 0
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

session_interventions as (
    select unnest(interventions) as intervention from selected_sessions
),

counted as (
    select intervention, count(*) as sessions
    from session_interventions
    group by intervention
),

final as (
    select
        counted.intervention,
        counted.sessions,
        denominator.treated_sessions,
        metrics.rate(counted.sessions, denominator.treated_sessions) as rate
    from counted
    cross join denominator
)

select * from final;

-- BP elevation rate = treated sessions with a reading systolic >= 180 or diastolic >= 110 / treated
-- sessions with at least one reading; peak rise = highest systolic minus the session's first systolic.
create or replace macro metrics.bp_elevation(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none'
) as table
with selected_sessions as (
    select
        *,
        metrics.session_group(
            breakdown, clinic_id, modality, modality_family, indication, dose_band, session_number, phase, session_date
        ) as group_value
    from marts.sessions
    where is_treated
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

-- with no breakdown there is always one row, even for an empty selection
groups as (
    select distinct group_value from selected_sessions
    union
    select 'all' where breakdown = 'none'
),

counts as (
    select
        groups.group_value,
        count(selected_sessions.session_id) as treated_sessions,
        count(*) filter (where selected_sessions.has_vitals) as sessions_with_vitals,
        count(*) filter (where selected_sessions.bp_elevated) as elevated_sessions,
        quantile_cont(selected_sessions.peak_systolic_rise, 0.25) as peak_rise_p25,
        median(selected_sessions.peak_systolic_rise) as peak_rise_median,
        quantile_cont(selected_sessions.peak_systolic_rise, 0.75) as peak_rise_p75,
        avg(selected_sessions.peak_systolic_rise) as peak_rise_mean
    from groups
    left join selected_sessions using (group_value)
    group by groups.group_value
),

final as (
    select
        group_value,
        treated_sessions,
        sessions_with_vitals,
        elevated_sessions,
        metrics.rate(elevated_sessions, sessions_with_vitals) as rate,
        metrics.wilson_low(elevated_sessions, sessions_with_vitals) as ci_low,
        metrics.wilson_high(elevated_sessions, sessions_with_vitals) as ci_high,
        peak_rise_p25,
        peak_rise_median,
        peak_rise_p75,
        peak_rise_mean
    from counts
)

select * from final;

-- Peak systolic rise distribution: sessions per bin of bin_mmhg (bin_start inclusive).
create or replace macro metrics.peak_rise_histogram(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    bin_mmhg := 5
) as table
with rises as (
    select peak_systolic_rise from marts.sessions
    where is_treated and has_vitals
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

final as (
    select
        cast(floor(peak_systolic_rise / bin_mmhg) * bin_mmhg as integer) as bin_start,
        count(*) as sessions
    from rises
    group by all
)

select * from final;

-- Vitals by minute since treatment_start (bins of bin_minutes, bin start inclusive): the readings (n)
-- and the median and interquartile range of each vital sign over them.
create or replace macro metrics.vitals_by_minute(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    bin_minutes := 5, from_minute := -30, to_minute := 240, vital := null
) as table
with readings as (
    select
        cast(floor(minute / bin_minutes) * bin_minutes as integer) as minute_bin,
        systolic_bp, diastolic_bp, heart_rate, spo2, respiratory_rate
    from marts.vitals_by_minute
    where minute >= from_minute and minute < to_minute
      and metrics.in_period(session_date, start_date, end_date)
      and filter_group in (
          select filter_group from marts.filter_groups
          where metrics.selected(clinic_id, clinics)
            and metrics.modality_selected(modality, modality_family, modalities)
            and metrics.selected(indication, indications)
      )
),

quartiles as (
    -- one pass per vital sign: the three quartiles together (linear interpolation, as numpy)
    select
        minute_bin,
        count(*) as readings,
        -- `vital` (systolic, diastolic, heart_rate, spo2, respiratory_rate) limits the work to one
        -- sign: exact quartiles are the expensive part; the others are then NULL.
        quantile_cont(systolic_bp, [0.25, 0.5, 0.75]) filter (where coalesce(vital, 'systolic') = 'systolic') as systolic,
        quantile_cont(diastolic_bp, [0.25, 0.5, 0.75]) filter (where coalesce(vital, 'diastolic') = 'diastolic') as diastolic,
        quantile_cont(heart_rate, [0.25, 0.5, 0.75]) filter (where coalesce(vital, 'heart_rate') = 'heart_rate') as heart_rate,
        quantile_cont(spo2, [0.25, 0.5, 0.75]) filter (where coalesce(vital, 'spo2') = 'spo2') as spo2,
        quantile_cont(respiratory_rate, [0.25, 0.5, 0.75])
            filter (where coalesce(vital, 'respiratory_rate') = 'respiratory_rate') as respiratory_rate
    from readings
    group by minute_bin
),

final as (
    select
        minute_bin as minute,
        readings,
        systolic[1] as systolic_p25, systolic[2] as systolic_median, systolic[3] as systolic_p75,
        diastolic[1] as diastolic_p25, diastolic[2] as diastolic_median, diastolic[3] as diastolic_p75,
        heart_rate[1] as heart_rate_p25, heart_rate[2] as heart_rate_median, heart_rate[3] as heart_rate_p75,
        spo2[1] as spo2_p25, spo2[2] as spo2_median, spo2[3] as spo2_p75,
        respiratory_rate[1] as respiratory_rate_p25, respiratory_rate[2] as respiratory_rate_median,
        respiratory_rate[3] as respiratory_rate_p75
    from quartiles
)

select * from final;

-- Esketamine REMS completeness: treated esketamine sessions monitored at least 2 h (treatment_start to
-- discharge) with blood pressure before dosing, around minute 40 and at the end.
create or replace macro metrics.rems_completeness(
    clinics := null, start_date := null, end_date := null, indications := null,
    breakdown := 'none'
) as table
with selected_sessions as (
    select
        *,
        metrics.session_group(
            breakdown, clinic_id, modality, modality_family, indication, dose_band, session_number, phase, session_date,
            allowed := ['none', 'clinic', 'month', 'session_number']
        ) as group_value
    from marts.sessions
    where is_treated and modality_family = 'esketamine'
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, null, indications)
),

counts as (
    select
        group_value,
        count(*) as esketamine_sessions,
        count(*) filter (where rems_monitored_2h) as monitored_2h,
        count(*) filter (where rems_bp_before_dosing) as bp_before_dosing,
        count(*) filter (where rems_bp_minute_40) as bp_minute_40,
        count(*) filter (where rems_bp_at_end) as bp_at_end,
        count(*) filter (where rems_complete) as complete
    from selected_sessions
    group by group_value
),

final as (
    select
        *,
        metrics.rate(complete, esketamine_sessions) as complete_rate,
        metrics.wilson_low(complete, esketamine_sessions) as complete_ci_low,
        metrics.wilson_high(complete, esketamine_sessions) as complete_ci_high
    from counts
)

select * from final;

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
        case breakdown
            when 'none' then 'all'
            when 'clinic' then clinic_id
            when 'modality' then modality
            when 'modality_family' then modality_family
            when 'indication' then indication
            when 'dose_band' then dose_band
            when 'session_number' then session_number::varchar
            when 'phase' then phase
            when 'month' then strftime(session_date, '%Y-%m')
            else error('unknown breakdown ' || breakdown)
        end as group_value
    from marts.sessions
    where is_treated
      and metrics.selected(clinic_id, clinics)
      and metrics.in_period(session_date, start_date, end_date)
      and metrics.modality_selected(modality, modality_family, modalities)
      and metrics.selected(indication, indications)
),

final as (
    select group_value, count(*) as treated_sessions
    from selected_sessions
    group by group_value
)

select * from final;

-- Side-effect rate for an effect = treated sessions with at least one row of that effect / treated
-- sessions; "any" counts sessions with a row of any effect and is always present. With breakdown
-- 'severity' the numerator counts sessions with a row of that severity (the denominator stays all
-- treated sessions); with the other breakdowns both are counted within each group.
create or replace macro metrics.side_effect_rates(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none'
) as table
with denominators as (
    select group_value, treated_sessions
    from metrics.treated_sessions(
        clinics := clinics, start_date := start_date, end_date := end_date, modalities := modalities,
        indications := indications, breakdown := case when breakdown = 'severity' then 'none' else breakdown end
    )
),

selected_effects as (
    select
        session_id,
        effect,
        case breakdown
            when 'none' then 'all'
            when 'severity' then severity
            when 'clinic' then clinic_id
            when 'modality' then modality
            when 'modality_family' then modality_family
            when 'indication' then indication
            when 'dose_band' then dose_band
            when 'session_number' then session_number::varchar
            when 'phase' then phase
            when 'month' then strftime(session_date, '%Y-%m')
            else error('unknown breakdown ' || breakdown)
        end as group_value
    from marts.session_side_effects s
    where metrics.selected(clinic_id, clinics)
      and metrics.in_period(session_date, start_date, end_date)
      and metrics.modality_selected(modality, modality_family, modalities)
      and metrics.selected(indication, indications)
),

by_effect as (
    select effect, group_value, count(distinct session_id) as sessions
    from selected_effects
    group by effect, group_value
    union all
    select 'any' as effect, group_value, count(distinct session_id) as sessions
    from selected_effects
    group by group_value
),

-- "any" appears for every group even with no side effect (and with no session at all when there is
-- no breakdown).
any_rows as (
    select 'any' as effect, group_value from denominators where breakdown <> 'severity'
    union
    select 'any' as effect, 'all' as group_value where breakdown = 'none'
    union
    select 'any' as effect, severity as group_value
    from (values ('mild'), ('moderate'), ('severe')) as severities(severity)
    where breakdown = 'severity'
),

counted as (
    select
        coalesce(by_effect.effect, any_rows.effect) as effect,
        coalesce(by_effect.group_value, any_rows.group_value) as group_value,
        coalesce(by_effect.sessions, 0) as sessions
    from by_effect
    full outer join any_rows using (effect, group_value)
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

selected_effects as (
    select session_id, intervention from marts.session_side_effects
    where metrics.selected(clinic_id, clinics)
      and metrics.in_period(session_date, start_date, end_date)
      and metrics.modality_selected(modality, modality_family, modalities)
      and metrics.selected(indication, indications)
),

counted as (
    select intervention, count(distinct session_id) as sessions, count(*) as side_effects
    from selected_effects
    group by intervention
),

final as (
    select
        counted.intervention,
        counted.sessions,
        counted.side_effects,
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
        case breakdown
            when 'none' then 'all'
            when 'clinic' then clinic_id
            when 'modality' then modality
            when 'modality_family' then modality_family
            when 'indication' then indication
            when 'dose_band' then dose_band
            when 'session_number' then session_number::varchar
            when 'phase' then phase
            when 'month' then strftime(session_date, '%Y-%m')
            else error('unknown breakdown ' || breakdown)
        end as group_value
    from marts.sessions
    where is_treated
      and metrics.selected(clinic_id, clinics)
      and metrics.in_period(session_date, start_date, end_date)
      and metrics.modality_selected(modality, modality_family, modalities)
      and metrics.selected(indication, indications)
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
      and metrics.selected(clinic_id, clinics)
      and metrics.in_period(session_date, start_date, end_date)
      and metrics.modality_selected(modality, modality_family, modalities)
      and metrics.selected(indication, indications)
),

final as (
    select
        cast(floor(peak_systolic_rise / bin_mmhg) * bin_mmhg as integer) as bin_start,
        count(*) as sessions
    from rises
    group by all
)

select * from final;

-- Vitals by minute since treatment_start (bins of bin_minutes, bin start inclusive): readings, sessions,
-- and the median and interquartile range of each vital sign.
create or replace macro metrics.vitals_by_minute(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    bin_minutes := 5, from_minute := -30, to_minute := 240
) as table
with readings as (
    select
        cast(floor(minute / bin_minutes) * bin_minutes as integer) as minute_bin,
        session_id, systolic_bp, diastolic_bp, heart_rate, spo2, respiratory_rate
    from marts.vitals_by_minute
    where minute >= from_minute and minute < to_minute
      and metrics.selected(clinic_id, clinics)
      and metrics.in_period(session_date, start_date, end_date)
      and metrics.modality_selected(modality, modality_family, modalities)
      and metrics.selected(indication, indications)
),

final as (
    select
        minute_bin as minute,
        count(*) as readings,
        count(distinct session_id) as sessions,
        quantile_cont(systolic_bp, 0.25) as systolic_p25,
        median(systolic_bp) as systolic_median,
        quantile_cont(systolic_bp, 0.75) as systolic_p75,
        quantile_cont(diastolic_bp, 0.25) as diastolic_p25,
        median(diastolic_bp) as diastolic_median,
        quantile_cont(diastolic_bp, 0.75) as diastolic_p75,
        quantile_cont(heart_rate, 0.25) as heart_rate_p25,
        median(heart_rate) as heart_rate_median,
        quantile_cont(heart_rate, 0.75) as heart_rate_p75,
        quantile_cont(spo2, 0.25) as spo2_p25,
        median(spo2) as spo2_median,
        quantile_cont(spo2, 0.75) as spo2_p75,
        quantile_cont(respiratory_rate, 0.25) as respiratory_rate_p25,
        median(respiratory_rate) as respiratory_rate_median,
        quantile_cont(respiratory_rate, 0.75) as respiratory_rate_p75
    from readings
    group by minute_bin
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
        case breakdown
            when 'none' then 'all'
            when 'clinic' then clinic_id
            when 'month' then strftime(session_date, '%Y-%m')
            when 'session_number' then session_number::varchar
            else error('unknown breakdown ' || breakdown)
        end as group_value
    from marts.sessions
    where is_treated and modality_family = 'esketamine'
      and metrics.selected(clinic_id, clinics)
      and metrics.in_period(session_date, start_date, end_date)
      and metrics.selected(indication, indications)
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

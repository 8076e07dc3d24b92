-- booster metrics over marts.sessions and marts.courses; every macro takes the same filters (clinics, start_date,
-- end_date, modalities, indications: NULL = all).

-- Booster intervals: for each booster session (k > 6 ketamine, k > 8 esketamine), the calendar days
-- since session k - 1. An interval belongs to the period and clinic of its booster session.
-- Percentiles interpolate linearly (numpy's default); with no interval they are NULL.
create or replace macro metrics.booster_intervals(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none'
) as table
with selected_boosters as (
    select
        booster_interval_days,
        metrics.session_group(
            breakdown, clinic_id, modality, modality_family, indication, dose_band, session_number, phase, session_date,
            allowed := ['none', 'clinic', 'modality', 'modality_family', 'indication', 'month']
        ) as group_value
    from marts.sessions
    where is_treated and phase = 'booster'
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

-- with no breakdown there is always one row, even with no interval
groups as (
    select distinct group_value from selected_boosters
    union
    select 'all' where breakdown = 'none'
),

final as (
    select
        groups.group_value,
        count(selected_boosters.booster_interval_days) as intervals,
        quantile_cont(selected_boosters.booster_interval_days, 0.5)::double as median_days,
        quantile_cont(selected_boosters.booster_interval_days, 0.25)::double as p25_days,
        quantile_cont(selected_boosters.booster_interval_days, 0.75)::double as p75_days,
        avg(selected_boosters.booster_interval_days) as mean_days
    from groups
    left join selected_boosters using (group_value)
    group by groups.group_value
)

select * from final;

-- Booster interval distribution: intervals per bin of bin_days (bin_start inclusive).
create or replace macro metrics.booster_interval_histogram(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    bin_days := 7
) as table
with intervals as (
    select booster_interval_days from marts.sessions
    where is_treated and phase = 'booster'
      and metrics.in_selection(clinic_id, session_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

final as (
    select
        cast(floor(booster_interval_days / bin_days) * bin_days as integer) as bin_start,
        count(*) as intervals
    from intervals
    group by all
)

select * from final;

-- Time from the end of induction to the first booster (calendar days) as a Kaplan-Meier curve, for
-- courses that completed induction (only they can have a booster); a course without a booster is
-- censored at the data's end. One row per distinct time (plus day 0): the number at risk, events,
-- censored, the probability of no booster yet (survival) with its 95% interval (Greenwood variance,
-- log(-log) transform, as lifelines), and 1 - survival. Courses belong to their course_start's period.
create or replace macro metrics.booster_km(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null
) as table
with followed as (
    select days_to_first_booster_or_censor as days, has_booster
    from marts.courses
    where completed_induction
      and metrics.in_selection(clinic_id, course_start_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

times as (
    select days, count(*) filter (where has_booster) as events, count(*) filter (where not has_booster) as censored
    from followed
    group by days
    union all
    -- the curve starts at 1 on day 0
    select 0 as days, 0 as events, 0 as censored
    where exists (select 1 from followed) and not exists (select 1 from followed where days = 0)
),

at_risk as (
    select
        days,
        events,
        censored,
        sum(events + censored) over (order by days desc rows between unbounded preceding and current row)
            as at_risk
    from times
),

steps as (
    select
        days,
        at_risk,
        events,
        censored,
        product(1.0 - events::double / at_risk) over (order by days rows between unbounded preceding and current row)
            as survival,
        sum(case when at_risk > events then events::double / (at_risk * (at_risk - events)) end)
            over (order by days rows between unbounded preceding and current row) as greenwood
    from at_risk
),

final as (
    select
        days,
        at_risk,
        events,
        censored,
        survival,
        1.0 - survival as booster_probability,
        case
            when survival >= 1.0 then 1.0
            when survival > 0 then exp(-exp(ln(-ln(survival)) - metrics.z95() * sqrt(greenwood) / ln(survival)))
        end as survival_ci_low,
        case
            when survival >= 1.0 then 1.0
            when survival > 0 then exp(-exp(ln(-ln(survival)) + metrics.z95() * sqrt(greenwood) / ln(survival)))
        end as survival_ci_high
    from steps
)

select * from final;

-- Boosters per patient-year of maintenance: booster sessions / maintenance time. A course that
-- completed induction is in maintenance from the day after induction_end to the earlier of the data's
-- end and 180 days after its last session; both boosters and time count for the course's clinic, the
-- boosters on their session dates and the time on the days that fall in the period.
create or replace macro metrics.boosters_per_patient_year(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none'
) as table
with maintained as (
    select
        metrics.course_group(
            breakdown, clinic_id, indication, modality, modality_family, course_month,
            allowed := ['none', 'clinic', 'modality', 'modality_family', 'indication']
        ) as group_value,
        greatest(0, date_diff(
            'day',
            greatest(maintenance_after_date, coalesce(start_date::date - 1, maintenance_after_date)),
            least(maintenance_until_date, coalesce(end_date::date, maintenance_until_date))
        )) as days_in_period
    from marts.courses
    where completed_induction
      and metrics.selected(clinic_id, clinics)
      and metrics.modality_selected(modality, modality_family, modalities)
      and metrics.selected(indication, indications)
),

boosters as (
    select
        metrics.course_group(
            breakdown, courses.clinic_id, courses.indication, courses.modality, courses.modality_family,
            courses.course_month, allowed := ['none', 'clinic', 'modality', 'modality_family', 'indication']
        ) as group_value,
        count(*) as boosters
    from marts.sessions as sessions
    inner join marts.courses as courses using (course_id)
    where sessions.is_treated and sessions.phase = 'booster'
      and metrics.in_selection(courses.clinic_id, sessions.session_date, courses.modality, courses.modality_family,
                               courses.indication, clinics, start_date, end_date, modalities, indications)
    group by all
),

exposure as (
    select group_value, sum(days_in_period) / 365.25 as patient_years
    from maintained
    group by group_value
),

groups as (
    select group_value from exposure
    union
    select group_value from boosters
    union
    select 'all' where breakdown = 'none'
),

final as (
    select
        groups.group_value,
        coalesce(boosters.boosters, 0) as boosters,
        coalesce(exposure.patient_years, 0) as patient_years,
        case when exposure.patient_years > 0 then coalesce(boosters.boosters, 0) / exposure.patient_years end
            as boosters_per_patient_year,
        -- boosters as a Poisson count over the exposure; a patient's boosters come at regular
        -- intervals, so the interval is if anything wider than the data need
        case when exposure.patient_years > 0
            then metrics.poisson_low(coalesce(boosters.boosters, 0)) / exposure.patient_years end as ci_low,
        case when exposure.patient_years > 0
            then metrics.poisson_high(coalesce(boosters.boosters, 0)) / exposure.patient_years end as ci_high
    from groups
    left join boosters using (group_value)
    left join exposure using (group_value)
)

select * from final;

-- one row per clinic (or the pooled network) and observed planning input: the figures capacity planning
-- (pipelines/plan) reads from the marts. Every macro sees only what happened before as_of (sessions whose
-- day, by the period rule, is before it), so a back-test cut at a past date uses no later data.
-- breakdown := 'clinic' gives one group per clinic (group_value = clinic_id); 'none' pools the selected
-- clinics (group_value = 'all').

-- The group of a row: its clinic for breakdown 'clinic', 'all' for 'none'; any other breakdown is an error.
create or replace macro metrics.plan_group(breakdown, clinic_id) as (
    case breakdown
        when 'clinic' then clinic_id
        when 'none' then 'all'
        else error('unknown breakdown ' || breakdown)
    end
);

-- A day in the lookback_days before as_of: as_of - lookback_days up to the day before as_of.
create or replace macro metrics.in_lookback(day, as_of, lookback_days) as (
    day < as_of::date and day >= as_of::date - lookback_days::integer
);

-- The courses plan_induction_protocol and plan_induction_continuation follow: started between lookback_days
-- and settle_days before as_of (so their induction had time to happen), with their group.
create or replace macro metrics.plan_induction_cohort(clinics, as_of, lookback_days, settle_days, breakdown) as table
select
    course_id,
    modality_family,
    induction_size,
    metrics.plan_group(breakdown, clinic_id) as group_value
from marts.courses
where metrics.selected(clinic_id, clinics)
  and course_start_date >= as_of::date - lookback_days::integer
  and course_start_date < as_of::date - settle_days::integer;

-- New courses per clinic, week (Monday) and modality of session 1, for every complete week from the
-- clinic's first week with a session to the last week that ends before the cut, zero-filled. The cut is
-- as_of, or the day after the selected clinics' last session. A course belongs to the clinic of session 1.
create or replace macro metrics.plan_weekly_new_courses(clinics := null, as_of := null) as table
with sessions as (
    select clinic_id, session_date, is_treated, session_number, modality
    from marts.sessions
    where metrics.selected(clinic_id, clinics)
      and (as_of is null or session_date < as_of::date)
),

cut as (
    select coalesce(as_of::date, max(session_date) + 1) as cut_day from sessions
),

first_weeks as (
    select clinic_id, date_trunc('week', min(session_date))::date as first_week
    from sessions
    group by clinic_id
),

weeks as (
    select
        first_weeks.clinic_id,
        unnest(generate_series(
            first_weeks.first_week, date_trunc('week', cut.cut_day - 7)::date, interval 7 day
        ))::date as week_start
    from first_weeks
    cross join cut
),

modalities as (
    select unnest(['iv_ketamine', 'im_ketamine', 'esketamine_nasal']) as modality
),

starts as (
    select clinic_id, date_trunc('week', session_date)::date as week_start, modality, count(*) as new_courses
    from sessions
    where is_treated and session_number = 1
    group by all
),

final as (
    select
        weeks.clinic_id,
        weeks.week_start,
        modalities.modality,
        coalesce(starts.new_courses, 0) as new_courses
    from weeks
    cross join modalities
    left join starts using (clinic_id, week_start, modality)
)

select * from final;

-- Sessions per clinic and week (Monday), from the daily utilization: treated, no-show and cancelled
-- sessions, occupied and available chair-hours. Every day of the period counts (closed days hold zeros).
create or replace macro metrics.plan_weekly_sessions(clinics := null, start_date := null, end_date := null) as table
with days as (
    select * from metrics.utilization_by_day(clinics := clinics, start_date := start_date, end_date := end_date)
),

final as (
    select
        clinic_id,
        date_trunc('week', day)::date as week_start,
        count(*) as days,
        count(*) filter (where is_open) as open_days,
        sum(treated_sessions) as treated_sessions,
        sum(no_show_sessions) as no_show_sessions,
        sum(cancelled_sessions) as cancelled_sessions,
        sum(occupied_minutes) / 60.0 as occupied_chair_hours,
        sum(available_minutes) / 60.0 as available_chair_hours
    from days
    group by clinic_id, date_trunc('week', day)::date
)

select * from final;

-- Where each recent course stands on the day before as_of: still in induction (how many induction sessions
-- it has had, and the day of its last one) or past induction (the day induction ended). Counted per
-- course clinic, modality family and modality of session 1; courses whose anchor day is more than
-- max_weeks weeks before as_of are left out (their future sessions are negligible for a plan).
create or replace macro metrics.plan_course_states(clinics := null, as_of := null, max_weeks := 78) as table
with progress as (
    select
        course_id,
        max(session_number) as sessions_done,
        max(session_date) as last_session_date,
        max(session_date) filter (where phase = 'induction') as last_induction_date
    from marts.sessions
    where is_treated and session_date < as_of::date
    group by course_id
),

courses as (
    select course_id, clinic_id, modality_family, modality, induction_size
    from marts.courses
    where metrics.selected(clinic_id, clinics)
),

states as (
    select
        courses.clinic_id,
        courses.modality_family,
        courses.modality,
        case when progress.sessions_done < courses.induction_size then 'induction' else 'maintenance' end as state,
        least(progress.sessions_done, courses.induction_size) as induction_sessions_done,
        -- induction: the last session so far; maintenance: the day induction ended
        case
            when progress.sessions_done < courses.induction_size then progress.last_session_date
            else progress.last_induction_date
        end as anchor_date
    from progress
    inner join courses using (course_id)
),

final as (
    select
        clinic_id,
        modality_family,
        modality,
        state,
        induction_sessions_done,
        anchor_date,
        count(*) as courses
    from states
    where anchor_date >= as_of::date - (7 * max_weeks)::integer
    group by all
)

select * from final;

-- The induction protocol as practised: for courses that started between lookback_days and settle_days
-- before as_of (so their induction had time to happen), per modality family and induction session k:
-- the courses that reached session k before as_of (the completion funnel), the median calendar days
-- from session k - 1 to session k, and the median and mean days from session 1 to session k.
create or replace macro metrics.plan_induction_protocol(
    clinics := null, as_of := null, lookback_days := 365, settle_days := 42, breakdown := 'clinic'
) as table
with cohort as (
    select * from metrics.plan_induction_cohort(clinics, as_of, lookback_days, settle_days, breakdown)
),

induction_sessions as (
    select
        course_id,
        session_number,
        date_diff(
            'day', lag(session_date) over (partition by course_id order by session_number), session_date
        ) as gap_days,
        date_diff(
            'day', min(session_date) over (partition by course_id), session_date
        ) as days_from_start
    from marts.sessions
    where is_treated and phase = 'induction' and session_date < as_of::date
      and course_id in (select course_id from cohort)
),

steps as (
    select cohort.group_value, cohort.modality_family, step.session_number, count(*) as courses
    from cohort
    cross join range(1, 9) as step(session_number)
    where step.session_number <= cohort.induction_size
    group by all
),

reached as (
    select
        cohort.group_value,
        cohort.modality_family,
        induction_sessions.session_number,
        count(*) as courses_reaching,
        median(induction_sessions.gap_days) as median_gap_days,
        median(induction_sessions.days_from_start) as median_days_from_start,
        avg(induction_sessions.days_from_start) as mean_days_from_start
    from induction_sessions
    inner join cohort using (course_id)
    group by all
),

final as (
    select
        steps.group_value,
        steps.modality_family,
        steps.session_number,
        steps.courses,
        coalesce(reached.courses_reaching, 0) as courses_reaching,
        metrics.rate(coalesce(reached.courses_reaching, 0), steps.courses) as share_reaching,
        reached.median_gap_days,
        reached.median_days_from_start,
        reached.mean_days_from_start
    from steps
    left join reached using (group_value, modality_family, session_number)
)

select * from final;

-- Will a course in induction come back? For the same courses as plan_induction_protocol, per modality
-- family, induction session k (before the last), the weekday of session k (isodow; a wait over a
-- weekend means less than the same wait mid-week) and days_waited d: the courses whose session k + 1
-- had not come d days after session k (they are still "at risk"), and how many of them had it later.
create or replace macro metrics.plan_induction_continuation(
    clinics := null, as_of := null, lookback_days := 365, settle_days := 42, max_days := 21,
    breakdown := 'clinic'
) as table
with cohort as (
    select * from metrics.plan_induction_cohort(clinics, as_of, lookback_days, settle_days, breakdown)
),

induction_sessions as (
    select
        course_id,
        session_number,
        session_date,
        lead(session_date) over (partition by course_id order by session_number) as next_session_date
    from marts.sessions
    where is_treated and phase = 'induction' and session_date < as_of::date
      and course_id in (select course_id from cohort)
),

gaps as (
    select
        cohort.group_value,
        cohort.modality_family,
        induction_sessions.session_number,
        isodow(induction_sessions.session_date) as weekday,
        date_diff('day', induction_sessions.session_date, induction_sessions.next_session_date) as gap_days
    from induction_sessions
    inner join cohort using (course_id)
    where induction_sessions.session_number < cohort.induction_size
),

waits as (
    select unnest(range(0, max_days)) as days_waited
),

final as (
    select
        gaps.group_value,
        gaps.modality_family,
        gaps.session_number,
        gaps.weekday,
        waits.days_waited,
        count(*) as courses_at_risk,
        count(*) filter (where gaps.gap_days is not null) as courses_continuing,
        metrics.rate(count(*) filter (where gaps.gap_days is not null), count(*)) as share_continuing
    from gaps
    cross join waits
    where gaps.gap_days is null or gaps.gap_days > waits.days_waited
    group by all
)

select * from final;

-- Booster rates by weeks since induction: for courses that completed induction between lookback_days
-- before as_of and as_of, per modality family and week w after the day induction ended (days 7w to
-- 7w + 6): booster sessions in that week / courses whose week w lies wholly before as_of.
create or replace macro metrics.plan_booster_rates(
    clinics := null, as_of := null, lookback_days := 730, max_weeks := 78, breakdown := 'clinic'
) as table
with completed as (
    select
        course_id,
        modality_family,
        induction_end_date,
        metrics.plan_group(breakdown, clinic_id) as group_value
    from marts.courses
    where metrics.selected(clinic_id, clinics)
      and completed_induction
      and metrics.in_lookback(induction_end_date, as_of, lookback_days)
),

weeks as (
    select unnest(range(0, max_weeks)) as week
),

at_risk as (
    select completed.group_value, completed.modality_family, weeks.week, count(*) as courses_at_risk
    from completed
    cross join weeks
    where completed.induction_end_date + (7 * (weeks.week + 1))::integer <= as_of::date
    group by all
),

boosters as (
    select
        completed.group_value,
        completed.modality_family,
        date_diff('day', completed.induction_end_date, sessions.session_date) // 7 as week,
        count(*) as booster_sessions
    from marts.sessions as sessions
    inner join completed using (course_id)
    where sessions.is_treated and sessions.phase = 'booster'
      and sessions.session_date < as_of::date
    group by all
),

final as (
    select
        at_risk.group_value,
        at_risk.modality_family,
        at_risk.week as weeks_since_induction,
        at_risk.courses_at_risk,
        coalesce(boosters.booster_sessions, 0) as booster_sessions,
        metrics.rate(coalesce(boosters.booster_sessions, 0), at_risk.courses_at_risk) as boosters_per_course
    from at_risk
    left join boosters using (group_value, modality_family, week)
)

select * from final;

-- Chair time per treated session (check-in to discharge, minutes) by modality over the lookback_days
-- before as_of: sessions, median and mean.
create or replace macro metrics.plan_chair_minutes(
    clinics := null, as_of := null, lookback_days := 182, breakdown := 'clinic'
) as table
with treated as (
    select
        modality,
        chair_minutes,
        metrics.plan_group(breakdown, clinic_id) as group_value
    from marts.sessions
    where is_treated
      and metrics.selected(clinic_id, clinics)
      and metrics.in_lookback(session_date, as_of, lookback_days)
),

final as (
    select
        group_value,
        modality,
        count(*) as treated_sessions,
        median(chair_minutes) as median_chair_minutes,
        avg(chair_minutes) as mean_chair_minutes
    from treated
    group by all
)

select * from final;

-- Attendance over the lookback_days before as_of: booked sessions (treated, no-show and cancelled) and
-- the no-show and cancellation rates as shares of booked sessions.
create or replace macro metrics.plan_attendance(
    clinics := null, as_of := null, lookback_days := 182, breakdown := 'clinic'
) as table
with booked as (
    select
        status,
        is_treated,
        metrics.plan_group(breakdown, clinic_id) as group_value
    from marts.sessions
    where metrics.selected(clinic_id, clinics)
      and metrics.in_lookback(session_date, as_of, lookback_days)
),

counts as (
    select
        group_value,
        count(*) as booked_sessions,
        count(*) filter (where is_treated) as treated_sessions,
        count(*) filter (where status = 'no_show') as no_show_sessions,
        count(*) filter (where status = 'cancelled') as cancelled_sessions
    from booked
    group by group_value
),

final as (
    select
        *,
        metrics.rate(no_show_sessions, booked_sessions) as no_show_rate,
        metrics.rate(cancelled_sessions, booked_sessions) as cancellation_rate
    from counts
)

select * from final;

-- Modality mix of new courses (modality of session 1) over the lookback_days before as_of.
create or replace macro metrics.plan_modality_mix(
    clinics := null, as_of := null, lookback_days := 182, breakdown := 'clinic'
) as table
with new_courses as (
    select
        modality,
        metrics.plan_group(breakdown, clinic_id) as group_value
    from marts.courses
    where metrics.selected(clinic_id, clinics)
      and metrics.in_lookback(course_start_date, as_of, lookback_days)
),

counts as (
    select group_value, modality, count(*) as new_courses
    from new_courses
    group by all
),

final as (
    select
        group_value,
        modality,
        new_courses,
        new_courses / sum(new_courses) over (partition by group_value) as share
    from counts
)

select * from final;

-- The weekdays sessions fall on, over the lookback_days before as_of (isodow 1 = Monday), by kind of
-- treated session: a course's first infusion, the rest of induction, or a booster.
create or replace macro metrics.plan_session_weekdays(
    clinics := null, as_of := null, lookback_days := 182, breakdown := 'clinic'
) as table
with treated as (
    select
        isodow(session_date) as weekday,
        case
            when session_number = 1 then 'first_infusion'
            when phase = 'induction' then 'induction'
            else 'booster'
        end as kind,
        metrics.plan_group(breakdown, clinic_id) as group_value
    from marts.sessions
    where is_treated
      and metrics.selected(clinic_id, clinics)
      and metrics.in_lookback(session_date, as_of, lookback_days)
),

counts as (
    select group_value, kind, weekday, count(*) as sessions
    from treated
    group by all
),

final as (
    select
        group_value,
        kind,
        weekday,
        sessions,
        sessions / sum(sessions) over (partition by group_value, kind) as share
    from counts
)

select * from final;

-- How much a clinic's days vary around an average day: one row per group (breakdown), over the open days of
-- the lookback_days before as_of with any chair time booked (treated, or held by a no-show; a day with none
-- is a closure, not a quiet day). Each day's booked chair-minutes are read against the mean of its weekday in
-- the same window; `spread` is the root mean square of (day / weekday mean - 1): 0.15 means a day's booked
-- chair time is typically 15% above or below its weekday's. Weekdays with fewer than 4 such days are left out.
create or replace macro metrics.plan_daily_spread(clinics := null, as_of := null, lookback_days := 91,
                                                  breakdown := 'clinic') as table
with days as (
    select
        clinic_id,
        day,
        isodow(day) as weekday,
        occupied_minutes + no_show_lost_minutes as booked_minutes
    from metrics.utilization_by_day(
        clinics := clinics,
        start_date := as_of::date - lookback_days::integer,
        end_date := as_of::date - 1
    )
    where is_open and occupied_minutes + no_show_lost_minutes > 0
),

weekday_means as (
    select
        clinic_id,
        weekday,
        avg(booked_minutes) as mean_minutes,
        count(*) as days
    from days
    group by clinic_id, weekday
),

final as (
    select
        metrics.plan_group(breakdown, days.clinic_id) as group_value,
        count(*) as days,
        sqrt(avg(power(days.booked_minutes / weekday_means.mean_minutes - 1, 2))) as spread
    from days
    inner join weekday_means
        on weekday_means.clinic_id = days.clinic_id and weekday_means.weekday = days.weekday
    where weekday_means.days >= 4
    group by metrics.plan_group(breakdown, days.clinic_id)
)

select * from final;

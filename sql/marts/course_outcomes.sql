-- one row per course and instrument: baseline, follow-up, evaluability, response, remission, early signal, item-9 flags (filter by joining marts.courses)
with courses as (
    select * from intermediate.int_courses
),

instruments as (
    select * from marts.instruments
),

assessments as (
    select patient_key, instrument, assessment_id, assessed_at_utc, score, item9
    from staging.stg_assessments
),

-- The patient's assessments in the outcome windows or in the early-signal window, read in one join of
-- courses to assessments (instants: each timestamp was read in its own clinic's time zone). Outcome
-- windows: from the start of the baseline window to the end of the follow-up window; early-signal
-- window: the 72 h after session 2's treatment_start.
in_windows as (
    select
        courses.course_id,
        assessments.instrument,
        assessments.assessment_id,
        assessments.assessed_at_utc,
        assessments.score,
        assessments.item9,
        assessments.assessed_at_utc >= courses.baseline_from_utc
            and assessments.assessed_at_utc <= courses.follow_up_until_utc as in_outcome_windows,
        assessments.assessed_at_utc <= courses.course_start_utc as in_baseline_window,
        assessments.assessed_at_utc > courses.session_2_start_utc
            and assessments.assessed_at_utc <= courses.early_signal_until_utc as in_early_window
    from courses
    inner join assessments
        on assessments.patient_key = courses.patient_key
        and (
            (assessments.assessed_at_utc >= courses.baseline_from_utc
                and assessments.assessed_at_utc <= courses.follow_up_until_utc)
            or (assessments.assessed_at_utc > courses.session_2_start_utc
                and assessments.assessed_at_utc <= courses.early_signal_until_utc)
        )
),

-- baseline: the last assessment in [course_start - 30 days, course_start];
-- follow-up: the last assessment in (course_start, induction_end + 14 days];
-- "last" by instant, then by assessment_id;
-- early signal: the first assessment within 72 h after session 2's treatment_start
window_facts as (
    select
        course_id,
        instrument,
        count(*) filter (where in_outcome_windows) as assessments_in_windows,
        arg_max(score, (assessed_at_utc, assessment_id))
            filter (where in_outcome_windows and in_baseline_window) as baseline_score,
        max(assessed_at_utc) filter (where in_outcome_windows and in_baseline_window) as baseline_at_utc,
        arg_max_null(item9, (assessed_at_utc, assessment_id))
            filter (where in_outcome_windows and in_baseline_window) as baseline_item9,
        arg_max(score, (assessed_at_utc, assessment_id))
            filter (where in_outcome_windows and not in_baseline_window) as follow_up_score,
        max(assessed_at_utc) filter (where in_outcome_windows and not in_baseline_window) as follow_up_at_utc,
        arg_max_null(item9, (assessed_at_utc, assessment_id))
            filter (where in_outcome_windows and not in_baseline_window) as follow_up_item9,
        arg_min(score, (assessed_at_utc, assessment_id)) filter (where in_early_window) as early_score,
        min(assessed_at_utc) filter (where in_early_window) as early_at_utc
    from in_windows
    group by course_id, instrument
),

course_instruments as (
    select
        courses.course_id,
        courses.follow_up_window_open,
        instruments.*
    from courses
    cross join instruments
),

joined as (
    select
        course_instruments.*,
        coalesce(window_facts.assessments_in_windows, 0) as assessments_in_windows,
        window_facts.baseline_score,
        window_facts.baseline_at_utc,
        window_facts.baseline_item9,
        window_facts.follow_up_score,
        window_facts.follow_up_at_utc,
        window_facts.follow_up_item9,
        window_facts.early_score,
        window_facts.early_at_utc,
        window_facts.baseline_at_utc is not null as has_baseline,
        window_facts.follow_up_at_utc is not null as has_follow_up,
        -- scores compared as the decimals they were written as, so a drop of exactly 50% or 30% counts
        -- (2.1 / 7 is just under 0.3 in binary floating point). 12 places: the cast rounds the double
        -- to 15 significant digits for scores up to 999, which recovers any value written with up to
        -- 12 decimals and keeps 3.0000001 above 3 (6 places made it a remission)
        window_facts.baseline_score::decimal(18, 12) as baseline_exact,
        window_facts.follow_up_score::decimal(18, 12) as follow_up_exact
    from course_instruments
    left join window_facts using (course_id, instrument)
),

evaluated as (
    select
        *,
        has_baseline and baseline_exact >= baseline_minimum as baseline_meets_minimum,
        has_baseline and has_follow_up and baseline_exact >= baseline_minimum as evaluable
    from joined
),

final as (
    select
        course_id,
        instrument,
        baseline_minimum::double as baseline_minimum,
        response_drop_percent,
        assessments_in_windows,
        baseline_score,
        baseline_at_utc,
        follow_up_score,
        follow_up_at_utc,
        has_baseline,
        has_follow_up,
        coalesce(baseline_meets_minimum, false) as baseline_meets_minimum,
        evaluable,
        follow_up_window_open,
        -- why a course is not evaluable for this instrument (null when it is)
        case
            when evaluable then null
            when assessments_in_windows = 0 then 'not_assessed'
            when not has_baseline then 'no_baseline'
            -- no follow-up yet, but its window has not closed by the data's last day: not a missed follow-up
            when not has_follow_up and follow_up_window_open then 'follow_up_open'
            when not has_follow_up then 'no_follow_up'
            else 'baseline_below_minimum'
        end as not_evaluable_reason,
        -- drop = (baseline - follow-up) / baseline
        case when evaluable then (baseline_score - follow_up_score) / baseline_score end as score_drop,
        case
            when evaluable
                then (baseline_exact - follow_up_exact) * 100 >= response_drop_percent * baseline_exact
        end as is_responder,
        case
            when evaluable and remission_inclusive then follow_up_exact <= remission_threshold
            when evaluable then follow_up_exact < remission_threshold
        end as is_remitter,
        -- early signal: change from baseline to the first score within 72 h after session 2
        early_score,
        early_at_utc,
        case when has_baseline then early_score - baseline_score end as early_change,
        case
            when has_baseline and baseline_score > 0 then (early_score - baseline_score) / baseline_score
        end as early_change_fraction,
        -- PHQ-9 item 9 (self-harm): any value above 0 is a safety flag; null when not recorded
        baseline_item9,
        follow_up_item9,
        case when instrument = 'PHQ9' then baseline_item9 > 0 end as baseline_item9_flag,
        case when instrument = 'PHQ9' then follow_up_item9 > 0 end as follow_up_item9_flag
    from evaluated
)

select * from final

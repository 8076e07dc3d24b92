-- outcome metrics over marts.courses, marts.course_outcomes and marts.score_trajectories; every macro takes the same filters
-- (clinics, start_date, end_date, modalities, indications: NULL = all). A course belongs to the period of its
-- course_start and to the clinic of its session 1; its modality is session 1's.

-- Courses started and how many completed induction, by breakdown (none, clinic, indication, modality,
-- modality_family, month, maoi, lamotrigine, benzodiazepine, opioid: who stops before completing). Induction completion = completed / courses whose induction has ended (completed
-- or stopped): a course still in induction at the data's last day (marts.courses) is counted apart.
create or replace macro metrics.course_counts(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none'
) as table
with selected_courses as (
    select
        *,
        metrics.course_or_medication_group(
            breakdown, clinic_id, indication, modality, modality_family, course_month,
            on_maoi, on_lamotrigine, on_benzodiazepine, on_opioid
        ) as group_value
    from marts.courses
    where metrics.in_selection(clinic_id, course_start_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

final as (
    select
        group_value,
        count(*) as courses,
        count(*) filter (where completed_induction) as completed_induction,
        -- courses still in induction at the data's last day are not dropouts: shown, and left out of the rate
        count(*) filter (where still_in_induction) as still_in_induction,
        count(*) filter (where not still_in_induction) as induction_ended,
        metrics.rate(count(*) filter (where completed_induction), count(*) filter (where not still_in_induction))
            as induction_completion_rate,
        metrics.wilson_low(count(*) filter (where completed_induction), count(*) filter (where not still_in_induction))
            as induction_completion_ci_low,
        metrics.wilson_high(count(*) filter (where completed_induction), count(*) filter (where not still_in_induction))
            as induction_completion_ci_high,
        -- whether the group holds courses of a clinic's first 28 days of data, which may have begun before it
        -- (a flag, not a count: a chart marks the month without giving a number that suppression would hide)
        bool_or(starts_in_first_weeks) as includes_first_weeks
    from selected_courses
    group by group_value
)

select * from final;

-- Response and remission per instrument (and breakdown), with Wilson 95% intervals, their n (evaluable
-- courses) and why the other courses were not evaluable. Breakdowns: none, clinic, indication,
-- modality, modality_family, month (of course start), maoi, lamotrigine, benzodiazepine, opioid.
create or replace macro metrics.outcome_rates(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    breakdown := 'none'
) as table
with selected_outcomes as (
    select
        *,
        metrics.course_or_medication_group(
            breakdown, clinic_id, indication, modality, modality_family, course_month,
            on_maoi, on_lamotrigine, on_benzodiazepine, on_opioid
        ) as group_value
    from marts.course_outcomes
    inner join marts.courses using (course_id)
    where metrics.in_selection(clinic_id, course_start_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

counts as (
    select
        instrument,
        group_value,
        count(*) as courses,
        count(*) filter (where has_baseline) as courses_with_baseline,
        count(*) filter (where not_evaluable_reason = 'not_assessed') as not_assessed,
        count(*) filter (where not_evaluable_reason = 'no_baseline') as no_baseline,
        count(*) filter (where not_evaluable_reason = 'follow_up_open') as follow_up_open,
        count(*) filter (where not_evaluable_reason = 'no_follow_up') as no_follow_up,
        count(*) filter (where not_evaluable_reason = 'baseline_below_minimum') as baseline_below_minimum,
        count(*) filter (where evaluable) as evaluable,
        -- evaluable on an interim score: the follow-up window is still open (or the course still in
        -- induction), so the last score may yet change; a recent period's rates read these courses early
        count(*) filter (where evaluable and follow_up_window_open) as provisional,
        -- and the others (evaluable = provisional + settled): given as a column so exports hide the pair
        -- together; in a recent period settled is 0, known to anyone, and evaluable = provisional
        count(*) filter (where evaluable and not follow_up_window_open) as settled,
        count(*) filter (where is_responder) as responders,
        count(*) filter (where is_remitter) as remitters,
        -- Intention to treat: a course with a qualifying baseline whose follow-up window has closed without a
        -- score is usually a dropout (most stop before infusion 3). The contract's rates leave such courses
        -- out; read beside them, the same responders over every course with a qualifying baseline and a
        -- closed window (no follow-up = no response) is the floor a board asks for. Windows still open wait.
        count(*) filter (where not_evaluable_reason = 'no_follow_up' and baseline_meets_minimum) as missed_follow_up,
        count(*) filter (where evaluable or (not_evaluable_reason = 'no_follow_up' and baseline_meets_minimum))
            as itt_courses
    from selected_outcomes
    group by instrument, group_value
),

final as (
    select
        *,
        metrics.rate(responders, evaluable) as response_rate,
        metrics.wilson_low(responders, evaluable) as response_ci_low,
        metrics.wilson_high(responders, evaluable) as response_ci_high,
        metrics.rate(remitters, evaluable) as remission_rate,
        metrics.wilson_low(remitters, evaluable) as remission_ci_low,
        metrics.wilson_high(remitters, evaluable) as remission_ci_high,
        metrics.rate(responders, itt_courses) as itt_response_rate,
        metrics.wilson_low(responders, itt_courses) as itt_response_ci_low,
        metrics.wilson_high(responders, itt_courses) as itt_response_ci_high,
        metrics.rate(remitters, itt_courses) as itt_remission_rate,
        metrics.wilson_low(remitters, itt_courses) as itt_remission_ci_low,
        metrics.wilson_high(remitters, itt_courses) as itt_remission_ci_high
    from counts
)

select * from final;

-- Mean score by session number (0 = baseline) for one instrument, with a t-based 95% interval (not below 0).
create or replace macro metrics.score_trajectory(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    for_instrument := 'PHQ9', evaluable_only := false
) as table
with points as (
    select * from marts.score_trajectories
    inner join marts.courses using (course_id)
    where instrument = for_instrument
      and (not evaluable_only or evaluable)
      and metrics.in_selection(clinic_id, course_start_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

baselines as (
    select course_id, score as baseline_score from points where session_number = 0
),

summary as (
    select
        points.instrument,
        points.session_number,
        count(*) as courses,
        avg(points.score) as mean_score,
        stddev_samp(points.score) as sd_score,
        -- the same courses against their own baseline: the mean score at each session number is a mean over
        -- whichever courses were scored there (a rise at session 4 was other patients, not patients worsening);
        -- the mean change of each course from its baseline is not
        count(baselines.baseline_score) as courses_with_baseline,
        avg(points.score - baselines.baseline_score) as mean_change,
        stddev_samp(points.score - baselines.baseline_score) as sd_change
    from points
    left join baselines using (course_id)
    group by points.instrument, points.session_number
),

final as (
    select
        *,
        -- no instrument scores below 0: a mean of a few scattered scores near 0 has its interval cut there.
        -- One course has no interval: greatest() skips a NULL, so the cut would make its missing bound 0.
        case when courses >= 2 then greatest(0.0, metrics.mean_ci_low(mean_score, sd_score, courses)) end as ci_low,
        metrics.mean_ci_high(mean_score, sd_score, courses) as ci_high,
        metrics.mean_ci_low(mean_change, sd_change, courses_with_baseline) as change_ci_low,
        metrics.mean_ci_high(mean_change, sd_change, courses_with_baseline) as change_ci_high,
        -- the scale's top and where its remission line is drawn, so a chart takes them from the rules
        -- the outcomes are computed with (marts.instruments) instead of a copy of them
        instruments.score_max,
        instruments.remission_line
    from summary
    left join marts.instruments using (instrument)
)

select * from final;

-- Early signal: change from baseline to the first score within 72 h after session 2, per instrument.
create or replace macro metrics.early_signal(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null
) as table
with changes as (
    select instrument, early_change, early_change_fraction from marts.course_outcomes
    inner join marts.courses using (course_id)
    where early_change is not null
      and metrics.in_selection(clinic_id, course_start_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

summary as (
    select
        instrument,
        count(*) as courses,
        avg(early_change) as mean_change,
        stddev_samp(early_change) as sd_change,
        median(early_change) as median_change,
        avg(early_change_fraction) as mean_change_fraction
    from changes
    group by instrument
),

final as (
    select
        *,
        metrics.mean_ci_low(mean_change, sd_change, courses) as ci_low,
        metrics.mean_ci_high(mean_change, sd_change, courses) as ci_high
    from summary
)

select * from final;

-- PHQ-9 item 9 (self-harm) flags at baseline and follow-up: an answer above 0 is a flag.
create or replace macro metrics.item9_flags(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null
) as table
with phq9 as (
    select * from marts.course_outcomes
    inner join marts.courses using (course_id)
    where instrument = 'PHQ9'
      and metrics.in_selection(clinic_id, course_start_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

final as (
    select
        count(*) filter (where baseline_item9_flag is not null) as courses_with_baseline_item9,
        count(*) filter (where baseline_item9_flag) as flagged_at_baseline,
        metrics.rate(count(*) filter (where baseline_item9_flag),
                     count(*) filter (where baseline_item9_flag is not null)) as baseline_flag_rate,
        count(*) filter (where follow_up_item9_flag is not null) as courses_with_follow_up_item9,
        count(*) filter (where follow_up_item9_flag) as flagged_at_follow_up,
        metrics.rate(count(*) filter (where follow_up_item9_flag),
                     count(*) filter (where follow_up_item9_flag is not null)) as follow_up_flag_rate,
        count(*) filter (where baseline_item9_flag is not null and follow_up_item9_flag is not null)
            as courses_with_both,
        count(*) filter (where baseline_item9_flag and not follow_up_item9_flag) as resolved,
        count(*) filter (where not baseline_item9_flag and follow_up_item9_flag) as emerged,
        count(*) filter (where baseline_item9_flag and follow_up_item9_flag) as persisted
    from phq9
)

select * from final;

-- Induction-completion funnel: courses reaching session 1, 2, ... 6 (ketamine) or 8 (esketamine), over the
-- courses whose induction has ended (completed or stopped); still_in_induction: the family's courses left
-- out because they are still in induction at the data's last day (the same on every row of the family).
create or replace macro metrics.induction_funnel(
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null
) as table
with selected_courses as (
    select modality_family, induction_size, induction_sessions, still_in_induction from marts.courses
    where metrics.in_selection(clinic_id, course_start_date, modality, modality_family, indication,
                               clinics, start_date, end_date, modalities, indications)
),

reached as (
    select
        selected_courses.modality_family,
        steps.session_number,
        count(*) filter (where not selected_courses.still_in_induction) as courses,
        count(*) filter (where not selected_courses.still_in_induction
                         and selected_courses.induction_sessions >= steps.session_number) as courses_reaching,
        count(*) filter (where selected_courses.still_in_induction) as still_in_induction
    from selected_courses
    cross join range(1, 9) as steps(session_number)
    where steps.session_number <= selected_courses.induction_size
    group by selected_courses.modality_family, steps.session_number
),

final as (
    select
        modality_family,
        session_number,
        courses_reaching,
        courses,
        metrics.rate(courses_reaching, courses) as share_of_courses,
        still_in_induction
    from reached
)

select * from final;

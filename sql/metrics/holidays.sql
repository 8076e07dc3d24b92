-- public holidays a clinic closed on, read from its bookings (the extracts hold no calendar; the holidays' dates
-- come from pipelines/plan/holidays.py): for planning (which holidays it keeps) and for the Capacity page (why a
-- week's utilization reads lower).

-- Public holidays a clinic closed on: one row per clinic and day of `days` (the observed dates of public
-- holidays, pipelines/plan/holidays.py) that was one of its open weekdays by its clinics row, with the
-- sessions booked that day (treated, no-show or cancelled) and on the same weekday a week before and a week
-- after. When that neighbouring day is one of `days` too, the one a week further is read instead: Christmas
-- Day and New Year's Day fall on the same weekday a week apart, so each would otherwise be compared with the
-- other and a clinic closed on both would be read as quiet, not closed. So `days` should list every holiday
-- of the window. `closed`: nothing booked on the holiday while both neighbouring days had bookings (a quiet
-- day at a small clinic is not a closure when a neighbouring week was quiet too). Only days whose
-- neighbouring day after is before as_of, like every planning input; with open_ended, also the holidays
-- before as_of whose day after is not (booked_week_after NULL, nothing read on or after as_of): closed when
-- nothing was booked on it and the week before was booked (how the forecast reads a Christmas just before
-- the plan, pipelines/plan/inputs.py).
create or replace macro metrics.plan_holiday_days(clinics := null, days := null, as_of := null,
                                                  open_ended := false) as table
with calendar as (
    select * from metrics.utilization_by_day(
        clinics := clinics, start_date := list_min(days) - 14, end_date := list_max(days) + 14
    )
),

booked as (
    select
        clinic_id,
        day,
        is_open,
        treated_sessions + no_show_sessions + cancelled_sessions as booked_sessions
    from calendar
),

holidays as (
    select distinct unnest(days)::date as day
),

neighbours as (
    select
        day,
        day - case when day - 7 in (select day from holidays) then 14 else 7 end as day_before,
        day + case when day + 7 in (select day from holidays) then 14 else 7 end as day_after
    from holidays
),

read_after as (
    -- the neighbouring day after, only when it is before as_of (else unknown: nothing on or after as_of is read)
    select
        neighbours.*,
        neighbours.day_after < as_of::date as after_known
    from neighbours
),

final as (
    select
        holiday.clinic_id,
        holiday.day,
        holiday.booked_sessions,
        week_before.booked_sessions as booked_week_before,
        case when read_after.after_known then week_after.booked_sessions end as booked_week_after,
        holiday.booked_sessions = 0 and week_before.booked_sessions > 0
            and coalesce(case when read_after.after_known then week_after.booked_sessions > 0 end, open_ended)
            as closed
    from read_after
    inner join booked as holiday on holiday.day = read_after.day
    inner join booked as week_before
        on week_before.clinic_id = holiday.clinic_id and week_before.day = read_after.day_before
    left join booked as week_after
        on week_after.clinic_id = holiday.clinic_id and week_after.day = read_after.day_after
    where holiday.is_open
      and ((read_after.after_known and week_after.day is not null) or (open_ended and read_after.day < as_of::date))
)

select * from final;

-- The public holidays the selected clinics closed on in the period: one row per clinic and closed holiday, with its
-- name and the Monday of its week. `days` and `names` are parallel lists (a holiday's observed date and its name,
-- pipelines/plan/holidays.py) and should reach a fortnight beyond both ends of the period, for the neighbouring
-- days plan_holiday_days compares a holiday with. Read against all of the clinic's data (as_of: the day after its
-- last session; a holiday in its last week counts as closed when nothing was booked on it and the week before
-- was). Utilization still counts such a day as available chair time (docs/metrics.md, Chair utilization): this
-- says why its week reads lower, it changes no figure.
create or replace macro metrics.holiday_closures(clinics := null, start_date := null, end_date := null,
                                                 days := null, names := null) as table
with named as (
    select unnest(days)::date as day, unnest(names) as holiday
),

closures as (
    select clinic_id, day
    from metrics.plan_holiday_days(
        clinics := clinics,
        days := days,
        as_of := (select max(session_date) + 1 from marts.sessions where metrics.selected(clinic_id, clinics)),
        open_ended := true
    )
    where closed
),

final as (
    select
        closures.clinic_id,
        closures.day,
        named.holiday,
        date_trunc('week', closures.day)::date as week_start
    from closures
    inner join named using (day)
    where (start_date is null or closures.day >= start_date::date)
      and (end_date is null or closures.day <= end_date::date)
)

select * from final;

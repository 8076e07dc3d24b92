-- one row per treated session with at least one vitals reading: BP elevation, peak rise and REMS readings
with sessions as (
    select
        session_id,
        treatment_start_utc,
        discharge_at_utc
    from intermediate.int_treated_sessions
),

vitals as (
    select * from staging.stg_vitals
),

readings as (
    select
        vitals.session_id,
        vitals.measured_at_utc,
        vitals.systolic_bp,
        vitals.diastolic_bp,
        (epoch(vitals.measured_at_utc) - epoch(sessions.treatment_start_utc)) / 60.0 as minutes_after_start,
        (epoch(sessions.discharge_at_utc) - epoch(vitals.measured_at_utc)) / 60.0 as minutes_before_discharge
    from vitals
    inner join sessions using (session_id)
),

final as (
    select
        session_id,
        count(*) as vitals_readings,
        -- BP elevation: at least one reading with systolic >= 180 or diastolic >= 110
        bool_or(systolic_bp >= 180 or diastolic_bp >= 110) as bp_elevated,
        max(systolic_bp) as peak_systolic_bp,
        max(diastolic_bp) as peak_diastolic_bp,
        arg_min(systolic_bp, measured_at_utc) as first_systolic_bp,
        -- peak rise: highest systolic minus the session's first systolic reading
        max(systolic_bp) - arg_min(systolic_bp, measured_at_utc) as peak_systolic_rise,
        -- REMS blood-pressure checks (used for esketamine sessions):
        -- before dosing: a reading in the hour up to and including treatment_start
        coalesce(bool_or(minutes_after_start between -60 and 0), false) as bp_before_dosing,
        -- around minute 40: a reading 30 to 50 minutes after treatment_start
        coalesce(bool_or(minutes_after_start between 30 and 50), false) as bp_around_minute_40,
        -- at the end: a reading in the last 15 minutes up to and including discharge
        coalesce(bool_or(minutes_before_discharge between 0 and 15), false) as bp_at_end
    from readings
    group by session_id
)

select * from final

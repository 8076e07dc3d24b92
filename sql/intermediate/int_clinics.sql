-- one row per clinic: its name and the time zone its timestamps are read in
with capacity_rows as (
    select * from staging.stg_clinics
),

-- The loader reads a clinic's timestamps in the time zone of its latest row; so do the models.
final as (
    select
        clinic_id,
        arg_max(clinic_name, coalesce(valid_from, date '0001-01-01')) as clinic_name,
        arg_max(timezone, coalesce(valid_from, date '0001-01-01')) as timezone
    from capacity_rows
    group by clinic_id
)

select * from final

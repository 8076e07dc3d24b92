-- one row per patient (patient_key is the keyed hash of the EHR id, never the id itself)
with source as (
    select * from raw.patients
),

renamed as (
    select
        patient_ref as patient_key,
        clinic_id as home_clinic_id,
        birth_year,
        sex,
        primary_indication,
        coalesce(maoi, false) as on_maoi,
        coalesce(lamotrigine, false) as on_lamotrigine,
        coalesce(benzodiazepine, false) as on_benzodiazepine,
        coalesce(opioid, false) as on_opioid
    from source
),

final as (
    select * from renamed
)

select * from final

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
        -- the medication flags are optional: empty stays unknown (NULL), not "not taking"
        maoi as on_maoi,
        lamotrigine as on_lamotrigine,
        benzodiazepine as on_benzodiazepine,
        opioid as on_opioid
    from source
),

final as (
    select * from renamed
)

select * from final

-- one row per combination of clinic, modality and indication that treated sessions have: a small integer key for the big marts
with filter_groups as (
    select * from intermediate.int_filter_groups
),

final as (
    select
        filter_group,
        clinic_id,
        modality,
        modality_family,
        indication
    from filter_groups
)

select * from final

-- one row per session and side effect
with source as (
    select * from raw.side_effects
),

renamed as (
    select
        session_id,
        effect,
        severity,
        onset_min,
        coalesce(intervention, 'none') as intervention
    from source
),

final as (
    select * from renamed
)

select * from final

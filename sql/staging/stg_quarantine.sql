-- one row per quarantined extract row (original values hold no identifier columns)
with source as (
    select * from audit.quarantine
),

final as (
    select
        quarantine_id,
        load_id,
        file,
        kind,
        row_number,
        record_key,
        rule_ids,
        reasons,
        orphan_only,
        original,
        quarantined_at,
        resolved_by_load,
        resolved_at,
        resolution,
        resolved_by_load is null as is_open
    from source
)

select * from final

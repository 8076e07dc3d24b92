-- one row per file of a published load (the load audit)
with files as (
    select * from audit.files
),

loads as (
    select load_id, batch, started_at, finished_at, warehouse_version from audit.loads
),

final as (
    select
        files.load_id,
        loads.batch,
        loads.started_at,
        loads.finished_at,
        loads.warehouse_version,
        files.file,
        files.kind,
        files.status,
        files.rows_read,
        files.loaded,
        files.quarantined,
        files.duplicates,
        files.replaced,
        files.reason,
        files.dropped_identifier_columns,
        files.ignored_columns,
        files.seconds
    from files
    left join loads using (load_id)
)

select * from final

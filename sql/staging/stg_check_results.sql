-- one row per load, file and rule checked (Great Expectations suites and SQL checks)
with source as (
    select * from audit.check_results
),

final as (
    select
        load_id,
        file,
        kind,
        engine,
        suite,
        rule_id,
        expectation_type,
        description,
        success,
        element_count,
        unexpected_count,
        gx_checked_rows
    from source
)

select * from final

-- one row: the fingerprint of the SQL definitions (sql/) this warehouse version was built with
with meta as (
    select * from audit.meta
),

final as (
    -- pipelines.warehouse.rebuild stores it after every build; the app compares it with its own sql/
    -- to say when the figures still follow an earlier release's definitions
    select value as models_fingerprint
    from meta
    where key = 'models_fingerprint'
)

select * from final

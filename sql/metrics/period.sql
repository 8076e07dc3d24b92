-- one row: the data's period for the selected clinics (first and last day on which any of their sessions falls)
create or replace macro metrics.data_period(clinics := null) as table
with sessions as (
    select session_date from marts.sessions
    where metrics.selected(clinic_id, clinics)
),

final as (
    select min(session_date) as start_date, max(session_date) as end_date from sessions
)

select * from final;

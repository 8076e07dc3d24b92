-- clinic comparison for funnel plots: exact binomial control limits around the network rate, and each clinic's rate and n

-- Exact binomial control limits for proportions: for each n in ns, the 0.025/0.975 (95%) and
-- 0.001/0.999 (99.8%) quantiles of Binomial(n, p) divided by n, where the q-quantile is the smallest k
-- with P(X <= k) >= q (scipy.stats.binom.ppf). The CDF is summed from the log-gamma pmf over
-- mean +- 12 standard deviations (the mass outside is below 1e-30).
create or replace macro metrics.binomial_limits(p, ns) as table
with sizes as (
    select distinct unnest(ns::bigint[]) as n
),

grid as (
    select n, p::double as p, n * p::double as mu, sqrt(n * p::double * (1 - p::double)) as sd
    from sizes
    where n > 0 and p::double > 0 and p::double < 1
),

support as (
    select
        n,
        p,
        unnest(range(
            greatest(0, floor(mu - 12 * sd - 2))::bigint,
            least(n, ceil(mu + 12 * sd + 2))::bigint + 1
        )) as k
    from grid
),

pmf as (
    select
        n,
        k,
        exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * ln(p) + (n - k) * ln(1 - p)) as probability
    from support
),

cdf as (
    select n, k, sum(probability) over (partition by n order by k rows between unbounded preceding and current row)
        as cumulative
    from pmf
),

quantiles as (
    -- a relative tolerance of 1e-12 absorbs rounding in the summed CDF
    select
        n,
        min(k) filter (where cumulative >= 0.001 * (1 - 1e-12)) as k_001,
        min(k) filter (where cumulative >= 0.025 * (1 - 1e-12)) as k_025,
        min(k) filter (where cumulative >= 0.975 * (1 - 1e-12)) as k_975,
        min(k) filter (where cumulative >= 0.999 * (1 - 1e-12)) as k_999
    from cdf
    group by n
),

degenerate as (
    -- p = 0 or p = 1: every quantile is 0 or n
    select n, case when p::double >= 1 then n else 0 end as k
    from sizes
    where n > 0 and (p::double <= 0 or p::double >= 1)
),

final as (
    select n, k_025 / n as lower_95, k_975 / n as upper_95, k_001 / n as lower_998, k_999 / n as upper_998
    from quantiles
    union all
    select n, k / n, k / n, k / n, k / n
    from degenerate
)

select * from final;

-- Funnel limits for a chart: binomial_limits at every n from 1 to 50 and about `points` more spread
-- evenly on a log scale up to n_max.
create or replace macro metrics.funnel_limits(p, n_max, points := 100) as table
with sizes as (
    select list(distinct n) as ns
    from (
        select unnest(range(1, least(n_max::bigint, 50) + 1)) as n
        union
        select round(exp(ln(greatest(n_max::double, 1)) * i / greatest(points - 1, 1)))::bigint as n
        from range(0, points) as steps(i)
        where n_max::bigint >= 1
    )
),

final as (
    -- The sizes as a scalar subquery, not a lateral join: joined laterally, DuckDB partitions the CDF's
    -- window by the correlated list too, which took 113 of this macro's 154 ms at 50 clinics.
    select * from metrics.binomial_limits(p, (select ns from sizes))
)

select * from final;

-- Each selected clinic's events, n and rate for one measure (n = 0 and a NULL rate for a clinic without
-- any), the network (all selected clinics) rate, and the binomial control limits at the clinic's n. Measures: response, remission (for_instrument),
-- induction_completion, side_effect (for_effect), severe_side_effect (sessions with a severe one), bp_elevation,
-- rems_complete.
create or replace macro metrics.clinic_comparison(
    measure,
    clinics := null, start_date := null, end_date := null, modalities := null, indications := null,
    for_instrument := 'PHQ9', for_effect := 'any', shown := null
) as table
-- `clinics` are the benchmark (the network rate and its limits pool them); `shown` are the clinics drawn
-- (null: all of them). Comparing Phoenix with one peer pooled the two: Phoenix, outside the network's 95%
-- limits, was inside the pair's, under a line still called "network".
with by_clinic as (
    select
        group_value as clinic_id,
        case measure when 'response' then responders else remitters end as events,
        evaluable as n
    from metrics.outcome_rates(clinics := clinics, start_date := start_date, end_date := end_date,
                               modalities := modalities, indications := indications, breakdown := 'clinic')
    where measure in ('response', 'remission') and instrument = for_instrument
    union all
    select group_value, completed_induction, induction_ended
    from metrics.course_counts(clinics := clinics, start_date := start_date, end_date := end_date,
                               modalities := modalities, indications := indications, breakdown := 'clinic')
    where measure = 'induction_completion'
    union all
    select group_value, sessions, treated_sessions
    from metrics.side_effect_rates(clinics := clinics, start_date := start_date, end_date := end_date,
                                   modalities := modalities, indications := indications, breakdown := 'clinic')
    where measure = 'side_effect' and effect = for_effect
    union all
    select group_value, sessions, treated_sessions
    from metrics.side_effect_rates(clinics := clinics, start_date := start_date, end_date := end_date,
                                   modalities := modalities, indications := indications, breakdown := 'clinic',
                                   of_severity := 'severe')
    where measure = 'severe_side_effect' and effect = 'any'
    union all
    select group_value, elevated_sessions, sessions_with_vitals
    from metrics.bp_elevation(clinics := clinics, start_date := start_date, end_date := end_date,
                              modalities := modalities, indications := indications, breakdown := 'clinic')
    where measure = 'bp_elevation'
    union all
    select group_value, complete, esketamine_sessions
    from metrics.rems_completeness(clinics := clinics, start_date := start_date, end_date := end_date,
                                   indications := indications, breakdown := 'clinic')
    where measure = 'rems_complete'
),

selected_clinics as (
    select distinct clinic_id from marts.clinic_capacity
    where metrics.selected(clinic_id, clinics)
      and metrics.selected(clinic_id, shown)
      and (measure in ('response', 'remission', 'induction_completion', 'side_effect', 'severe_side_effect',
                       'bp_elevation', 'rems_complete')
           or error('unknown measure ' || measure))
),

network as (
    select sum(events) as network_events, sum(n) as network_n, metrics.rate(sum(events), sum(n)) as network_rate
    from by_clinic
    where n > 0
),

limits as (
    -- Scalar subqueries, not a lateral join (see funnel_limits); no rows when the network rate is NULL.
    select * from metrics.binomial_limits((select network_rate from network),
                                          (select list(n) from by_clinic where n > 0))
),

final as (
    select
        selected_clinics.clinic_id,
        coalesce(by_clinic.events, 0) as events,
        coalesce(by_clinic.n, 0) as n,
        metrics.rate(by_clinic.events, by_clinic.n) as rate,
        network.network_events,
        network.network_n,
        network.network_rate,
        limits.lower_95,
        limits.upper_95,
        limits.lower_998,
        limits.upper_998,
        metrics.rate(by_clinic.events, by_clinic.n) not between limits.lower_95 and limits.upper_95 as outside_95,
        metrics.rate(by_clinic.events, by_clinic.n) not between limits.lower_998 and limits.upper_998 as outside_998
    from selected_clinics
    left join by_clinic using (clinic_id)
    cross join network
    left join limits on limits.n = by_clinic.n
)

select * from final;

-- one row per instrument: its range and the thresholds of the outcome definitions
with rules (instrument, score_max, baseline_minimum, response_drop_percent, remission_threshold, remission_inclusive) as (
    values
        ('PHQ9',     27, 10, 50,  4, true),   -- remission: follow-up <= 4
        ('GAD7',     21, 10, 50,  4, true),   -- remission: follow-up <= 4
        ('MADRS',    60, 20, 50, 10, true),   -- remission: follow-up <= 10
        ('PCL5',     80, 33, 50, 33, false),  -- remission: follow-up < 33
        ('PAIN_NRS', 10,  4, 30,  3, true)    -- response: drop >= 30%; remission: follow-up <= 3
),

final as (
    select
        instrument::varchar as instrument,
        score_max::integer as score_max,
        baseline_minimum::decimal(18, 6) as baseline_minimum,
        response_drop_percent::integer as response_drop_percent,
        remission_threshold::decimal(18, 6) as remission_threshold,
        remission_inclusive::boolean as remission_inclusive,
        -- where a chart draws the remission line on the score axis: the threshold itself when remission is
        -- "at or below" it, half a point under it when remission is "below" it (PCL-5 < 33 drawn at 32.5,
        -- between the last remitting score and the first that is not)
        case
            when remission_inclusive then remission_threshold::decimal(18, 6)
            else remission_threshold::decimal(18, 6) - 0.5
        end as remission_line
    from rules
)

select * from final

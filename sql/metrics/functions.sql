-- scalar helpers shared by the metric macros: filters, breakdown groups, the Wilson 95% interval, the Poisson
-- 95% interval of a count, Student's t quantile and the t interval of a mean

-- A filter argument: NULL selects everything, a list selects the values it holds.
create or replace macro metrics.selected(value, allowed) as (
    allowed is null or list_contains(allowed::varchar[], value::varchar)
);

-- A modality filter accepts modalities (iv_ketamine, im_ketamine, esketamine_nasal) and families
-- (ketamine, esketamine).
create or replace macro metrics.modality_selected(modality, family, allowed) as (
    allowed is null
    or list_contains(allowed::varchar[], modality::varchar)
    or list_contains(allowed::varchar[], family::varchar)
);

-- Periods are whole days, start and end inclusive; a NULL end is open.
create or replace macro metrics.in_period(day, start_date, end_date) as (
    (start_date is null or day >= start_date::date) and (end_date is null or day <= end_date::date)
);

-- The dashboard filters on one row (NULL = all): its clinic, its day in the period, its modality (or family)
-- and its indication.
create or replace macro metrics.in_selection(
    clinic_id, day, modality, modality_family, indication, clinics, start_date, end_date, modalities, indications
) as (
    metrics.selected(clinic_id, clinics)
    and metrics.in_period(day, start_date, end_date)
    and metrics.modality_selected(modality, modality_family, modalities)
    and metrics.selected(indication, indications)
);

-- The group of a session for a breakdown: 'all' for none, else its clinic, modality, modality_family,
-- indication, dose_band, session_number, phase or month (of session_date). A breakdown outside `allowed`
-- (the ones the calling macro offers) is an error.
create or replace macro metrics.session_group(
    breakdown, clinic_id, modality, modality_family, indication, dose_band, session_number, phase, session_date,
    allowed := ['none', 'clinic', 'modality', 'modality_family', 'indication', 'dose_band', 'session_number', 'phase',
                'month']
) as (
    case
        when not list_contains(allowed, breakdown) then error('unknown breakdown ' || breakdown)
        when breakdown = 'none' then 'all'
        when breakdown = 'clinic' then clinic_id
        when breakdown = 'modality' then modality
        when breakdown = 'modality_family' then modality_family
        when breakdown = 'indication' then indication
        when breakdown = 'dose_band' then dose_band
        when breakdown = 'session_number' then session_number::varchar
        when breakdown = 'phase' then phase
        when breakdown = 'month' then strftime(session_date, '%Y-%m')
        else error('unknown breakdown ' || breakdown)
    end
);

-- The group of a course for a breakdown: 'all' for none, else its clinic, indication, modality, modality_family
-- or month (course_month). A breakdown outside `allowed` is an error.
create or replace macro metrics.course_group(
    breakdown, clinic_id, indication, modality, modality_family, course_month,
    allowed := ['none', 'clinic', 'indication', 'modality', 'modality_family', 'month']
) as (
    case
        when not list_contains(allowed, breakdown) then error('unknown breakdown ' || breakdown)
        when breakdown = 'none' then 'all'
        when breakdown = 'clinic' then clinic_id
        when breakdown = 'indication' then indication
        when breakdown = 'modality' then modality
        when breakdown = 'modality_family' then modality_family
        when breakdown = 'month' then strftime(course_month, '%Y-%m')
        else error('unknown breakdown ' || breakdown)
    end
);

-- The group of a course for a medication breakdown: 'yes', 'no', or 'not_recorded' when the patients
-- extract left the (optional) flag empty. Unknown is its own group: folded into 'no' it would dilute the
-- comparison a medical director makes between patients on and off the medication.
create or replace macro metrics.medication_group(flag) as (
    case when flag then 'yes' when not flag then 'no' else 'not_recorded' end
);

-- The group of a course for any course breakdown: a medication breakdown (maoi, lamotrigine, benzodiazepine,
-- opioid) by medication_group of its flag, else by course_group. Response and remission, and induction
-- completion, are compared across the same groups.
create or replace macro metrics.course_or_medication_group(
    breakdown, clinic_id, indication, modality, modality_family, course_month,
    on_maoi, on_lamotrigine, on_benzodiazepine, on_opioid
) as (
    case breakdown
        when 'maoi' then metrics.medication_group(on_maoi)
        when 'lamotrigine' then metrics.medication_group(on_lamotrigine)
        when 'benzodiazepine' then metrics.medication_group(on_benzodiazepine)
        when 'opioid' then metrics.medication_group(on_opioid)
        else metrics.course_group(breakdown, clinic_id, indication, modality, modality_family, course_month)
    end
);

-- The standard normal quantile at 0.975.
create or replace macro metrics.z95() as 1.959963984540054::double;

-- A rate: x / n, NULL when there is no denominator.
create or replace macro metrics.rate(x, n) as (
    case when n > 0 then x::double / n::double end
);

-- Wilson score interval (95%) for x successes in n trials; NULL when n = 0.
create or replace macro metrics.wilson_low(x, n) as (
    case when n > 0 then greatest(0.0,
        (x::double / n + metrics.z95() * metrics.z95() / (2.0 * n)
         - metrics.z95() * sqrt((x::double / n) * (1.0 - x::double / n) / n
                                + metrics.z95() * metrics.z95() / (4.0 * n * n)))
        / (1.0 + metrics.z95() * metrics.z95() / n))
    end
);

create or replace macro metrics.wilson_high(x, n) as (
    case when n > 0 then least(1.0,
        (x::double / n + metrics.z95() * metrics.z95() / (2.0 * n)
         + metrics.z95() * sqrt((x::double / n) * (1.0 - x::double / n) / n
                                + metrics.z95() * metrics.z95() / (4.0 * n * n)))
        / (1.0 + metrics.z95() * metrics.z95() / n))
    end
);

-- 95% interval of a Poisson count of x events, for a rate per exposure: divide by the exposure. Exact
-- (chi-square quantiles / 2) up to 30 events, then Byar's approximation (within 0.02% of exact).
-- 0 events: 0 to 3.69.
create or replace macro metrics.poisson_low(x) as (
    case
        when x is null or x < 0 then null
        when x <= 30 then [
            0.0, 0.025317807984289876, 0.24220927854396496, 0.6186721228956014, 1.0898653736263249,
            1.6234863901184207, 2.2018942534908508, 2.8143630515198654, 3.4538321767485014, 4.115373097378334,
            4.7953886961324335, 5.49116036723684, 6.200575108722218, 6.921952491003801, 7.653930276300595,
            8.395386132783315, 9.145382453641524, 9.903126469607294, 10.667940780399528, 11.43924116436673,
            12.216519585403944, 12.999330984076186, 13.78728287222961, 14.580027037044678, 15.377252854686462,
            16.178681847829328, 16.98406321559634, 17.793170131764775, 18.60579665585753, 19.421755137547937,
            20.240874021420915
        ][x::integer + 1]
        else x * pow(1.0 - 1.0 / (9.0 * x) - metrics.z95() / (3.0 * sqrt(x)), 3)
    end
);

create or replace macro metrics.poisson_high(x) as (
    case
        when x is null or x < 0 then null
        when x <= 30 then [
            3.6888794541139354, 5.571643390938898, 7.22468766772396, 8.767273069742323, 10.241588675403694,
            11.66833207932267, 13.059474022518685, 14.422675361702376, 15.763189220193313, 17.084803451419166,
            18.39035604201778, 19.682038513301954, 20.96158504817696, 22.230395918158873, 23.489621121835576,
            24.740218871485844, 25.98299759756094, 27.218646815906613, 28.447760267527983, 29.67085357158559,
            30.8883779026746, 32.100730734943404, 33.308264387125234, 34.51129289483303, 35.71009759375321,
            36.904931697530365, 38.096024083124995, 39.28358244516213, 40.46779594326819, 41.6488374385866,
            42.82686539480766
        ][x::integer + 1]
        else (x + 1.0) * pow(1.0 - 1.0 / (9.0 * (x + 1.0)) + metrics.z95() / (3.0 * sqrt(x + 1.0)), 3)
    end
);

-- Student's t quantile at 0.975 for df degrees of freedom: exact values up to 30, then the
-- Cornish-Fisher expansion (error below 1e-7); NULL for df < 1.
create or replace macro metrics.t975(df) as (
    case
        when df is null or df < 1 then null
        when df <= 30 then [
            12.706204736174694, 4.302652729749462, 3.1824463052837078, 2.7764451051977934,
            2.5705818356363146, 2.4469118511449786, 2.364624251592784, 2.306004135204166,
            2.262157162798205, 2.228138851986274, 2.200985160091639, 2.1788128296672284,
            2.1603686564627913, 2.144786687917804, 2.131449545559776, 2.1199052992212546,
            2.1098155778333156, 2.1009220402410382, 2.0930240544083087, 2.085963447265864,
            2.0796138447276795, 2.0738730679040254, 2.0686576104190486, 2.0638985616280245,
            2.0595385527532972, 2.0555294386428735, 2.0518305164802846, 2.0484071417952454,
            2.045229642132703, 2.0422724563012378
        ][df::integer]
        else metrics.z95()
            + (pow(metrics.z95(), 3) + metrics.z95()) / (4.0 * df)
            + (5 * pow(metrics.z95(), 5) + 16 * pow(metrics.z95(), 3) + 3 * metrics.z95()) / (96.0 * pow(df, 2))
            + (3 * pow(metrics.z95(), 7) + 19 * pow(metrics.z95(), 5) + 17 * pow(metrics.z95(), 3)
               - 15 * metrics.z95()) / (384.0 * pow(df, 3))
            + (79 * pow(metrics.z95(), 9) + 776 * pow(metrics.z95(), 7) + 1482 * pow(metrics.z95(), 5)
               - 1920 * pow(metrics.z95(), 3) - 945 * metrics.z95()) / (92160.0 * pow(df, 4))
    end
);

-- Student's t 95% interval of a mean over n values with standard deviation sd; NULL for n < 2.
create or replace macro metrics.mean_ci_low(mean, sd, n) as (
    mean - metrics.t975(n - 1) * sd / sqrt(n)
);

create or replace macro metrics.mean_ci_high(mean, sd, n) as (
    mean + metrics.t975(n - 1) * sd / sqrt(n)
);

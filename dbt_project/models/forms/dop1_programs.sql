-- 1-ДОП, section 1: additional-education programs with at least one enrolment during a
-- calendar year, by направленность (a program belongs to one organization and one
-- направленность, so the count adds up). Grain: report year × level × territory × orientation.
with

spells as (
    select * from {{ ref('fct_enrolment_spell') }}
    where not is_main_program
),

cutoff as (
    select max(cutoff_date) as cutoff_date from {{ ref('forms_data_cutoff') }}
),

years as (
    select
        generate_series(
            extract(year from (select min(spells.start_date) from spells))::int,
            extract(year from cutoff.cutoff_date)::int
        ) as report_year
    from cutoff
),

programs as (
    select distinct
        years.report_year,
        spells.organization_id,
        spells.organization_id || '|' || coalesce(spells.program_code, '?') as program_key,
        coalesce(nullif(spells.orientation_code, ''), 'unknown') as orientation_code,
        least(make_date(years.report_year, 12, 31), cutoff.cutoff_date) as on_date
    from years
    cross join cutoff
    inner join spells
        on
            spells.start_date < make_date(years.report_year + 1, 1, 1)
            and coalesce(spells.end_date, 'infinity'::date) > make_date(years.report_year, 1, 1)
),

pairs as (
    select distinct
        organization_id,
        on_date
    from programs
),

units as (
    {{ forms_reporting_units('pairs') }}
),

program_rows as (
    select
        programs.report_year,
        programs.organization_id as unit_id,
        units.reporting_organization_id,
        units.municipality_id,
        programs.orientation_code,
        programs.program_key
    from programs
    left join units
        on
            programs.organization_id = units.organization_id
            and programs.on_date = units.on_date
),

final as (
    select
        report_year,
        {{ forms_level_columns() }},
        orientation_code,
        count(distinct program_key) as programs
    from program_rows
    group by report_year, orientation_code, {{ forms_level_sets() }}
)

select * from final

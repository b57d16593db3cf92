{{ config(materialized='ephemeral') }}

-- 1-ДОП: one row per child × additional-education program enrolment × calendar year in which
-- it was active, with the reporting unit, age on 1 January of the following year, sex and
-- health attributes. Person-level, so ephemeral: it is never stored, only aggregated by the
-- 1-ДОП models.
with


spells as (
    select * from {{ ref('fct_enrolment_spell') }}
    where not is_main_program
),

students as (
    select * from {{ ref('dim_student') }}
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

enrolments as (
    -- enrolled at some time in the year: start before 1 January of the next year, exit after
    -- 1 January of the year (the exit date is the first day no longer enrolled)
    select
        years.report_year,
        spells.student_id || '|' || spells.organization_id || '|' || coalesce(spells.program_code, '?')
            as enrolment_key,
        spells.student_id,
        spells.organization_id,
        spells.program_code,
        coalesce(nullif(spells.orientation_code, ''), 'unknown') as orientation_code,
        least(make_date(years.report_year, 12, 31), cutoff.cutoff_date) as on_date
    from years
    cross join cutoff
    inner join spells
        on
            spells.start_date < make_date(years.report_year + 1, 1, 1)
            and coalesce(spells.end_date, 'infinity'::date) > make_date(years.report_year, 1, 1)
),

ages as (
    -- the age of each child counted (one index lookup each in the restricted zone)
    select
        report_year,
        student_id,
        pii.age_on(student_id, make_date(report_year + 1, 1, 1)) as age
    from (
        select distinct
            report_year,
            student_id
        from enrolments
    ) as counted
),

pairs as (
    select distinct
        organization_id,
        on_date
    from enrolments
),

units as (
    {{ forms_reporting_units('pairs') }}
),

enrolment_rows as (
    select
        enrolments.report_year,
        enrolments.organization_id as unit_id,
        units.reporting_organization_id,
        units.municipality_id,
        enrolments.orientation_code,
        ages.age,
        coalesce(students.sex, 'unknown') as sex,
        coalesce(students.has_ovz, false) as has_ovz,
        coalesce(students.is_disabled, false) as is_disabled,
        enrolments.enrolment_key,
        enrolments.student_id
    from enrolments
    left join students
        on enrolments.student_id = students.student_id
    left join ages
        on
            enrolments.student_id = ages.student_id
            and enrolments.report_year = ages.report_year
    left join units
        on
            enrolments.organization_id = units.organization_id
            and enrolments.on_date = units.on_date
),

final as (
    select * from enrolment_rows
)

select * from final

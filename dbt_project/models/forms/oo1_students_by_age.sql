-- ОО-1, section 2: students of general education on the count date (20 September) by age in
-- full years on 1 January of the following year, grade level and sex. Ages come from
-- `pii.age_on`, which returns the age only, never the birth date, for the students counted
-- (one index lookup each, not a pass over every version of every student); a student without
-- a known birth date has age null. Grain: count date × level × territory × age × grade level × sex.
with

enrolled as (
    select * from {{ ref('fct_enrolment_on_count_date') }}
    where
        is_main_program
        and program_level in ('primary', 'basic', 'secondary')
        and to_char(count_date, 'MM-DD') = '{{ var("kontingent:count_day_month") }}'
),

students as (
    select * from {{ ref('dim_student') }}
),

counted as (
    select distinct
        count_date,
        student_id
    from enrolled
),

ages as (
    select
        count_date,
        student_id,
        pii.age_on(student_id, make_date(extract(year from count_date)::int + 1, 1, 1)) as age
    from counted
),

pairs as (
    select distinct
        organization_id,
        count_date as on_date
    from enrolled
),

units as (
    {{ forms_reporting_units('pairs') }}
),

person_rows as (
    select
        enrolled.count_date,
        enrolled.organization_id as unit_id,
        units.reporting_organization_id,
        units.municipality_id,
        ages.age,
        coalesce(enrolled.grade_level, 0) as grade_level,
        coalesce(students.sex, 'unknown') as sex,
        enrolled.student_id
    from enrolled
    left join students
        on enrolled.student_id = students.student_id
    left join ages
        on
            enrolled.student_id = ages.student_id
            and enrolled.count_date = ages.count_date
    left join units
        on
            enrolled.organization_id = units.organization_id
            and enrolled.count_date = units.on_date
),

final as (
    select
        count_date,
        extract(year from count_date)::int as report_year,
        {{ forms_level_columns() }},
        age,
        grade_level,
        sex,
        count(distinct student_id) as students
    from person_rows
    group by count_date, age, grade_level, sex, {{ forms_level_sets() }}
)

select * from final

-- ОО-1, section 1: classes and students of general education (grades 1–11) on the count date
-- (20 September), by locality and grade level, with girls, ОВЗ, disability and repeaters.
-- Grain: count date × level × territory × locality × grade level. Every figure is computed
-- afresh at each level (grouping sets), never summed from a lower one.
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

repeats as (
    select
        student_id,
        event_date
    from {{ ref('fct_movement') }}
    where event_type = 'repeat' and is_main_program
),

repeaters as (
    -- left in the same grade by a decision of the twelve months before the count date
    select distinct
        enrolled.count_date,
        enrolled.student_id
    from enrolled
    inner join repeats
        on
            enrolled.student_id = repeats.student_id
            and enrolled.count_date >= repeats.event_date
            and repeats.event_date > enrolled.count_date - 365
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
        units.locality,
        coalesce(enrolled.grade_level, 0) as grade_level,
        enrolled.organization_id || '|' || coalesce(enrolled.class_name, '?') as class_key,
        enrolled.student_id,
        coalesce(students.sex = 'female', false) as is_girl,
        coalesce(students.has_ovz, false) as has_ovz,
        coalesce(students.is_disabled, false) as is_disabled,
        repeaters.student_id is not null as is_repeater
    from enrolled
    left join students
        on enrolled.student_id = students.student_id
    left join repeaters
        on
            enrolled.student_id = repeaters.student_id
            and enrolled.count_date = repeaters.count_date
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
        locality,
        grade_level,
        count(distinct class_key) as classes,
        count(distinct student_id) as students,
        count(distinct student_id) filter (where is_girl) as girls,
        count(distinct student_id) filter (where has_ovz) as students_ovz,
        count(distinct student_id) filter (where is_disabled) as students_disabled,
        count(distinct student_id) filter (where is_repeater) as repeaters
    from person_rows
    group by count_date, locality, grade_level, {{ forms_level_sets() }}
)

select * from final

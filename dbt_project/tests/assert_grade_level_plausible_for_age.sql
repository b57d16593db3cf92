-- What: a student's grade level fits the age (grade + 5 to grade + 9 years on 1 September).
-- When it matters: an implausible grade usually means a wrong birth date or grade in a feed.
-- How to resolve: compare the registry's birth year with the grade in the latest movement.
{{ config(severity='warn', store_failures=true) }}

select
    enrolled.count_date,
    enrolled.student_id,
    enrolled.grade_level,
    students.birth_year
from {{ ref('fct_enrolment_on_count_date') }} as enrolled
inner join {{ ref('dim_student') }} as students
    on enrolled.student_id = students.student_id
where
    enrolled.is_main_program
    and enrolled.program_level in ('primary', 'basic', 'secondary')
    and students.birth_year is not null
    and (extract(year from enrolled.count_date)::int - students.birth_year - enrolled.grade_level)
    not between 5 and 9

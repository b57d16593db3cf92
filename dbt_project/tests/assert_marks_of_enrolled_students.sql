-- What: a current mark is given to a student enrolled in that organization on the lesson date.
-- When it matters: marks of a student not on the roll distort the school's results.
-- How to resolve: check the student's admission and expulsion dates in the movements feed; a
-- late admission order usually explains it.
{{ config(severity='warn', store_failures=true, warn_if='>100') }}

select marks.mark_id
from {{ ref('fct_mark') }} as marks
left join {{ ref('int_enrolment_states_dated') }} as states
    on
        marks.student_id = states.student_id
        and marks.organization_id = states.organization_id
        and marks.lesson_date >= states.valid_from
        and marks.lesson_date < states.valid_to
where states.event_id is null

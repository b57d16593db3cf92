-- What: a current mark is given to a student enrolled in that organization on the lesson date.
-- When it matters: marks of a student not on the roll distort the school's results.
-- How to resolve: check the student's admission and expulsion dates in the movements feed; a
-- late admission order usually explains it.
-- The marks outside enrolment are found incrementally by int_marks_outside_enrolment.
{{ config(severity='warn', store_failures=true, warn_if='>100') }}

select outside.mark_id
from {{ ref('int_marks_outside_enrolment') }} as outside

-- What: every movement refers to a student the registry snapshot knows.
-- When it matters: facts of an unknown student lose their sex, age and health attributes.
-- How to resolve: wait for the next weekly snapshot (orphans resolve themselves); if it
-- persists, ask AIS Kontingent to send the student's registry record.
{{ config(severity='warn', store_failures=true) }}

select movements.event_id
from {{ ref('fct_movement') }} as movements
inner join {{ ref('dim_student') }} as students
    on movements.student_id = students.student_id
where not students.is_in_registry
